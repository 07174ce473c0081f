// NATS mode end to end: `stator run examples/wordcount.ts --nats <url>` as real processes against a
// real nats-server, including a SIGKILL in the middle of the run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { collectingLogger } from '../support/collecting-logger.ts';
import { connectNats, runNatsJob, type NatsLink } from '../../runtime/nats/index.ts';
import { job as wordcount } from '../../examples/wordcount.ts';
import { produce, readOutputs, startJob, streamMessages, text, waitFor } from './wordcount-support.ts';
import { waitForProgress } from '../support/wait-for.ts';

const outputCount = (link: NatsLink): Promise<number> => streamMessages(link, 'WORDCOUNT_OUT');

/** The outputs in WORDCOUNT_OUT, parsed. */
async function readCounts(link: NatsLink, count: number): Promise<{ word: string; count: number }[]> {
  return (await readOutputs(link, count)).map((line) => JSON.parse(line) as { word: string; count: number });
}

/**
 * Each word's counts must be exactly 1, 2, ..., n, n its number of occurrences; in that order unless
 * `anyOrder` (a publish that timed out on a live connection may be stored after later ones: see
 * docs/jetstream.md, "Output order").
 */
function assertExactlyOnce(outputs: { word: string; count: number }[], lines: string[], anyOrder = false): void {
  if (anyOrder) outputs = [...outputs].sort((a, b) => (a.word < b.word ? -1 : a.word > b.word ? 1 : a.count - b.count));
  const expected = new Map<string, number>();
  for (const line of lines) for (const word of line.split(' ')) expected.set(word, (expected.get(word) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const { word, count } of outputs) {
    const previous = seen.get(word) ?? 0;
    assert.is(count, previous + 1, `${word}: count ${count} after ${previous}`);
    seen.set(word, count);
  }
  assert.equal(seen, expected);
}

test('wordcount in NATS mode counts every word once, and a SIGKILL mid-run changes nothing in the output', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const lines = text(40_000);
  const totalWords = lines.length * 5;
  await produce(link, lines);

  const first = startJob(server.url);
  // Crash after a checkpoint was committed, with outputs published since (they will be replayed).
  await waitFor(
    async () => /checkpoint 1 /.test(first.stderr()) || first.child.exitCode !== null,
    'a committed checkpoint',
  );
  assert.is(first.child.exitCode, null, first.stderr());
  assert.ok((await outputCount(link)) < totalWords, `the first run must not have finished: ${first.stderr()}`);
  first.child.kill('SIGKILL');
  await first.exited;
  const afterCrash = await outputCount(link);

  const second = startJob(server.url);
  try {
    await waitForProgress(
      async () => (await outputCount(link)) >= totalWords || second.child.exitCode !== null,
      async () => (await outputCount(link)) + second.stderr().length,
      'all outputs',
    );
    assert.is(second.child.exitCode, null, second.stderr());
    const restored = /restored checkpoint (\d+) at position (\d+)/.exec(second.stderr());
    assert.ok(restored !== null, second.stderr());
    assert.ok(Number(restored[2]) > 0 && Number(restored[2]) < lines.length);
  } finally {
    second.child.kill('SIGTERM');
  }
  assert.is((await second.exited).code, 0, second.stderr());
  const outputs = await readCounts(link, await outputCount(link));
  assert.is(
    outputs.length,
    totalWords,
    `output stream holds ${outputs.length} messages for ${totalWords} words (${afterCrash} before the crash)`,
  );
  assert.ok(afterCrash > 0);
  assertExactlyOnce(outputs, lines);
});

test('the outputs of the last input are stored while the job runs, without waiting for a checkpoint', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  // wordcount's count stage runs two partitions, whose outputs an ordered merge puts in input order.
  const lines = text(50);
  await produce(link, lines);
  // No checkpoint while it runs: the interval is an hour.
  const job = startJob(server.url, ['--checkpoint-interval', '3600000']);
  try {
    await waitFor(
      async () => (await outputCount(link)) >= lines.length * 5 || job.child.exitCode !== null,
      'every output while the job runs',
    );
    assert.is(job.child.exitCode, null, job.stderr());
    assert.not.match(job.stderr(), /checkpoint 1 /);
  } finally {
    job.child.kill('SIGTERM');
  }
  assert.is((await job.exited).code, 0, job.stderr());
  assertExactlyOnce(await readCounts(link, lines.length * 5), lines);
});

test('a nats-server restart in the middle of a run loses, duplicates and reorders nothing', async () => {
  await using server = await startNatsServer();
  const lines = text(20_000);
  {
    await using link = await connectNats({ nats: server.url });
    await produce(link, lines);
  }
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
  await using link = await connectNats({ nats: server.url });
  await waitFor(async () => (await outputCount(link)) > 20_000, 'outputs before the restart');
  await server.restart();
  await waitForProgress(
    async () => (await outputCount(link)) >= lines.length * 5,
    async () => (await outputCount(link)) + logger.lines.length,
    'all outputs',
  );
  controller.abort();
  await running;
  assert.ok(
    logger.lines.some((line) => /NATS reconnected/.test(line)),
    logger.lines.join('\n'),
  );
  const outputs = await readCounts(link, await outputCount(link));
  assert.is(outputs.length, lines.length * 5);
  assertExactlyOnce(outputs, lines);
});

test('an outage longer than --max-outage fails the run with NatsOutageError', async () => {
  await using server = await startNatsServer();
  const link = await connectNats({ nats: server.url });
  await produce(link, text(100));
  await link.close();
  const logger = collectingLogger();
  const controller = new AbortController();
  const running = runNatsJob({
    job: wordcount,
    natsUrl: server.url,
    nats: { maxOutage: '1s' },
    checkpointIntervalMs: 200,
    maxRetries: undefined,
    logger,
    signal: controller.signal,
  });
  await waitFor(
    async () => logger.lines.some((line) => /checkpoint \d+ .* at position 100:/.test(line)),
    'the first checkpoint',
  );
  await server.kill();
  try {
    await running;
    assert.unreachable('the run must fail');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'NATS_OUTAGE', String(error));
  }
  assert.ok(logger.lines.some((line) => /NATS disconnected/.test(line)));
  assert.ok(logger.lines.some((line) => /unreachable for \d+ s/.test(line)));
});

test('a stopped run resumes from its final checkpoint and reads only what came after', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await produce(link, text(50));
  const run = async (until: RegExp): Promise<string[]> => {
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
    await waitFor(async () => logger.lines.some((line) => until.test(line)), String(until));
    controller.abort();
    await running;
    return logger.lines;
  };
  const first = await run(/checkpoint \d+ .* at position 50:/);
  assert.ok(
    first.some((line) => /job wordcount stopped: 50 messages read/.test(line)),
    first.join('\n'),
  );
  await produce(link, text(60).slice(50), undefined, 0, 50);
  const second = await run(/checkpoint \d+ .* at position 60:/);
  assert.ok(
    second.some((line) => /restored checkpoint \d+ at position 50 of in/.test(line)),
    second.join('\n'),
  );
  assert.ok(
    second.some((line) => /job wordcount stopped: 10 messages read/.test(line)),
    second.join('\n'),
  );
  assert.is(await outputCount(link), 300);
  assertExactlyOnce(await readCounts(link, 300), text(60));
});

test.run();
