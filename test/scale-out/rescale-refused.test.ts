// A scaled-out job cannot change a stage's parallelism yet (docs/scale-out.md, "Rescaling"): a
// worker started with another partition count than the units checkpointed exits with a clear
// message (exit 2) before it joins the group, instead of running units on state they do not own.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats } from '../../runtime/nats/index.ts';
import { produce, streamMessages, text, waitFor } from '../nats/wordcount-support.ts';
import { killAll, startWorker } from './support.ts';
import type { JobProcess } from '../nats/wordcount-support.ts';

const workers: JobProcess[] = [];
test.after(() => killAll(workers));

test('a worker with another parallelism than the units checkpointed is refused before it joins', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await produce(link, text(2_000, 31));
  const first = startWorker(server.url, 1);
  workers.push(first);
  await waitFor(async () => (await streamMessages(link, 'WORDCOUNT_OUT')) > 0, 'outputs');
  first.child.kill('SIGTERM');
  assert.is((await first.exited).code, 0, first.stderr());

  const rescaled = startWorker(server.url, 1, ['--parallelism', 'count=6']);
  workers.push(rescaled);
  const exit = await rescaled.exited;
  assert.is(exit.code, 2, rescaled.stderr());
  assert.match(
    rescaled.stderr(),
    /stage count of job wordcount was checkpointed by its scaled-out units with parallelism 4 and now has 6: a scaled-out job cannot change a stage's parallelism yet.*--parallelism count=4/,
  );
  assert.not.match(rescaled.stderr(), /took partition/, 'it never joined the group');

  const again = startWorker(server.url, 1);
  workers.push(again);
  await waitFor(() => /took partition count\.p0/.test(again.stderr()) || again.child.exitCode !== null, 'units');
  again.child.kill('SIGTERM');
  assert.is((await again.exited).code, 0, again.stderr());
});

test.run();
