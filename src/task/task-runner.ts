// CONTRACT between the task layer (src/task, which implements it) and its two drivers: TaskHarness
// (tests, in memory) and the runtime's partition actors (runtime/). Signatures may grow, not change.
//
// Times are epoch milliseconds as coders' `Instant` (number | bigint): ordinary times are numbers;
// Beam's sentinels BoundedWindow.TIMESTAMP_MIN_VALUE / TIMESTAMP_MAX_VALUE (the initial and the final
// watermark) and GlobalWindow.MAX_TIMESTAMP lie beyond 2^53 and are bigints. `<`/`>` compare the two
// correctly. Drivers may pass plain numbers: a watermark at or below TIMESTAMP_MIN_VALUE (e.g.
// -Number.MAX_VALUE) counts as TIMESTAMP_MIN_VALUE, one at or above TIMESTAMP_MAX_VALUE (e.g.
// Number.MAX_VALUE, Infinity) as TIMESTAMP_MAX_VALUE: the end of input, which fires every event-time timer.
import type { BoundedWindow, Coder, Instant } from '../../coders/index.ts';
import type { CapturedChanges } from '../state/keyed-state-backend.ts';
import type { JobFiles } from '../files/job-files.ts';
import type { StateTierOptions } from '../state/heap-keyed-state-backend.ts';
import type { FiredTimer } from './timer.ts';
import type { State } from '../state/state.ts';
import type { StateInternals } from '../state/state-internals.ts';
import type { StateTag } from '../state/state-tag.ts';

/** One output a task emitted. */
export interface TaskOutput<Out, K> {
  /** The key it was emitted under: the current key, an explicit one, or undefined when unkeyed. */
  readonly key: K | undefined;
  readonly value: Out;
  /** Event time of the output (epoch millis). */
  readonly timestamp: Instant;
}

/**
 * Receives a task's outputs in emission order, synchronously when the turn (one callback) that
 * emitted them commits: a failed turn's outputs are never delivered.
 */
export type OutputReceiver<Out, K> = (output: TaskOutput<Out, K>) => void;

/**
 * What a partition needs to checkpoint besides keyed state: captured at the same instant as the
 * state changes, so state, timers and watermark describe one point in the input.
 */
export interface TaskCapture {
  readonly state: CapturedChanges;
  /** The input watermark (epoch millis) at capture. */
  readonly watermark: Instant;
  /** Processing time at capture, so processing-time timers resume relative to it. */
  readonly processingTime: Instant;
}

/** What a restore hands to a fresh runner, before `open()`. */
export interface TaskRestore {
  readonly watermark: Instant;
  readonly processingTime: Instant;
  /** Each key group's chain of parts, oldest first (see KeyedStateBackend.restoreKeyGroup). */
  readonly keyGroups: ReadonlyMap<number, readonly Uint8Array[]>;
}

/**
 * Runs one StatefulTask instance for one partition: one turn at a time. A driver calls `restore`
 * (optional) then `open`, then any sequence of `processElement` / `advanceWatermark` /
 * `advanceProcessingTime`, `capture` between turns, and finally `close`.
 *
 * Turns are synchronous when the task's method is; when it returns a promise the runner returns one
 * too and the driver must await it before the next call (the runner throws if a turn overlaps).
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- Out keeps the generics in StatefulTask's order
export interface TaskRunner<In, Out, K> {
  readonly keyCoder: Coder<K>;
  readonly maxKeyGroups: number;

  restore(snapshot: TaskRestore): void;
  open(): void | Promise<void>;

  /**
   * One message with its key in scope, stamped with its event time.
   *
   * When the task throws (or its promise rejects) the error propagates as a TaskCallbackError (the
   * task's error is its `cause`) and the runner stays usable: the driver may retry the same message
   * or skip it. The failed attempt leaves no trace: its state and timer changes are rolled back and
   * its outputs are dropped (outputs reach the receiver only when a turn commits; see
   * docs/beam-compat.md, "Failures and retries").
   */
  processElement(key: K, value: In, timestamp: Instant): void | Promise<void>;

  /**
   * Moves the input watermark forward: fires due event-time timers in timestamp order (due: set
   * strictly before the watermark, as in Beam: an element at exactly the watermark may still come;
   * a timer set while firing fires in the same call if due), then calls `onWatermark`.
   * @throws WatermarkRegressionError when `watermark` is behind the current input watermark.
   * Returns the output watermark: the input watermark held back by watermark holds and pending
   * timers' output timestamps.
   */
  advanceWatermark(watermark: Instant): Instant | Promise<Instant>;

  /**
   * Moves processing time forward and fires due processing-time timers (those set strictly before
   * `time`), in timestamp order. A time behind the current one is ignored (clocks may step back).
   */
  advanceProcessingTime(time: Instant): void | Promise<void>;

  /** The current input watermark and the output watermark (holds applied; never moves back). */
  readonly inputWatermark: Instant;
  readonly outputWatermark: Instant;
  /** The processing time as last advanced (or restored). */
  readonly processingTime: Instant;
  /** Keys holding state, an estimate read without materializing anything (see KeyedStateBackend.keyCount). */
  readonly keyCount: number;

  /** Captures state changes and clocks since the previous capture (O(keys changed)). */
  capture(): TaskCapture;

  // Access to keyed state from outside the task (the runtime's state API), between turns only. The
  // driver orders these calls with the turns, like messages: a read sees every turn before it.

  /** The state tags the task has bound so far (those obtained in open(), after open()), first of each id. */
  boundTags(): readonly StateTag<State>[];
  /**
   * Calls `read` with `key`'s state, without a turn; what `read` changes is not undone (read only).
   * @throws TaskLifecycleError during a turn, before open() or after close().
   */
  inspectKey<R>(key: K, read: (state: StateInternals<K>) => R): R;
  /**
   * Runs `change` as one turn over the state of the keys it asks for (`stateOf(key)`): committed when
   * it returns, rolled back (every change undone) when it throws, and the error is rethrown as it is.
   * The task is not called.
   * @throws TaskLifecycleError during a turn, before open() or after close().
   */
  changeState<R>(change: (stateOf: (key: K) => StateInternals<K>) => R): R;
  /**
   * `key`'s cells encoded (all namespaces; timers and holds excluded), undefined when it has none; equal state, equal
   * bytes.
   */
  encodeKeyCells(key: K): Uint8Array | undefined;
  /**
   * Under the disk backend, after the last checkpoint: writes the whole keyed state into the local
   * store, so it can be reused as a warm copy of that checkpoint's state. Returns false, writing
   * nothing, when the state changed since the last capture (or the backend is not tiered). Not
   * during a turn; allowed after close().
   */
  writeStateToLocalStore(): boolean;

  /**
   * Closes the task (its close() runs) and then aborts `ctx.signal`. Idempotent.
   */
  close(): void | Promise<void>;

  /**
   * Abandons the runner: aborts `ctx.signal` with a TaskAbandonedError naming `reason`, so a turn in
   * progress can give up its asynchronous work (the driver will not use its result). Idempotent.
   */
  abort(reason: string): void;
}

/** Options to create a runner; the factory is `createTaskRunner` in src/task. */
export interface TaskRunnerOptions<Out, K> {
  readonly keyCoder: Coder<K>;
  /** Total key groups; default 128. */
  readonly maxKeyGroups?: number;
  readonly partition?: number;
  readonly parallelism?: number;
  readonly output: OutputReceiver<Out, K>;
  /** Called as each timer fires, before `onTimer` (the TaskHarness records them; metrics may count them). */
  readonly timerFired?: (timer: FiredTimer<K>) => void;
  /**
   * The coder of the windows the task uses in StateNamespaces.window(...), if any: restored timers
   * then carry their window in `timer.namespace.window` (without it the namespace is 'unresolved').
   */
  readonly windowCoder?: Coder<BoundedWindow>;
  /** Processing time before the first `advanceProcessingTime` (and without a restore); default 0. */
  readonly initialProcessingTime?: Instant;
  /** The job's file area, as `ctx.files`; without it `ctx.files` throws TaskLifecycleError. */
  readonly files?: JobFiles;
  /**
   * Keeps keyed state in a bounded heap cache over a local store (the disk backend,
   * docs/state-backends.md); without it all keyed state is on the heap.
   */
  readonly stateTier?: StateTierOptions;
}
