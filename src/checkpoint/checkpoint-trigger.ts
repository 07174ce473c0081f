import type { Instant } from '../../coders/index.ts';
import { CheckpointConfigError } from './errors.ts';

/** Why a checkpoint is taken. */
export const CheckpointReason = {
  /** The watermark passed the next multiple of the event-time interval (Gearpump's rule). */
  WATERMARK: 'watermark',
  /** The maximum wall-clock spacing elapsed (the watermark stalled, or no event-time interval). */
  MAX_SPACING: 'max-spacing',
  /** Asked for explicitly. */
  ON_DEMAND: 'on-demand',
  /** Graceful stop: the last checkpoint before exit. */
  STOP: 'stop',
} as const;
export type CheckpointReason = (typeof CheckpointReason)[keyof typeof CheckpointReason];

/** Options of the checkpoint trigger. */
export interface CheckpointTriggerOptions {
  /**
   * Event-time interval: a checkpoint is due when the watermark reaches the next multiple of it.
   * Undefined: wall-clock spacing only (e.g. processing-time jobs).
   * @default 60000
   */
  readonly eventTimeIntervalMs?: number | undefined;
  /** Wall-clock floor: no watermark-triggered checkpoint sooner than this after the previous one. @default 1000 */
  readonly minSpacingMs?: number;
  /**
   * Wall-clock ceiling: a checkpoint is due this long after the previous one, whatever the watermark. @default 60000
   */
  readonly maxSpacingMs?: number;
  /** Wall clock (epoch millis), injected for tests. @default Date.now */
  readonly clock?: () => number;
}

/**
 * Decides when to checkpoint; decides nothing about what a checkpoint contains (that is always the
 * state exactly at the captured input positions). Pure apart from the injected clock.
 *
 * Rules, first match wins: stop requested; on demand; not before `minSpacingMs` since the previous
 * checkpoint; the watermark reached the next multiple of `eventTimeIntervalMs`; `maxSpacingMs`
 * elapsed. After a checkpoint at watermark W the next boundary is the first multiple above W, so a
 * watermark jumping over several boundaries triggers one checkpoint, not a burst.
 */
export class CheckpointTrigger {
  private readonly intervalMs: number | undefined;
  private readonly minSpacingMs: number;
  private readonly maxSpacingMs: number;
  private readonly clock: () => number;
  private lastAt: number;
  private nextBoundary: number | undefined;
  private onDemand = false;
  private stopping = false;

  /** @param initialWatermark the restored watermark, when resuming: the first boundary lies above it. */
  constructor(options: CheckpointTriggerOptions = {}, initialWatermark?: Instant) {
    const interval = 'eventTimeIntervalMs' in options ? options.eventTimeIntervalMs : 60_000;
    if (interval !== undefined && !(Number.isFinite(interval) && interval > 0)) {
      throw new CheckpointConfigError(
        `checkpoint eventTimeIntervalMs is ${interval}; it must be > 0 (or undefined for wall clock only)`,
      );
    }
    this.intervalMs = interval;
    this.minSpacingMs = options.minSpacingMs ?? 1000;
    this.maxSpacingMs = options.maxSpacingMs ?? 60_000;
    if (!(this.minSpacingMs >= 0) || !(this.maxSpacingMs > 0) || this.minSpacingMs > this.maxSpacingMs) {
      throw new CheckpointConfigError(
        `checkpoint spacing min ${this.minSpacingMs} ms / max ${this.maxSpacingMs} ms is invalid; need 0 <= min <= max and max > 0`,
      );
    }
    this.clock = options.clock ?? Date.now;
    this.lastAt = this.clock();
    if (initialWatermark !== undefined) this.nextBoundary = this.boundaryAbove(initialWatermark);
  }

  private boundaryAbove(watermark: Instant): number | undefined {
    if (this.intervalMs === undefined) return undefined;
    // Bigints are Beam's sentinels: before any input (no boundary yet), or the end of input
    // (every boundary passed: no more watermark-triggered checkpoints).
    if (typeof watermark === 'bigint') return watermark > 0n ? Infinity : undefined;
    if (!Number.isFinite(watermark)) return watermark > 0 ? Infinity : undefined;
    return (Math.floor(watermark / this.intervalMs) + 1) * this.intervalMs;
  }

  /** Whether a checkpoint is due at `watermark` now, and why. Does not change the trigger. */
  check(watermark: Instant): CheckpointReason | undefined {
    if (this.stopping) return CheckpointReason.STOP;
    if (this.onDemand) return CheckpointReason.ON_DEMAND;
    const since = this.clock() - this.lastAt;
    if (since < this.minSpacingMs) return undefined;
    // The first finite watermark seen sets the first boundary; it does not trigger by itself.
    const boundary = this.nextBoundary ?? (this.nextBoundary = this.boundaryAbove(watermark));
    if (boundary !== undefined && watermark >= boundary) return CheckpointReason.WATERMARK;
    if (since >= this.maxSpacingMs) return CheckpointReason.MAX_SPACING;
    return undefined;
  }

  /** Asks for a checkpoint at the next check, regardless of spacing. */
  request(): void {
    this.onDemand = true;
  }

  /** Graceful stop: every check from now on says STOP (the runtime checkpoints once more and exits). */
  requestStop(): void {
    this.stopping = true;
  }

  /** Records that a checkpoint was captured at `watermark` now. */
  checkpointed(watermark: Instant): void {
    this.lastAt = this.clock();
    this.onDemand = false;
    const boundary = this.boundaryAbove(watermark);
    if (boundary !== undefined) this.nextBoundary = boundary;
  }

  /** Milliseconds until `maxSpacingMs` makes a checkpoint due (for a runtime timer); 0 when due. */
  msUntilMaxSpacing(): number {
    return Math.max(0, this.lastAt + this.maxSpacingMs - this.clock());
  }
}
