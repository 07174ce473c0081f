// Checkpoints as cut + commit: the intake pauses only for the cut (state, positions and the sinks'
// records at one instant) and resumes before the sink has made the cut's outputs durable; the
// manifest commits once it has, with the records of the cut. A sink that holds back durability
// (as JetStream does while acknowledgements are in flight) shows both.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMemoryCheckpointStore } from '../../src/checkpoint/index.ts';
import type { CheckpointStore } from '../../src/checkpoint/index.ts';
import { createLogger, LifecycleError } from '../../runtime/index.ts';
import type { Logger, RuntimeEvent } from '../../runtime/index.ts';
import type { SinkBinding } from '../../runtime/bindings.ts';
import { createJobRuntime } from '../../runtime/job-runtime.ts';
import type { JobRuntime } from '../../runtime/job-runtime.ts';
import { deadLetterFileBinding, fileSourceBinding } from '../../runtime/embedded/file-bindings.ts';
import { jobCheckpoints } from '../../runtime/embedded/job-checkpoints.ts';
import { jobTaskRunners } from '../../runtime/task-runners.ts';
import { job as wordcount } from '../../examples/wordcount.ts';
import { tempDir, waitUntil } from './support/cli.ts';
import { outcomeOf } from '../support/index.ts';

const tmp = tempDir('cut-commit');
test.after(() => tmp.remove());

const logger = createLogger('silent');
const encoder = new TextEncoder();

/**
 * A sink that makes outputs durable only when the test says so. `congestAt`: accepted but not
 * durable outputs from which it reports congestion (a backlog it does not work off by itself).
 */
class HeldSink {
  readonly outputs: unknown[] = [];
  durableCount = 0;
  readonly cuts: number[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];
  private uncongested: (() => void)[] = [];
  private fail: ((error: unknown) => void) | undefined;
  /** Runs as the binding closes (a test's hook). */
  onClose: (() => void) | undefined;

  constructor(private readonly congestAt: number) {}

  get congested(): boolean {
    return this.outputs.length - this.durableCount >= this.congestAt;
  }

  /** Makes every output so far durable. */
  release(): void {
    this.durableCount = this.outputs.length;
    const due = this.waiters.filter((w) => w.count <= this.durableCount);
    this.waiters = this.waiters.filter((w) => w.count > this.durableCount);
    for (const waiter of due) waiter.resolve();
    const wake = this.uncongested;
    this.uncongested = [];
    for (const resolve of wake) resolve();
  }

  /** Reports a write error as a real sink does: through the runtime's `fail`. */
  failWrite(error: Error): void {
    this.fail!(error);
  }

  binding(fail: (error: unknown) => void): SinkBinding {
    this.fail = fail;
    return {
      name: 'out',
      outlet: {
        data: (value) => void this.outputs.push(value),
        watermark: () => {},
        idle: () => {},
        congested: false,
        whenUncongested: () =>
          this.congested ? new Promise<void>((resolve) => this.uncongested.push(resolve)) : Promise.resolve(),
      },
      open: async () => {},
      cut: () => {
        const count = this.outputs.length;
        this.cuts.push(count);
        const durable =
          count <= this.durableCount
            ? Promise.resolve()
            : new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
        return { record: encoder.encode(String(count)), durable };
      },
      close: async () => this.onClose?.(),
    };
  }
}

/** A store that counts manifest commits. */
function countingStore(): { store: CheckpointStore; commits: () => number } {
  const inner = createMemoryCheckpointStore();
  let commits = 0;
  const store: CheckpointStore = {
    get description() {
      return inner.description;
    },
    putPart: (name, bytes) => inner.putPart(name, bytes),
    getPart: (name) => inner.getPart(name),
    listParts: () => inner.listParts(),
    deletePart: (name) => inner.deletePart(name),
    readManifest: () => inner.readManifest(),
    readPreviousManifests: () => inner.readPreviousManifests(),
    commitManifest: async (bytes, expectedRevision) => {
      const revision = await inner.commitManifest(bytes, expectedRevision);
      commits++;
      return revision;
    },
    clear: () => inner.clear(),
    close: () => inner.close(),
  };
  return { store, commits: () => commits };
}

function start(
  name: string,
  sink: HeldSink,
  store: CheckpointStore,
  checkpointLogger: Logger = logger,
): { runtime: JobRuntime; input: string; events: RuntimeEvent[] } {
  const input = join(tmp.dir, `${name}.txt`);
  writeFileSync(input, '');
  const runtime = createJobRuntime({
    job: wordcount,
    ...jobTaskRunners(wordcount),
    source: (entry, deadLetter) =>
      fileSourceBinding(wordcount.source, { path: input, follow: true }, entry, deadLetter),
    sink: (_deadLetter, fail) => sink.binding(fail),
    deadLetters: (fail) => deadLetterFileBinding(join(tmp.dir, `${name}.dead.jsonl`), fail, logger),
    // A long interval: only the test's checkpoint() takes a cut.
    checkpoints: jobCheckpoints({
      store,
      jobId: name,
      logger: checkpointLogger,
      intervalMs: 3_600_000,
      onFatal: (error) => runtime.fail(error),
    }),
    logger,
    checkpointIntervalMs: 3_600_000,
  });
  const events: RuntimeEvent[] = [];
  runtime.events.subscribe((event) => events.push(event));
  return { runtime, input, events };
}

const lines = (from: number, count: number): string =>
  Array.from({ length: count }, (_, i) => `w${(from + i) % 7} v${(from + i) % 5}\n`).join('');

test('the cut does not wait for a congested sink, and the commit waits until the cut is durable', async () => {
  const sink = new HeldSink(10);
  const { store, commits } = countingStore();
  const { runtime, input, events } = start('congested', sink, store);
  const running = runtime.run();
  try {
    await waitUntil(() => runtime.state === 'running', 'running');
    // The lease taken at start is a manifest commit too.
    const leased = commits();
    appendFileSync(input, lines(0, 100));
    // The sink stops taking outputs at 10: most of the 200 wait in the mailboxes.
    await waitUntil(() => sink.outputs.length >= 10, 'the first outputs');
    const checkpointed = runtime.checkpoint();
    // The cut drains the mailboxes into the congested sink and records all 200 outputs.
    // (The first cut is the fresh start's baseline.)
    await waitUntil(() => sink.cuts.length === 2, 'the cut');
    assert.is(sink.cuts[1], 200);
    assert.is(sink.outputs.length, 200);
    // Not committed while the outputs are not durable.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.is(commits(), leased);
    assert.not.ok(events.some((e) => e.type === 'checkpoint'));
    sink.release();
    await checkpointed;
    assert.is(commits(), leased + 1);
    const checkpoint = events.find((e): e is Extract<RuntimeEvent, { type: 'checkpoint' }> => e.type === 'checkpoint');
    assert.is(checkpoint?.position, lines(0, 100).length - 1);
  } finally {
    sink.release();
    await runtime.stop();
  }
  await running;
});

test('intake resumes after the cut while the sink makes it durable; the commit records the cut, not what came later', async () => {
  const sink = new HeldSink(Number.MAX_SAFE_INTEGER);
  const { store, commits } = countingStore();
  const { runtime, input, events } = start('resumes', sink, store);
  const running = runtime.run();
  try {
    await waitUntil(() => runtime.state === 'running', 'running');
    const leased = commits();
    appendFileSync(input, lines(0, 50));
    await waitUntil(() => sink.outputs.length === 100, 'the outputs of the first 50 lines');
    const checkpointed = runtime.checkpoint();
    await waitUntil(() => sink.cuts.length === 2, 'the cut');
    // The cut is not durable yet, and new input is processed meanwhile.
    appendFileSync(input, lines(50, 50));
    await waitUntil(() => sink.outputs.length === 200, 'the outputs of the next 50 lines');
    assert.is(commits(), leased);
    sink.release();
    await checkpointed;
    assert.is(commits(), leased + 1);
    assert.equal(sink.cuts, [0, 100]);
    const checkpoint = events.find((e): e is Extract<RuntimeEvent, { type: 'checkpoint' }> => e.type === 'checkpoint');
    assert.is(checkpoint?.position, lines(0, 50).length - 1);
  } finally {
    sink.release();
    await runtime.stop();
  }
  await running;
});

test('a failed checkpoint is retried at the next trigger with its changes, and its warning says so', async () => {
  const sink = new HeldSink(Number.MAX_SAFE_INTEGER);
  const store = createMemoryCheckpointStore();
  const warnings: string[] = [];
  const { runtime, input, events } = start('retried', sink, store, {
    ...logger,
    warn: (message: string) => void warnings.push(message),
  });
  const running = runtime.run();
  try {
    await waitUntil(() => runtime.state === 'running', 'running');
    sink.release();
    appendFileSync(input, lines(0, 20));
    await waitUntil(() => sink.outputs.length === 40, 'the outputs of 20 lines');
    sink.release();
    store.faults.failNextCommit();
    await runtime.checkpoint().catch(() => {});
    await waitUntil(() => events.some((e) => e.type === 'checkpoint-failed'), 'the failed checkpoint');
    assert.equal(warnings, [
      `checkpoint failed, retried at the next trigger with its changes: checkpoint store ${store.description} failed to commit ` +
        "the manifest (injected fault); nothing is lost: free disk space or check the checkpoint store's connection",
    ]);
    // Nothing new since: the next checkpoint still holds the failed one's 12 keys (7 w's and 5 v's).
    await runtime.checkpoint();
    const written = events.find((e): e is Extract<RuntimeEvent, { type: 'checkpoint' }> => e.type === 'checkpoint');
    assert.is(written?.changedKeys, 12);
    assert.is(written?.position, lines(0, 20).length - 1);
  } finally {
    sink.release();
    await runtime.stop();
  }
  await running;
});

test('checkpoint() once a write error is failing the run is refused (LifecycleError, the failure as cause), never resolved without a commit', async () => {
  const sink = new HeldSink(Number.MAX_SAFE_INTEGER);
  const store = createMemoryCheckpointStore();
  const { runtime, input, events } = start('failing', sink, store);
  const running = outcomeOf(runtime.run(), 'run()');
  await waitUntil(() => runtime.state === 'running', 'running');
  appendFileSync(input, lines(0, 20));
  await waitUntil(() => sink.outputs.length === 40, 'the outputs of 20 lines');
  sink.release();
  const writeError = new Error('no space left on device');
  sink.failWrite(writeError);
  // The run is going down but has not reached 'failed' yet.
  assert.is(runtime.state, 'running');
  const refused = await runtime.checkpoint().then(
    () => 'checkpoint() resolved',
    (error: unknown) => error,
  );
  assert.instance(refused, LifecycleError, String(refused));
  assert.is((refused as LifecycleError).code, 'LIFECYCLE_ERROR');
  assert.is((refused as Error).cause, writeError);
  assert.is(await running, writeError);
  assert.is(runtime.state, 'failed');
  // Nothing was written (the run's manifest commits hold its lease only).
  assert.not.ok(events.some((e) => e.type === 'checkpoint'));
  assert.equal(await store.listParts(), []);
});

test('a failure reported while the run stops (here by the sink as it closes) fails the run: it does not resolve as stopped', async () => {
  const sink = new HeldSink(Number.MAX_SAFE_INTEGER);
  const closeError = new Error('the last flush failed');
  sink.onClose = () => sink.failWrite(closeError);
  const { runtime, input } = start('fails-closing', sink, createMemoryCheckpointStore());
  const running = outcomeOf(runtime.run(), 'run()');
  await waitUntil(() => runtime.state === 'running', 'running');
  appendFileSync(input, lines(0, 5));
  await waitUntil(() => sink.outputs.length === 10, 'the outputs of 5 lines');
  sink.release();
  await runtime.stop();
  assert.is(await running, closeError);
  assert.is(runtime.state, 'failed');
});

test.run();
