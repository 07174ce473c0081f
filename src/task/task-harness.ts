import { BoundedWindow, type Coder, type Instant } from '../../coders/index.ts';
import { mergeKeyGroupParts } from '../state/index.ts';
import type { State } from '../state/state.ts';
import { StateNamespaces, type StateNamespace } from '../state/state-namespace.ts';
import type { StateTag } from '../state/state-tag.ts';
import type { JobFiles } from '../files/job-files.ts';
import { backendOf, createTaskRunner } from './create-task-runner.ts';
import type { StatefulTask } from './stateful-task.ts';
import type { TaskBackend } from './task-backend.ts';
import type { TaskOutput, TaskRunner } from './task-runner.ts';
import type { FiredTimer } from './timer.ts';

/** A key group's chain is merged into one part when it would reach this many parts. */
const COMPACT_AT_PARTS = 4;

/**
 * A task's state at one point, in memory: what a checkpoint holds for one partition (keyed state and
 * timers as each key group's chain of encoded parts, oldest first, plus the clocks).
 * Structurally a TaskRestore.
 */
export interface TaskSnapshot {
  readonly watermark: Instant;
  readonly processingTime: Instant;
  readonly keyGroups: ReadonlyMap<number, readonly Uint8Array[]>;
}

/** Options of a TaskHarness: the runner's options without the output receiver (the harness collects outputs). */
export interface TaskHarnessOptions<K> {
  readonly keyCoder: Coder<K>;
  /** Total key groups; default 128. */
  readonly maxKeyGroups?: number;
  /** Partition and parallelism the task sees in its context; default 0 of 1. */
  readonly partition?: number;
  readonly parallelism?: number;
  /** The window coder, when the task uses window namespaces (see TaskRunnerOptions.windowCoder). */
  readonly windowCoder?: Coder<BoundedWindow>;
  /** Processing time at the start; default 0. */
  readonly initialProcessingTime?: Instant;
  /** The file area the task sees as `ctx.files` (e.g. `openJobFiles({ job, stateDir })` from stator/runtime). */
  readonly files?: JobFiles;
}

/**
 * Runs one StatefulTask in memory for tests: feed keyed, timestamped messages, move the watermark
 * and processing time, then look at outputs, fired timers and any key's state; take a snapshot and
 * restore it into a fresh task instance, as the runtime does across a crash.
 *
 * ```ts
 * const h = TaskHarness.of(() => new WordCount(), { keyCoder: StringUtf8Coder.of() });
 * await h.open();
 * await h.process('apple', 'apple', 1_000);
 * await h.advanceWatermark(2_000);
 * h.outputValues();                              // what the task emitted
 * const h2 = await TaskHarness.restore(() => new WordCount(), h.snapshot(), { keyCoder: StringUtf8Coder.of() });
 * ```
 *
 * Every method that runs task code returns a promise, whether the task is synchronous or not.
 */
export class TaskHarness<In, Out, K> {
  private readonly collected: TaskOutput<Out, K>[] = [];
  private taken = 0;
  private readonly fired: FiredTimer<K>[] = [];
  private readonly runner: TaskRunner<In, Out, K>;
  private readonly backend: TaskBackend<K>;
  /** Each key group's chain of parts over all snapshots so far (a snapshot is base + increments). */
  private readonly chains: Map<number, Uint8Array[]>;
  private closed = false;

  private constructor(
    readonly task: StatefulTask<In, Out, K>,
    private readonly options: TaskHarnessOptions<K>,
    restored: TaskSnapshot | undefined,
  ) {
    this.runner = createTaskRunner(task, {
      ...options,
      output: (output) => {
        this.collected.push(output);
      },
      timerFired: (timer) => {
        this.fired.push(timer);
      },
    });
    this.backend = backendOf(this.runner);
    this.chains = new Map();
    if (restored !== undefined) {
      this.runner.restore(restored);
      for (const [group, chain] of restored.keyGroups) this.chains.set(group, [...chain]);
    }
  }

  /** A harness over a fresh task from `factory`; call `open()` before feeding it. */
  static of<In, Out, K>(
    factory: () => StatefulTask<In, Out, K>,
    options: TaskHarnessOptions<K>,
  ): TaskHarness<In, Out, K> {
    return new TaskHarness(factory(), options, undefined);
  }

  /**
   * A fresh task from `factory`, restored from `snapshot` and opened: the task resumes where the snapshot was taken.
   */
  static async restore<In, Out, K>(
    factory: () => StatefulTask<In, Out, K>,
    snapshot: TaskSnapshot,
    options: TaskHarnessOptions<K>,
  ): Promise<TaskHarness<In, Out, K>> {
    const harness = new TaskHarness(factory(), options, snapshot);
    await harness.open();
    return harness;
  }

  /** Restores nothing and calls the task's open(). */
  async open(): Promise<void> {
    await this.runner.open();
  }

  /** Feeds one message; its key is in scope during invoke. Default timestamp: 0. */
  async process(key: K, value: In, timestamp: Instant = 0): Promise<void> {
    await this.runner.processElement(key, value, timestamp);
  }

  /** Feeds messages in order. */
  async processAll(
    messages: Iterable<{ readonly key: K; readonly value: In; readonly timestamp?: Instant }>,
  ): Promise<void> {
    for (const m of messages) await this.runner.processElement(m.key, m.value, m.timestamp ?? 0);
  }

  /** Moves the input watermark (firing due event-time timers, then onWatermark); resolves to the output watermark. */
  async advanceWatermark(watermark: Instant): Promise<Instant> {
    return await this.runner.advanceWatermark(watermark);
  }

  /** Moves the watermark to the end of time, as at the end of bounded input: every event-time timer fires. */
  async advanceWatermarkToInfinity(): Promise<Instant> {
    return await this.runner.advanceWatermark(BoundedWindow.TIMESTAMP_MAX_VALUE);
  }

  /** Moves processing time, firing due processing-time timers. */
  async advanceProcessingTime(time: Instant): Promise<void> {
    await this.runner.advanceProcessingTime(time);
  }

  /** Everything emitted so far, in order. */
  get outputs(): readonly TaskOutput<Out, K>[] {
    return this.collected;
  }

  /** The values emitted so far, in order. */
  outputValues(): Out[] {
    return this.collected.map((o) => o.value);
  }

  /** The outputs emitted since the previous `takeOutputs()` (or since the start). */
  takeOutputs(): TaskOutput<Out, K>[] {
    const fresh = this.collected.slice(this.taken);
    this.taken = this.collected.length;
    return fresh;
  }

  /** Every timer fired so far, in firing order. */
  get firedTimers(): readonly FiredTimer<K>[] {
    return this.fired;
  }

  get inputWatermark(): Instant {
    return this.runner.inputWatermark;
  }

  get outputWatermark(): Instant {
    return this.runner.outputWatermark;
  }

  get processingTime(): Instant {
    return this.runner.processingTime;
  }

  /**
   * The state `tag` of `key` (in the global namespace, or `namespace`), whatever key the task last
   * saw: read it to check what the task stored, or write it to seed state before a test.
   */
  state<S extends State>(key: K, tag: StateTag<S>): S;
  state<S extends State>(key: K, namespace: StateNamespace, tag: StateTag<S>): S;
  state<S extends State>(key: K, a: StateNamespace | StateTag<S>, b?: StateTag<S>): S {
    const namespace = b === undefined ? StateNamespaces.global() : (a as StateNamespace);
    const tag = b === undefined ? (a as StateTag<S>) : b;
    return this.backend.stateInternalsForKey(key).state(namespace, tag);
  }

  /** Keys that hold any state or timer. */
  keys(): K[] {
    return [...this.backend.keys()];
  }

  /**
   * Captures what changed since the previous snapshot and returns the whole state so far, as the
   * runtime's checkpoints do (each key group's parts: a base, then increments). In memory: the
   * runtime writes the same parts to a checkpoint store.
   */
  snapshot(): TaskSnapshot {
    const capture = this.runner.capture();
    for (const group of capture.state.keyGroups) {
      const part = capture.state.encodeKeyGroup(group);
      const chain = this.chains.get(group);
      if (chain === undefined) this.chains.set(group, [part]);
      else if (chain.length + 1 < COMPACT_AT_PARTS) chain.push(part);
      // Compact as the checkpoint layer does for a full checkpoint: newest entry per key wins.
      else this.chains.set(group, [mergeKeyGroupParts([...chain, part])]);
    }
    const keyGroups = new Map<number, readonly Uint8Array[]>();
    for (const [group, chain] of this.chains) keyGroups.set(group, Object.freeze([...chain]));
    return Object.freeze({ watermark: capture.watermark, processingTime: capture.processingTime, keyGroups });
  }

  /** The options this harness was made with (to restore a snapshot with the same ones). */
  get harnessOptions(): TaskHarnessOptions<K> {
    return this.options;
  }

  /** Calls the task's close(); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.runner.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
