// The issue's fault tests for NATS mode, with real processes: the runtime SIGKILLed again and again
// while a producer keeps publishing, and nats-server itself crashing mid-run. Each time the output
// stream must end up holding exactly what an uninterrupted run writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { collectingLogger } from '../support/collecting-logger.ts';
import { connectNats, runNatsJob } from '../../runtime/nats/index.ts';
import { job as wordcount } from '../../examples/wordcount.ts';
import {
  assertSameOutputs,
  checkpointed,
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

test('SIGKILLed 6 times at random moments while input flows, the job still outputs every count exactly once', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const lines = text(12_000, 11);
  const reference = await referenceOutputs(lines);
  const kills = 6;
  // The input arrives in one slice per run, 100 lines per 100 ms from the moment the run is
  // spawned: it keeps coming while the job starts, restores, runs and is killed.
  const slice = Math.ceil(lines.length / (kills + 1));
  const publishSlice = (i: number): Promise<void> =>
    produce(link, lines.slice(i * slice, (i + 1) * slice), 100, 100, i * slice);
  const notes: string[] = [];
  for (let i = 0; i < kills; i++) {
    let sliceDone = false;
    const producing = publishSlice(i).then(() => void (sliceDone = true));
    const job = startJob(server.url);
    // A third of the kills land at any moment from spawn (start-up, restore, the first batches), a
    // third once the job is running, a third after it committed a checkpoint (processing, the next
    // capture, a write under way): random moments spread over the run.
    if (i % 3 === 1)
      await waitFor(() => /running job wordcount/.test(job.stderr()) || job.child.exitCode !== null, 'the job to run');
    if (i % 3 === 2) await checkpointed(job);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * (i % 3 === 0 ? 1500 : 800))));
    const flowing = !sliceDone;
    job.child.kill('SIGKILL');
    const exit = await job.exited;
    assert.is(exit.signal, 'SIGKILL', `run ${i} ended on its own: ${job.stderr()}`);
    const restored = /restored checkpoint (\d+) at position (\d+)/.exec(job.stderr());
    notes.push(
      `kill ${i}: ${restored === null ? 'no restore logged' : `restored ${restored[1]} at ${restored[2]}`}, ${await streamMessages(link, 'WORDCOUNT_OUT')} outputs stored, input ${flowing ? 'still flowing' : 'all published'}`,
    );
    await producing;
  }
  const producing = publishSlice(kills);
  const final = startJob(server.url);
  await producing;
  await waitForAllOutputs(
    link,
    reference.length,
    () => final.stderr().length,
    () => final.child.exitCode !== null,
  );
  final.child.kill('SIGTERM');
  const exit = await final.exited;
  assert.is(exit.code, 0, final.stderr());
  assert.match(final.stderr(), /restored checkpoint \d+/, 'runs killed after a checkpoint leave one to restore');
  const stored = await streamMessages(link, 'WORDCOUNT_OUT');
  assertSameOutputs(await readOutputs(link, stored), reference, true, notes.join('; '));
});

test('nats-server SIGKILLed and restarted mid-run while the producer publishes: no loss, no duplicate, same order', async () => {
  await using server = await startNatsServer();
  const lines = text(10_000, 23);
  const reference = await referenceOutputs(lines);
  const producerLink = await connectNats({ nats: server.url });
  const producing = produce(producerLink, lines, 200, 50);
  const logger = collectingLogger();
  const controller = new AbortController();
  const job = runNatsJob({
    job: wordcount,
    natsUrl: server.url,
    checkpointIntervalMs: 200,
    maxRetries: undefined,
    logger,
    signal: controller.signal,
  });
  let failed: unknown;
  job.catch((error: unknown) => (failed = error));
  await using link = await connectNats({ nats: server.url });
  await waitFor(
    async () => (await streamMessages(link, 'WORDCOUNT_OUT')) > 5_000 || failed !== undefined,
    'outputs before the crash',
  );
  await server.kill();
  await server.restart();
  await producing;
  await producerLink.close();
  await waitForAllOutputs(
    link,
    reference.length,
    () => logger.lines.length,
    () => failed !== undefined,
  );
  controller.abort();
  await job;
  assert.ok(
    logger.lines.some((line) => /NATS reconnected/.test(line)),
    logger.lines.join('\n'),
  );
  // Publishes lost with the crashed server are sent again in order on reconnect, before new ones:
  // the stream holds the uninterrupted run's outputs, in its order.
  assertSameOutputs(
    await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT')),
    reference,
    true,
    logger.lines.filter((l) => /NATS|restored/.test(l)).join('; '),
  );
});

test.run();
