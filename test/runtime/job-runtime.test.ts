import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StatefulTask, StringUtf8Coder, TimeDomain } from '../../src/index.ts';
import type { FiredTimer, Message, ProcessContext, Timer, TimerContext } from '../../src/index.ts';
import { createMemoryCheckpointStore } from '../../src/checkpoint/index.ts';
import { createEmbeddedRuntime, createLogger, defineJob, json, LifecycleError, lines } from '../../runtime/index.ts';
import type { LifecycleState, RuntimeEvent } from '../../runtime/index.ts';
import { job as wordcount } from '../../examples/wordcount.ts';
import { tempDir } from './support/cli.ts';
import { outcomeOf } from '../support/index.ts';
import { heldOpenWordcount } from '../support/held-open-wordcount.ts';

const tmp = tempDir('job-runtime');
test.after(() => tmp.remove());

const logger = createLogger('silent');

test('job runtime - goes created → restoring → running → draining → stopped on a bounded input', async () => {
  const input = join(tmp.dir, 'a.txt');
  writeFileSync(input, 'x y x\n');
  const runtime = createEmbeddedRuntime({
    job: wordcount,
    input,
    output: join(tmp.dir, 'a.jsonl'),
    store: createMemoryCheckpointStore(),
    logger,
  });
  const states: LifecycleState[] = [];
  const events: RuntimeEvent[] = [];
  const subscription = runtime.stateChanges.subscribe((state) => states.push(state));
  runtime.events.subscribe((event) => events.push(event));
  const result = await runtime.run();
  subscription.unsubscribe();
  assert.equal(states, ['created', 'restoring', 'running', 'draining', 'stopped']);
  assert.equal(
    events.map((e) => e.type),
    ['restored', 'checkpoint'],
  );
  const checkpoint = events[1] as Extract<RuntimeEvent, { type: 'checkpoint' }>;
  assert.is(checkpoint.reason, 'stop');
  assert.is(checkpoint.position, 5, 'the newline of the only line');
  assert.is(checkpoint.changedKeys, 2);
  assert.is(result.reason, 'completed');
  assert.is(result.messagesRead, 1);
  assert.is(result.checkpoints, 1);
  assert.is(readFileSync(join(tmp.dir, 'a.jsonl'), 'utf8').trim().split('\n').length, 3);
});

test('job runtime - a second run on the same store restores and reads nothing again', async () => {
  const input = join(tmp.dir, 'b.txt');
  writeFileSync(input, 'x y x\n');
  const store = createMemoryCheckpointStore();
  const output = join(tmp.dir, 'b.jsonl');
  await createEmbeddedRuntime({ job: wordcount, input, output, store, logger }).run();
  const before = readFileSync(output, 'utf8');
  const again = await createEmbeddedRuntime({ job: wordcount, input, output, store, logger }).run();
  assert.is(again.restoredCheckpoint, 1);
  assert.is(again.messagesRead, 0);
  assert.is(readFileSync(output, 'utf8'), before);
});

test('job runtime - stop() in follow mode drains, checkpoints and resolves run() as stopped', async () => {
  const input = join(tmp.dir, 'c.txt');
  writeFileSync(input, 'p q\n');
  const runtime = createEmbeddedRuntime({
    job: wordcount,
    input,
    output: join(tmp.dir, 'c.jsonl'),
    store: createMemoryCheckpointStore(),
    follow: true,
    logger,
  });
  const running = runtime.run();
  await new Promise<void>((resolve) => {
    const s = runtime.stateChanges.subscribe((state) => {
      if (state === 'running') {
        queueMicrotask(() => s.unsubscribe());
        resolve();
      }
    });
  });
  await runtime.stop();
  const result = await running;
  assert.is(result.reason, 'stopped');
  assert.is(runtime.state, 'stopped');
  assert.is(result.checkpoints, 1);
});

test('job runtime - checkpoint() right after stop() resolves, and so does run() (neither waits forever)', async () => {
  const input = join(tmp.dir, 'd.txt');
  writeFileSync(input, 'p q\n');
  const runtime = createEmbeddedRuntime({
    job: wordcount,
    input,
    output: join(tmp.dir, 'd.jsonl'),
    store: createMemoryCheckpointStore(),
    follow: true,
    // Only the test's checkpoint() takes a cut.
    checkpointIntervalMs: 3_600_000,
    logger,
  });
  const running = runtime.run();
  while (runtime.view?.source.messagesRead !== 1) await new Promise((resolve) => setTimeout(resolve, 10));
  // The source waits for the input to grow.
  await new Promise((resolve) => setTimeout(resolve, 300));
  // The checkpoint asks the source to pause just after it was told to stop.
  const stopped = runtime.stop();
  const checkpointed = runtime.checkpoint();
  const outcome = (what: string, promise: Promise<unknown>): Promise<string> =>
    Promise.race([
      promise.then(
        () => `${what} resolved`,
        (error: unknown) => `${what} rejected: ${String(error)}`,
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve(`${what} pending after 10 s`), 10_000)),
    ]);
  assert.equal(await Promise.all([outcome('checkpoint()', checkpointed), outcome('run()', running)]), [
    'checkpoint() resolved',
    'run() resolved',
  ]);
  await stopped;
  assert.is(runtime.state, 'stopped');
});

test('job runtime - checkpoint() asked while the stop drains is refused, not raced with the final checkpoint, which keeps every key', async () => {
  const input = join(tmp.dir, 'e.txt');
  writeFileSync(input, '');
  const store = createMemoryCheckpointStore();
  const runtime = createEmbeddedRuntime({
    job: wordcount,
    input,
    output: join(tmp.dir, 'e.jsonl'),
    store,
    follow: true,
    checkpointIntervalMs: 3_600_000,
    logger,
  });
  const events: RuntimeEvent[] = [];
  runtime.events.subscribe((event) => events.push(event));
  const running = runtime.run().then(
    (result) => result.reason,
    (error: unknown) => `run() rejected: ${String(error)}`,
  );
  while (runtime.state !== 'running') await new Promise((resolve) => setTimeout(resolve, 10));
  // 200,000 keys: the final capture takes many slices to settle, time for an empty capture to overtake it.
  const count = 40_000;
  appendFileSync(input, Array.from({ length: count }, (_, i) => `a${i} b${i} c${i} d${i} e${i}\n`).join(''));
  while (runtime.view!.source.messagesRead < count) await new Promise((resolve) => setTimeout(resolve, 20));
  let checkpointed: Promise<unknown> | undefined;
  runtime.stateChanges.subscribe((state) => {
    if (state === 'draining')
      setImmediate(() => {
        checkpointed = runtime.checkpoint().then(
          () => 'resolved',
          (error: unknown) => error,
        );
      });
  });
  await runtime.stop();
  assert.is(await running, 'stopped');
  const refused = await checkpointed;
  assert.instance(refused, LifecycleError, String(refused));
  assert.match((refused as Error).message, /final checkpoint/);
  const written = events.filter((e): e is Extract<RuntimeEvent, { type: 'checkpoint' }> => e.type === 'checkpoint');
  assert.equal(
    written.map((e) => [e.reason, e.changedKeys]),
    [['stop', 5 * count]],
  );
  // A rerun restores every key: a0 seen again counts 2.
  const output = join(tmp.dir, 'e.jsonl');
  const before = readFileSync(output).length;
  appendFileSync(input, 'a0\n');
  await createEmbeddedRuntime({ job: wordcount, input, output, store, logger }).run();
  assert.equal(readFileSync(output).subarray(before).toString(), `${JSON.stringify({ word: 'a0', count: 2 })}\n`);
});

test('job runtime - checkpoint() while it restores is refused (LifecycleError), never resolved without a checkpoint or cut before the input opened', async () => {
  const input = join(tmp.dir, 'f.txt');
  writeFileSync(input, 'x y\n'.repeat(100));
  const output = join(tmp.dir, 'f.jsonl');
  const store = createMemoryCheckpointStore();
  await createEmbeddedRuntime({ job: wordcount, input, output, store, logger }).run();
  // The restore is held in its tasks' open(), after the checkpoint was read and before the input opened.
  const held = heldOpenWordcount();
  const runtime = createEmbeddedRuntime({ job: held.job, input, output, store, follow: true, logger });
  const events: RuntimeEvent[] = [];
  runtime.events.subscribe((event) => events.push(event));
  const running = runtime.run();
  await held.opening;
  assert.is(runtime.state, 'restoring');
  const outcome = await runtime.checkpoint().then(
    () => `resolved while ${runtime.state}`,
    (error: unknown) => error,
  );
  held.release();
  await runtime.stop();
  await running;
  assert.instance(outcome, LifecycleError, String(outcome));
  assert.match((outcome as Error).message, /while restoring/);
  // Nothing was written: no cut at position -1 over the restored state (the stop's is skipped, nothing changed).
  const written = events.filter((e): e is Extract<RuntimeEvent, { type: 'checkpoint' }> => e.type === 'checkpoint');
  assert.equal(
    written.map((e) => [e.reason, e.position]),
    [],
  );
});

class FailingTimer extends StatefulTask<string, string, string> {
  private t!: Timer;
  override open(): void {
    this.t = this.timer('t', TimeDomain.EVENT_TIME);
  }
  override invoke(message: Message<string, string>, _ctx: ProcessContext<string, string>): void {
    this.t.set(Number(message.timestamp) + 1);
  }
  override onTimer(_timer: FiredTimer<string>, _ctx: TimerContext<string, string>): void {
    throw new Error('timer broke');
  }
}

test('job runtime - a failing event-time timer fails the run (state failed), keeping the last checkpoint', async () => {
  const input = join(tmp.dir, 'd.txt');
  writeFileSync(input, '1\n2\n');
  const job = defineJob({ name: 'failing' })
    .source(lines({ timestamp: (line) => Number(line) * 1000 }))
    .keyBy((line) => line, StringUtf8Coder.of())
    .process(() => new FailingTimer(), { name: 'fail' })
    .sink(json());
  const runtime = createEmbeddedRuntime({
    job,
    input,
    output: join(tmp.dir, 'd.jsonl'),
    store: createMemoryCheckpointStore(),
    logger,
  });
  try {
    await runtime.run();
    assert.unreachable('run() resolved');
  } catch (error) {
    assert.match(String((error as Error).message) + String((error as Error).cause), /timer broke/);
  }
  assert.is(runtime.state, 'failed');
});

class FailingTimerFailingClose extends FailingTimer {
  closes = 0;
  override close(): void {
    this.closes++;
    throw new Error('close broke');
  }
}

test('job runtime - a failed run closes its tasks; a close() that throws is logged, and the run rejects with its own error', async () => {
  const input = join(tmp.dir, 'g.txt');
  writeFileSync(input, '1\n');
  const tasks: FailingTimerFailingClose[] = [];
  const job = defineJob({ name: 'failing-close' })
    .source(lines({ timestamp: (line) => Number(line) * 1000 }))
    .keyBy((line) => line, StringUtf8Coder.of())
    .process(
      () => {
        const task = new FailingTimerFailingClose();
        tasks.push(task);
        return task;
      },
      { name: 'fail' },
    )
    .sink(json());
  const warnings: string[] = [];
  const runtime = createEmbeddedRuntime({
    job,
    input,
    output: join(tmp.dir, 'g.jsonl'),
    store: createMemoryCheckpointStore(),
    logger: { ...logger, warn: (message: string) => void warnings.push(message) },
  });
  const failure = await runtime.run().then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  assert.match(String(failure?.message) + String(failure?.cause), /timer broke/);
  assert.not.match(String(failure?.message), /close broke/);
  assert.is(runtime.state, 'failed');
  assert.equal(
    tasks.map((task) => task.closes),
    [1],
  );
  assert.ok(
    warnings.some((w) => /closing the task after the run failed: .*close broke/.test(w)),
    warnings.join('\n'),
  );
});

/** A task whose turn for `hang` waits for the test, ignoring ctx.signal. */
class HangingTask extends StatefulTask<string, string, string> {
  started = false;
  closed = false;
  constructor(private readonly held: Promise<void>) {
    super();
  }
  override invoke(message: Message<string, string>): void | Promise<void> {
    if (message.value !== 'hang') return;
    this.started = true;
    return this.held;
  }
  override close(): void {
    this.closed = true;
  }
}

test('job runtime - a failed run does not wait for a turn that ignores ctx.signal, and closes its task once that turn settles', async () => {
  const input = join(tmp.dir, 'h.txt');
  writeFileSync(input, 'a\n');
  let release!: () => void;
  const task = new HangingTask(new Promise<void>((resolve) => (release = resolve)));
  const job = defineJob({ name: 'hanging' })
    .source(lines())
    .keyBy((line) => line, StringUtf8Coder.of())
    .process(() => task, { name: 'hang' })
    .sink(json());
  const runtime = createEmbeddedRuntime({
    job,
    input,
    output: join(tmp.dir, 'h.jsonl'),
    store: createMemoryCheckpointStore(),
    follow: true,
    logger,
  });
  const running = outcomeOf(runtime.run(), 'run()');
  while (runtime.view?.source.messagesRead !== 1) await new Promise((resolve) => setTimeout(resolve, 10));
  appendFileSync(input, 'hang\n');
  while (!task.started) await new Promise((resolve) => setTimeout(resolve, 10));
  const fenced = new Error('fenced');
  runtime.fail(fenced);
  assert.is(await running, fenced);
  assert.is(runtime.state, 'failed');
  assert.not.ok(task.closed, 'not during its turn');
  release();
  for (let i = 0; i < 100 && !task.closed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(task.closed, 'closed once the turn settled');
});

/**
 * A task that echoes each line; its turn for `boom` does what a task calling another service with
 * ctx.signal does: it rejects once the signal aborts (on the first run only: `abortable`).
 */
class AbortableTask extends StatefulTask<string, string, string> {
  boomAttempts = 0;
  private closedNow!: () => void;
  readonly closed = new Promise<void>((resolve) => (this.closedNow = resolve));
  private startedNow!: () => void;
  readonly started = new Promise<void>((resolve) => (this.startedNow = resolve));
  constructor(private readonly abortable: boolean) {
    super();
  }
  override invoke(message: Message<string, string>, ctx: ProcessContext<string, string>): void | Promise<void> {
    ctx.output(message.value);
    if (message.value !== 'boom' || !this.abortable) return;
    this.boomAttempts++;
    this.startedNow();
    return new Promise<void>((_, reject) => {
      const signal = ctx.signal;
      if (signal.aborted) reject(signal.reason);
      else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }
  override close(): void {
    this.closedNow();
  }
}

test('job runtime - a turn that rejects after the run failed is neither retried nor dead-lettered; the next run processes its message again', async () => {
  const input = join(tmp.dir, 'i.txt');
  const output = join(tmp.dir, 'i.jsonl');
  writeFileSync(input, 'a\n');
  const store = createMemoryCheckpointStore();
  const task = new AbortableTask(true);
  const jobOf = (make: () => AbortableTask) =>
    defineJob({ name: 'abortable' })
      .source(lines())
      .keyBy((line) => line, StringUtf8Coder.of())
      .process(make, { name: 'echo' })
      .sink(json<string>());
  const warnings: string[] = [];
  const runtime = createEmbeddedRuntime({
    job: jobOf(() => task),
    input,
    output,
    store,
    follow: true,
    logger: { ...logger, warn: (message: string) => void warnings.push(message) },
  });
  const running = outcomeOf(runtime.run(), 'run()');
  while (runtime.view?.source.messagesRead !== 1) await new Promise((resolve) => setTimeout(resolve, 10));
  await runtime.checkpoint();
  appendFileSync(input, 'boom\n');
  await task.started;
  const fenced = new Error('fenced');
  runtime.fail(fenced);
  assert.is(await running, fenced);
  // The runner closes once the abandoned turn (with any retry of it) settled.
  await task.closed;
  const partition = runtime.view!.stages[0]!.partitions[0]!;
  assert.equal(
    { attempts: task.boomAttempts, retries: partition.retries, deadLetters: runtime.view!.deadLetters },
    { attempts: 1, retries: 0, deadLetters: 0 },
  );
  assert.equal(
    warnings.filter((w) => /dead letter/.test(w)),
    [],
  );
  // Its input was not committed: the next run reads `boom` again, from the checkpoint after `a`.
  const again = await createEmbeddedRuntime({
    job: jobOf(() => new AbortableTask(false)),
    input,
    output,
    store,
    logger,
  }).run();
  assert.is(again.restoredCheckpoint, 1);
  assert.is(again.messagesRead, 1);
  assert.is(again.deadLetters, 0);
  assert.is(readFileSync(output, 'utf8'), '"a"\n"boom"\n');
});

test.run();
