import type { Coder, Instant } from '../../coders/index.ts';
import type { StateNamespace } from '../state/state-namespace.ts';
import type { TimeDomain } from '../state/time-domain.ts';
import type { StateInternals } from '../state/state-internals.ts';
import type { JobFiles } from '../files/job-files.ts';

/**
 * What every task callback can see (Gearpump's RuntimeContext). One context object serves the whole
 * life of a runner; the getters describe the turn in progress.
 */
export interface TaskContext {
  /** This runner's partition (0-based) and the stage's parallelism. */
  readonly partition: number;
  readonly parallelism: number;
  /** The input watermark: the runner has seen every input at or before it. */
  readonly inputWatermark: Instant;
  /** Processing time as the driver last advanced it (not Date.now(): replays see the same value). */
  readonly processingTime: Instant;
  /**
   * For asynchronous task code (`fetch(url, { signal: ctx.signal })`): aborted, with a
   * TaskAbandonedError as its reason, when the runner is abandoned — the job failed, or stopped
   * without draining, or the runner closed — so a turn in progress can give up its work. A graceful
   * stop drains: turns under way complete and the signal stays unaborted until the runner closes.
   */
  readonly signal: AbortSignal;
  /**
   * Gearpump's getStateInternals: the state of one explicit key, whatever key is in scope. Handles
   * from `stateInternals.state(namespace, tag)` always act on `key`.
   * @param keyCoder must describe the same coder as the runner's key coder (checked by its toString()).
   * @throws TaskLifecycleError when the key coder differs from the runner's.
   */
  getStateInternals<KT>(keyCoder: Coder<KT>, key: KT): StateInternals<KT>;
  /**
   * The job's durable file area (see JobFiles and docs/files.md), from open() on: shared by every
   * worker of the job, not part of checkpoints.
   * @throws TaskLifecycleError when the runner was given no file area (a TaskHarness without `files`).
   */
  readonly files: JobFiles;
}

/** Producing outputs (Beam's OutputReceiver); available in invoke, onTimer and onWatermark. */
export interface OutputContext<Out, K> extends TaskContext {
  /**
   * Outputs `value` under the key in scope (unkeyed in onWatermark) with the default timestamp: the
   * element's timestamp in invoke, the timer's output timestamp in onTimer, the watermark in
   * onWatermark. Outputs reach downstream only when the turn commits.
   */
  output(value: Out): void;
  /** Outputs `value` under an explicit key, with the default timestamp. */
  output(key: K, value: Out): void;
  /**
   * Outputs `value` with an explicit timestamp (Beam's outputWithTimestamp). The timestamp must not be
   * earlier than the element's (or timer's output) timestamp minus the task's
   * `allowedTimestampSkewMs`, and in onWatermark not behind the output watermark already published.
   * @throws OutputTimestampError otherwise (the output would be silently late downstream).
   */
  outputWithTimestamp(value: Out, timestamp: Instant): void;
  outputWithTimestamp(key: K, value: Out, timestamp: Instant): void;
  /** @deprecated The same as `output`: use `output`, Beam's name. */
  emit(value: Out): void;
  /** @deprecated The same as `output(key, value)`: use `output`, Beam's name. */
  emit(key: K, value: Out): void;
  /** @deprecated The same as `outputWithTimestamp`: use `outputWithTimestamp`, Beam's name. */
  emitWithTimestamp(value: Out, timestamp: Instant): void;
  /** @deprecated The same as `outputWithTimestamp(key, value, timestamp)`: use `outputWithTimestamp`. */
  emitWithTimestamp(key: K, value: Out, timestamp: Instant): void;
}

/** The context of `invoke`: one message, its key in scope. */
export interface ProcessContext<Out, K> extends OutputContext<Out, K> {
  /** The key of the message (the key state handles and timers act on). */
  readonly key: K;
  /** The message's event time. */
  readonly timestamp: Instant;
}

/** The context of `onTimer`: the fired timer's key in scope (Beam's OnTimerContext). */
export interface TimerContext<Out, K> extends OutputContext<Out, K> {
  readonly key: K;
  /** The timer's output timestamp: the default timestamp of outputs (Beam's timestamp()). */
  readonly timestamp: Instant;
  /** When the timer was set to fire (Beam's fireTimestamp()). */
  readonly fireTimestamp: Instant;
  readonly timeDomain: TimeDomain;
  readonly timerId: string;
  readonly namespace: StateNamespace;
}

/** The context of `onWatermark`: no key in scope; emit with an explicit key or unkeyed. */
export interface WatermarkContext<Out, K> extends OutputContext<Out, K> {
  readonly watermark: Instant;
}
