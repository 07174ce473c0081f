// Progress under a crash loop: a worker SIGKILLed 2 s into every run, with a large backlog in the
// input stream, still commits checkpoints (each run restores a later one than the run before), and
// the output ends up exactly what an uninterrupted run writes.
import { availableParallelism, loadavg } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats } from '../../runtime/nats/index.ts';
import {
  assertSameOutputs,
  produce,
  readOutputs,
  referenceOutputs,
  killedAfterTests,
  streamMessages,
  text,
  waitFor,
  waitForAllOutputs,
} from './wordcount-support.ts';

const startJob = killedAfterTests((hook) => test.after(hook));

const RESTORED = /restored checkpoint (\d+) at position (\d+)|no checkpoint in /;

/**
 * A run's life: 2 s of a quiet machine's time. On a machine running more than it has cores (a
 * shared CI box), 2 s of wall time give the job a fraction of that CPU, so the life is stretched by
 * the load per core (at most 3x): the test asks for the same work per life everywhere.
 */
function lifeMs(): number {
  return Math.round(2000 * Math.min(3, Math.max(1, loadavg()[0]! / availableParallelism())));
}

test('a worker killed every 2 s under a backlog still advances its checkpoints, and outputs each count once', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  // 120,000 lines, 600,000 outputs, all in the stream before the first run: a backlog that outlasts
  // the killed runs.
  const lines = text(120_000, 13);
  const reference = await referenceOutputs(lines);
  await produce(link, lines);
  const kills = 5;
  const positions: number[] = [];
  const notes: string[] = [];
  for (let i = 0; i < kills; i++) {
    // The default interval's trigger also checkpoints at the watermark: stream timestamps of a
    // backlog cross event-time boundaries quickly. 500 ms keeps a run's 2 s well above it.
    const job = startJob(server.url, ['--checkpoint-interval', '500']);
    // The 2 s count from the moment the run has restored (process start-up under a loaded machine
    // is not what this test is about).
    await waitFor(() => RESTORED.test(job.stderr()) || job.child.exitCode !== null, 'the run to restore');
    assert.is(job.child.exitCode, null, job.stderr());
    // The life ends early when the job works faster than the load average suggested (it lags
    // behind the machine's real load): run i is killed at the latest once (i + 1) / (kills + 1) of
    // the outputs are stored, so the backlog outlasts the killed runs on any machine.
    const life = lifeMs();
    const lifeEnds = Date.now() + life;
    const share = Math.floor((reference.length * (i + 1)) / (kills + 1));
    while (Date.now() < lifeEnds && (await streamMessages(link, 'WORDCOUNT_OUT')) < share) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    job.child.kill('SIGKILL');
    const exit = await job.exited;
    assert.is(exit.signal, 'SIGKILL', `run ${i} ended on its own: ${job.stderr()}`);
    const restored = /restored checkpoint (\d+) at position (\d+)/.exec(job.stderr());
    positions.push(restored === null ? 0 : Number(restored[2]));
    notes.push(
      `run ${i} (${life} ms): ${restored === null ? 'fresh' : `restored ${restored[1]} at ${restored[2]}`}, ${await streamMessages(link, 'WORDCOUNT_OUT')} outputs stored`,
    );
  }
  const final = startJob(server.url);
  await waitFor(() => RESTORED.test(final.stderr()) || final.child.exitCode !== null, 'the last run to restore');
  const restored = /restored checkpoint (\d+) at position (\d+)/.exec(final.stderr());
  positions.push(restored === null ? 0 : Number(restored[2]));
  notes.push(`final run: ${restored?.[0] ?? 'fresh'}`);
  // Checkpoints advance through the crash loop: no run restores an earlier position than the run
  // before it, and the killed runs moved it on, most of them each time (every one on a quiet machine).
  const advanced = positions.filter((p, i) => i > 0 && p > positions[i - 1]!).length;
  for (let i = 1; i < positions.length; i++) {
    assert.ok(
      positions[i]! >= positions[i - 1]!,
      `run ${i} restored position ${positions[i]} after ${positions[i - 1]} (${notes.join('; ')})`,
    );
  }
  assert.ok(
    advanced >= Math.ceil(kills / 2),
    `only ${advanced} of ${kills} killed runs committed a checkpoint: ${notes.join('; ')}`,
  );
  assert.ok(
    positions[positions.length - 1]! < lines.length,
    `the backlog was worked off before the last kill: ${notes.join('; ')}`,
  );
  await waitForAllOutputs(
    link,
    reference.length,
    () => final.stderr().length,
    () => final.child.exitCode !== null,
  );
  final.child.kill('SIGTERM');
  const exit = await final.exited;
  assert.is(exit.code, 0, final.stderr());
  const stored = await streamMessages(link, 'WORDCOUNT_OUT');
  assertSameOutputs(await readOutputs(link, stored), reference, true, notes.join('; '));
});

test.run();
