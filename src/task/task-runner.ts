// CONTRACT between the task layer (src/task, which implements it) and its two drivers: TaskHarness
// (tests, in memory) and the runtime's partition actors (runtime/). Signatures may grow, not change.
import type { Coder } from '../../coders/index.ts';
import type { CapturedChanges } from '../state/keyed-state-backend.ts';

/** One output a task emitted. */
export interface TaskOutput<Out, K> {
  /** The key it was emitted under: the current key, an explicit one, or undefined when unkeyed. */
  readonly key: K | undefined;
  readonly value: Out;
  /** Event time of the output (epoch millis). */
  readonly timestamp: number;
}

/** Receives outputs synchronously as the task emits them, in emission order. */
export type OutputReceiver<Out, K> = (output: TaskOutput<Out, K>) => void;

/**
 * What a partition needs to checkpoint besides keyed state: captured at the same instant as the
 * state changes, so state, timers and watermark describe one point in the input.
 */
export interface TaskCapture {
  readonly state: CapturedChanges;
  /** The input watermark (epoch millis) at capture. */
  readonly watermark: number;
  /** Processing time at capture, so processing-time timers resume relative to it. */
  readonly processingTime: number;
}

/** What a restore hands to a fresh runner, before `open()`. */
export interface TaskRestore {
  readonly watermark: number;
  readonly processingTime: number;
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
export interface TaskRunner<In, Out, K> {
  readonly keyCoder: Coder<K>;
  readonly maxKeyGroups: number;

  restore(snapshot: TaskRestore): void;
  open(): void | Promise<void>;

  /** One message with its key in scope, stamped with its event time. */
  processElement(key: K, value: In, timestamp: number): void | Promise<void>;

  /**
   * Moves the input watermark forward (never back): fires due event-time timers in timestamp order
   * (a timer set while firing fires in the same call if due), then calls `onWatermark`.
   * Returns the output watermark: the input watermark held back by watermark holds and pending
   * timers' output timestamps.
   */
  advanceWatermark(watermark: number): number | Promise<number>;

  /** Moves processing time forward and fires due processing-time timers. */
  advanceProcessingTime(time: number): void | Promise<void>;

  /** The current input watermark and the output watermark (holds applied). */
  readonly inputWatermark: number;
  readonly outputWatermark: number;

  /** Captures state changes and clocks since the previous capture (O(keys changed)). */
  capture(): TaskCapture;

  close(): void | Promise<void>;
}

/** Options to create a runner; the factory is `createTaskRunner` in src/task. */
export interface TaskRunnerOptions<Out, K> {
  readonly keyCoder: Coder<K>;
  /** Total key groups; default 128. */
  readonly maxKeyGroups?: number;
  readonly partition?: number;
  readonly parallelism?: number;
  readonly output: OutputReceiver<Out, K>;
}
