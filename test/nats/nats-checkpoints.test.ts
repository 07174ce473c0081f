// NATS mode's checkpoints over time: an idle job writes none (the wall-clock watermark moving alone
// is not a change), and a restore whose replay may store again outputs the duplicate window has
// forgotten is logged with what it means and what to do (and only then).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { collectingLogger } from '../support/collecting-logger.ts';
import { createCheckpoints } from '../../src/checkpoint/index.ts';
import { mergeKeyGroupParts } from '../../src/state/index.ts';
import { openJetStreamCheckpointStore } from '../../runtime/checkpoint/index.ts';
import { connectNats, NATS_CHECKPOINT_TASK, runNatsJob } from '../../runtime/nats/index.ts';
import { job as wordcount } from '../../examples/wordcount.ts';
import { produce, streamMessages, text, waitFor } from './wordcount-support.ts';

const checkpointIds = (lines: readonly string[]): number[] =>
  lines.flatMap((line) => {
    const match = /^checkpoint (\d+) \(/.exec(line);
    return match === null ? [] : [Number(match[1])];
  });

test('an idle NATS job at a 50 ms interval writes no new checkpoint, also past the source idle timeout', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await produce(link, text(20));
  const logger = collectingLogger();
  const controller = new AbortController();
  const running = runNatsJob({
    job: wordcount,
    natsUrl: server.url,
    checkpointIntervalMs: 50,
    maxRetries: undefined,
    logger,
    signal: controller.signal,
  });
  await waitFor(
    () => logger.lines.some((line) => /^checkpoint \d+ .* at position 20:/.test(line)),
    'the checkpoint covering the input',
  );
  const before = checkpointIds(logger.lines);
  // ~120 intervals; the source reports itself idle after 5 s and its watermark then follows the clock.
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  assert.equal(checkpointIds(logger.lines), before, logger.lines.join('\n'));
  await produce(link, text(21).slice(20), 1, 0, 20);
  await waitFor(
    () => logger.lines.some((line) => /^checkpoint \d+ .* at position 21:/.test(line)),
    'a checkpoint covering the new message',
  );
  controller.abort();
  await running;
  assert.ok(
    logger.lines.some((line) =>
      new RegExp(`stopped: 21 messages read, ${before.length + 1} checkpoints written`).test(line),
    ),
    logger.lines.join('\n'),
  );
});

/** Commits a checkpoint of wordcount at `position` (no state), as if captured `ageMs` ago. */
async function writeOldCheckpoint(
  link: Awaited<ReturnType<typeof connectNats>>,
  position: number,
  ageMs: number,
): Promise<void> {
  await using store = await openJetStreamCheckpointStore({
    job: 'wordcount',
    task: NATS_CHECKPOINT_TASK,
    connection: link.nc,
  });
  const checkpoints = createCheckpoints(store, { jobId: 'wordcount', mergeKeyGroupParts });
  await checkpoints.write({ inputs: { in: position }, partitions: [], sinks: {}, createdAt: Date.now() - ageMs });
  await checkpoints.close();
}

async function runUntilPosition(serverUrl: string, position: number): Promise<string[]> {
  const logger = collectingLogger();
  const controller = new AbortController();
  const running = runNatsJob({
    job: wordcount,
    natsUrl: serverUrl,
    checkpointIntervalMs: 200,
    maxRetries: undefined,
    logger,
    signal: controller.signal,
  });
  await waitFor(
    () => logger.lines.some((line) => new RegExp(`at position ${position}\\b`).test(line)),
    `position ${position}`,
  );
  controller.abort();
  await running;
  return logger.lines;
}

test('a restore from a checkpoint older than the duplicate window covers warns, naming the unit, when outputs were stored after it', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await produce(link, text(10));
  // A previous run stored the outputs of all 10 messages; its newest checkpoint says it was captured
  // two hours ago at position 4, so the outputs stored since may reach back that far.
  await runUntilPosition(server.url, 10);
  const stored = await streamMessages(link, 'WORDCOUNT_OUT');
  await writeOldCheckpoint(link, 4, 2 * 3_600_000);
  const lines = await runUntilPosition(server.url, 10);
  const warning = lines.find(
    (line) => /duplicate window/.test(line) && /restored checkpoint \d+ was captured/.test(line),
  );
  assert.ok(warning !== undefined, lines.join('\n'));
  // Named by its unit: a scaled-out worker restores one checkpoint per unit (the whole job is `main`).
  assert.match(warning, /^\[main\] restored checkpoint \d+ was captured/);
  assert.match(warning, /captured 720\d s ago; the previous run stored outputs until \d s ago/);
  assert.match(warning, /WORDCOUNT_OUT \(480 s\)/);
  // now + 0.2 s interval + 60 s outage - 480 s window: stored before ~420 s ago are forgotten.
  assert.match(warning, /from 720\d s ago to 4(19|20) s ago/);
  assert.match(warning, /may be stored twice/);
  assert.match(warning, /nats stream edit WORDCOUNT_OUT --dupe-window/);
  // The replayed outputs were recent, so the window still dropped them.
  assert.is(await streamMessages(link, 'WORDCOUNT_OUT'), stored);
});

test('a restore from an old checkpoint does not warn when nothing was stored after it (a clean stop, an idle job)', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await produce(link, text(10));
  // Issue 11 item 14: the checkpoint is far older than the window, but the previous run stored
  // nothing since it was captured, so the replay has nothing it could store twice.
  await writeOldCheckpoint(link, 10, 2 * 3_600_000);
  const lines = await runUntilPosition(server.url, 10);
  assert.ok(
    lines.some((line) => /restored checkpoint \d+ at position 10/.test(line)),
    lines.join('\n'),
  );
  assert.not.ok(
    lines.some((line) => /duplicate window of/.test(line)),
    lines.join('\n'),
  );
});

test('a restore from a recent checkpoint does not warn', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await produce(link, text(10));
  const run = async (): Promise<string[]> => {
    const logger = collectingLogger();
    const controller = new AbortController();
    const running = runNatsJob({
      job: wordcount,
      natsUrl: server.url,
      checkpointIntervalMs: 200,
      maxRetries: undefined,
      logger,
      signal: controller.signal,
    });
    await waitFor(() => logger.lines.some((line) => /position 10/.test(line)), 'position 10');
    controller.abort();
    await running;
    return logger.lines;
  };
  await run();
  const second = await run();
  assert.ok(
    second.some((line) => /restored checkpoint \d+ at position 10/.test(line)),
    second.join('\n'),
  );
  assert.not.ok(
    second.some((line) => /duplicate window of/.test(line)),
    second.join('\n'),
  );
});

test.run();
