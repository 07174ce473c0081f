// Rescaling a job in NATS mode (one unit) between runs: 4 partitions, stopped with SIGTERM,
// restarted with 6 (`--parallelism count=6`) while input keeps flowing; the output stream must hold
// what one uninterrupted run writes, per word the same counts in the same order, each once. After a
// SIGKILL the rescale is refused (the replayed outputs' ids only match in the old layout) until a run
// in the old layout has replayed what the killed run published and stopped gracefully.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats } from '../../runtime/nats/index.ts';
import { assertSamePerKey } from '../scale-out/per-key.ts';
import {
  produce,
  readOutputs,
  referenceOutputs,
  killedAfterTests,
  streamMessages,
  text,
  waitFor,
  waitForAllOutputs,
  checkpointed,
  type JobProcess,
} from './wordcount-support.ts';

const startJob = killedAfterTests((hook) => test.after(hook));

const wordOf = (line: string): string => (JSON.parse(line) as { word: string }).word;

function start(url: string, parallelism: number, extra: readonly string[] = []): JobProcess {
  return startJob(url, ['--parallelism', `count=${parallelism}`, ...extra]);
}

async function end(job: JobProcess, signal: NodeJS.Signals): Promise<{ code: number | null; signal: string | null }> {
  job.child.kill(signal);
  const exit = await job.exited;
  return exit;
}

test('4 -> 6 after a SIGTERM while input flows: every count once, per word in order', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const lines = text(8_000, 21);
  const reference = await referenceOutputs(lines);
  const first = start(server.url, 4);
  await waitFor(() => /running job wordcount/.test(first.stderr()), 'the job to run');
  const producing = produce(link, lines, 100, 100);
  await checkpointed(first);
  const stopped = await end(first, 'SIGTERM');
  assert.is(stopped.code, 0, `first run: ${first.stderr()}`);
  const stoppedAt = await streamMessages(link, 'WORDCOUNT_OUT');
  const second = start(server.url, 6);
  await waitFor(() => /running job wordcount/.test(second.stderr()), 'the job to run');
  await producing;
  await waitForAllOutputs(
    link,
    reference.length,
    () => second.stderr().length,
    () => second.child.exitCode !== null,
  );
  const exit = await end(second, 'SIGTERM');
  // The first run's log too: a refused rescale means its stop left outputs past its last checkpoint.
  assert.is(exit.code, 0, `second run: ${second.stderr()}\nfirst run: ${first.stderr().slice(-6000)}`);
  assert.ok(stoppedAt < reference.length, `the first run stopped before the end of the input (${stoppedAt} outputs)`);
  if (stoppedAt > 0) assert.match(second.stderr(), /rescaled stage count from 4 to 6 partitions/);
  const stored = await streamMessages(link, 'WORDCOUNT_OUT');
  assertSamePerKey(await readOutputs(link, stored), reference, wordOf, `stopped at ${stoppedAt} outputs`);
});

/** The input position of the last checkpoint `job` logged (-1: none yet). */
function lastCheckpointPosition(job: JobProcess): number {
  const positions = [...job.stderr().matchAll(/checkpoint \d+ \([a-z-]+, [a-z]+\) at position (\d+)/g)];
  return positions.length === 0 ? -1 : Number(positions.at(-1)![1]);
}

/** Starts the job with parallelism 6 and checks that it refuses to rescale; returns the replay backlog it names. */
async function refusedRescale(url: string): Promise<number> {
  const refused = start(url, 6);
  const exit = await refused.exited;
  assert.is(exit.code, 2, refused.stderr());
  const match =
    /stage count was checkpointed with parallelism 4 and now has 6, but the output stream holds (\d+) outputs published after the last checkpoint.*run once more with parallelism 4 until it logs "replay done", stop it with SIGTERM/.exec(
      refused.stderr(),
    );
  assert.ok(match, refused.stderr());
  return Number(match[1]);
}

test('after a SIGKILL a rescale is refused until a run in the old layout has replayed and stopped gracefully; then exact', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const lines = text(8_000, 23);
  const reference = await referenceOutputs(lines);
  // The first run is killed once the stream holds outputs (5 per line) for more than 600 lines past
  // its last checkpoint: outputs a replay re-emits, more than a run reads in its first batch (512
  // lines). Input is fed while it runs, 50 lines every 100 ms, until that holds: a fixed amount could
  // be worked off between two checkpoints on a slow host that started the run late.
  const first = start(server.url, 4, ['--checkpoint-interval', '4000']);
  await waitFor(() => /running job wordcount/.test(first.stderr()), 'the job to run');
  const pastCheckpoint = async (): Promise<boolean> =>
    lastCheckpointPosition(first) >= 0 &&
    (await streamMessages(link, 'WORDCOUNT_OUT')) > 5 * (lastCheckpointPosition(first) + 600);
  let fed = 0;
  while (fed < 7_000 && first.child.exitCode === null && !(await pastCheckpoint())) {
    await produce(link, lines.slice(fed, fed + 50), 50, 0, fed);
    fed += 50;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await waitFor(
    async () => (await pastCheckpoint()) || first.child.exitCode !== null,
    'outputs past the last checkpoint',
  );
  assert.is(first.child.exitCode, null, first.stderr());
  assert.is((await end(first, 'SIGKILL')).signal, 'SIGKILL');

  for (let attempt = 0; attempt < 2; attempt++) assert.ok((await refusedRescale(server.url)) > 0);

  // Stopped before its replay is done (here at once), a run in the old layout leaves the rescale refused.
  const early = start(server.url, 4);
  await waitFor(() => /took partition main/.test(early.stderr()), 'the job to run');
  assert.is((await end(early, 'SIGTERM')).code, 0, early.stderr());
  if (!/replay done/.test(early.stderr())) {
    assert.ok(/stopped \d+ outputs short of the \d+ an earlier run published/.test(early.stderr()), early.stderr());
    assert.ok((await refusedRescale(server.url)) > 0);
  }

  const old = start(server.url, 4);
  await waitFor(() => /restored checkpoint/.test(old.stderr()), 'the restore');
  if (/replay re-emits/.test(old.stderr())) await waitFor(() => /replay done/.test(old.stderr()), 'the replay');
  assert.is((await end(old, 'SIGTERM')).code, 0, old.stderr());
  const rest = produce(link, lines.slice(fed), 200, 100, fed);
  const rescaled = start(server.url, 6);
  await rest;
  await waitForAllOutputs(
    link,
    reference.length,
    () => rescaled.stderr().length,
    () => rescaled.child.exitCode !== null,
  );
  assert.is((await end(rescaled, 'SIGTERM')).code, 0, rescaled.stderr());
  assert.match(rescaled.stderr(), /rescaled stage count from 4 to 6 partitions/);
  const stored = await streamMessages(link, 'WORDCOUNT_OUT');
  assertSamePerKey(await readOutputs(link, stored), reference, wordOf);
});

test.run();
