// Two processes for one job (a duplicate deployment, an operator's second terminal): only one runs.
// The other is refused by the job's lease, or fenced at its first checkpoint commit if both got
// past the lease at once, and stops with exit code 5 and one line saying why; the output stream
// holds no double output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats } from '../../runtime/nats/index.ts';
import {
  assertSameOutputs,
  produce,
  readOutputs,
  referenceOutputs,
  startJob,
  streamMessages,
  text,
  waitFor,
  type JobProcess,
} from './wordcount-support.ts';

const running = new Set<JobProcess>();
test.after(() => {
  for (const job of running) job.child.kill('SIGKILL');
});

function start(url: string): JobProcess {
  const job = startJob(url);
  running.add(job);
  void job.exited.then(() => running.delete(job));
  return job;
}

const REFUSED = /^stator: .*(is held by pid \d+|changed by another writer)/m;

test('two runtimes started at once for the same job: one stops with exit code 5, the output has no double', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const lines = text(6_000, 5);
  const reference = await referenceOutputs(lines);
  await produce(link, lines.slice(0, 3_000));
  const a = start(server.url);
  const b = start(server.url);
  const first = await Promise.race([
    a.exited.then((exit) => ({ job: a, other: b, exit })),
    b.exited.then((exit) => ({ job: b, other: a, exit })),
  ]);
  assert.is(first.exit.code, 5, first.job.stderr());
  assert.match(first.job.stderr(), REFUSED);
  // The survivor goes on with the rest of the input.
  await produce(link, lines.slice(3_000), lines.length, 0, 3_000);
  const survivor = first.other;
  await waitFor(
    async () => (await streamMessages(link, 'WORDCOUNT_OUT')) >= reference.length || survivor.child.exitCode !== null,
    'every output',
  );
  survivor.child.kill('SIGTERM');
  assert.is((await survivor.exited).code, 0, survivor.stderr());
  assertSameOutputs(
    await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT')),
    reference,
    true,
    'two runtimes',
  );
});

test('a second runtime started while the job runs is refused by the lease, naming the holder', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const lines = text(2_000, 9);
  const reference = await referenceOutputs(lines);
  await produce(link, lines);
  const first = start(server.url);
  await waitFor(
    () => /running job wordcount/.test(first.stderr()) || first.child.exitCode !== null,
    'the first runtime to run',
  );
  const second = start(server.url);
  const exit = await second.exited;
  assert.is(exit.code, 5, second.stderr());
  const line = second
    .stderr()
    .split('\n')
    .find((l) => REFUSED.test(l));
  assert.ok(line !== undefined, second.stderr());
  assert.match(line, new RegExp(`pid ${first.child.pid}`));
  assert.match(line, /stop that process first/);
  await waitFor(
    async () => (await streamMessages(link, 'WORDCOUNT_OUT')) >= reference.length || first.child.exitCode !== null,
    'every output',
  );
  first.child.kill('SIGTERM');
  assert.is((await first.exited).code, 0, first.stderr());
  assertSameOutputs(
    await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT')),
    reference,
    true,
    'second runtime refused',
  );
});

test.run();
