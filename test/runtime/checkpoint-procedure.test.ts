// Checkpoints of an idle job: a capture with nothing new (same input position, same sink records, no
// state change) is not written, whatever the interval; new input makes the next one be written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMemoryCheckpointStore } from '../../src/checkpoint/index.ts';
import { createEmbeddedRuntime, createLogger } from '../../runtime/index.ts';
import type { RuntimeEvent } from '../../runtime/index.ts';
import { job as wordcount } from '../../examples/wordcount.ts';
import { sleep, tempDir, waitUntil } from './support/cli.ts';
import { collectingLogger } from '../support/collecting-logger.ts';

const tmp = tempDir('idle-checkpoints');
test.after(() => tmp.remove());

const logger = createLogger('silent');

type CheckpointEvent = Extract<RuntimeEvent, { type: 'checkpoint' }>;

test('an idle job in follow mode writes no new checkpoint, at a 20 ms interval, until input comes', async () => {
  const input = join(tmp.dir, 'idle.txt');
  writeFileSync(input, 'a b a\n');
  const runtime = createEmbeddedRuntime({
    job: wordcount,
    input,
    output: join(tmp.dir, 'idle.jsonl'),
    store: createMemoryCheckpointStore(),
    follow: true,
    checkpointIntervalMs: 20,
    logger,
  });
  const checkpoints: CheckpointEvent[] = [];
  runtime.events.subscribe((event) => {
    if (event.type === 'checkpoint') checkpoints.push(event);
  });
  const running = runtime.run();
  await waitUntil(() => checkpoints.some((c) => c.position === 5), 'the checkpoint covering the first line');
  const idleFrom = checkpoints.length;
  // ~300 intervals, past the source's 5 s idle timeout: from then on the ingestion-time watermark
  // follows the wall clock at every poll, which alone is no reason to write (see
  // runtime/checkpoint-procedure.ts).
  await sleep(6000);
  assert.is(
    checkpoints.length,
    idleFrom,
    `checkpoints written while idle: ${JSON.stringify(checkpoints.slice(idleFrom))}`,
  );
  appendFileSync(input, 'c\n');
  await waitUntil(() => checkpoints.some((c) => c.position === 7), 'a checkpoint covering the new line');
  await runtime.stop();
  const result = await running;
  assert.is(result.checkpoints, checkpoints.length);
  assert.ok(checkpoints.every((c, i) => i === 0 || c.checkpointId > checkpoints[i - 1]!.checkpointId));
});

test('a restart with nothing new writes no checkpoint at all, and the stop after it neither', async () => {
  const input = join(tmp.dir, 'again.txt');
  writeFileSync(input, 'x y\n');
  const store = createMemoryCheckpointStore();
  const output = join(tmp.dir, 'again.jsonl');
  const first = await createEmbeddedRuntime({ job: wordcount, input, output, store, logger }).run();
  assert.is(first.checkpoints, 1);
  const second = createEmbeddedRuntime({
    job: wordcount,
    input,
    output,
    store,
    follow: true,
    checkpointIntervalMs: 20,
    logger,
  });
  const running = second.run();
  await waitUntil(() => second.state === 'running', 'running');
  await sleep(300);
  await second.stop();
  const result = await running;
  assert.is(result.restoredCheckpoint, 1);
  assert.is(result.checkpoints, 0);
});

test('checkpoint() on demand writes even when nothing changed', async () => {
  const input = join(tmp.dir, 'demand.txt');
  writeFileSync(input, 'x\n');
  const runtime = createEmbeddedRuntime({
    job: wordcount,
    input,
    output: join(tmp.dir, 'demand.jsonl'),
    store: createMemoryCheckpointStore(),
    follow: true,
    checkpointIntervalMs: 60_000,
    logger,
  });
  const ids: number[] = [];
  runtime.events.subscribe((event) => {
    if (event.type === 'checkpoint') ids.push(event.checkpointId);
  });
  const running = runtime.run();
  await waitUntil(() => runtime.state === 'running', 'running');
  await runtime.checkpoint();
  await runtime.checkpoint();
  await runtime.stop();
  await running;
  assert.is(ids.length, 2, 'the two on-demand ones; the stop after them had nothing new');
});

test('a fresh job with nothing to read writes no checkpoint and logs no throughput while idle; input brings both', async () => {
  const input = join(tmp.dir, 'fresh.txt');
  writeFileSync(input, '');
  const logger = collectingLogger();
  const lines = logger.lines;
  const runtime = createEmbeddedRuntime({
    job: wordcount,
    input,
    output: join(tmp.dir, 'fresh.jsonl'),
    store: createMemoryCheckpointStore(),
    follow: true,
    checkpointIntervalMs: 20,
    throughputLogIntervalMs: 20,
    logger,
  });
  const checkpoints: CheckpointEvent[] = [];
  let throughputEvents = 0;
  runtime.events.subscribe((event) => {
    if (event.type === 'checkpoint') checkpoints.push(event);
    if (event.type === 'throughput') throughputEvents++;
  });
  const running = runtime.run();
  try {
    await waitUntil(() => throughputEvents >= 20, 'twenty throughput intervals');
    assert.equal(checkpoints, [], 'a fresh job that read nothing has nothing to checkpoint');
    assert.equal(
      lines.filter((l) => /throughput/.test(l)),
      [],
      'idle: no throughput lines',
    );
    appendFileSync(input, 'a b\n');
    await waitUntil(() => checkpoints.some((c) => c.position === 3), 'a checkpoint covering the line');
    await waitUntil(
      () => lines.some((l) => /throughput: \d+ msg\/s \(1 message read, 0 dead letters\)/.test(l)),
      'a throughput line once input came',
    );
  } finally {
    await runtime.stop();
    await running;
  }
});

test.run();
