import {
  IntervalWindow,
  IntervalWindowCoder,
  instantPlus,
  type BoundedWindow,
  type Coder,
  type Instant,
} from '../../coders/index.ts';
import type { WindowFn, WindowMerge } from './window-fn.ts';
import { alignedStart } from './window-time.ts';
import { WindowingError } from './windowing-error.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Beam's SlidingWindows: windows of `size` starting every `period` (plus `offset`), so that an
 * element belongs to about size / period overlapping windows.
 */
export class SlidingWindows implements WindowFn<IntervalWindow> {
  private constructor(
    readonly periodMs: number,
    readonly sizeMs: number,
    readonly offsetMs: number,
  ) {}

  /**
   * Windows of `sizeMs`; the period defaults to the largest unit smaller than the size (an hour,
   * a minute, a second or a millisecond), as in Beam.
   */
  static of(sizeMs: number): SlidingWindows {
    return SlidingWindows.create(SlidingWindows.getDefaultPeriod(sizeMs), sizeMs, 0);
  }

  /** The same size, a window starting every `periodMs`. */
  every(periodMs: number): SlidingWindows {
    return SlidingWindows.create(periodMs, this.sizeMs, this.offsetMs);
  }

  /** Window starts `offsetMs` after the multiples of the period. @throws WindowingError unless 0 <= offset < period. */
  withOffset(offsetMs: number): SlidingWindows {
    return SlidingWindows.create(this.periodMs, this.sizeMs, offsetMs);
  }

  /** Beam's default period for a size. */
  static getDefaultPeriod(sizeMs: number): number {
    if (sizeMs > HOUR) return HOUR;
    if (sizeMs > MINUTE) return MINUTE;
    if (sizeMs > SECOND) return SECOND;
    return 1;
  }

  private static create(periodMs: number, sizeMs: number, offsetMs: number): SlidingWindows {
    const ints = [periodMs, sizeMs, offsetMs].every((n) => Number.isSafeInteger(n));
    if (!ints || offsetMs < 0 || offsetMs >= periodMs || sizeMs <= 0) {
      throw new WindowingError(
        `SlidingWindows WindowingStrategies must have 0 <= offset < period and 0 < size (got size ${sizeMs} ms, period ${periodMs} ms, offset ${offsetMs} ms)`,
      );
    }
    return new SlidingWindows(periodMs, sizeMs, offsetMs);
  }

  /** Every window [start, start + size) containing `timestamp`, latest start first (Beam's order). */
  assignWindows(timestamp: Instant): IntervalWindow[] {
    const windows: IntervalWindow[] = [];
    const lastStart = alignedStart(timestamp, this.periodMs, this.offsetMs);
    const after = instantPlus(timestamp, -this.sizeMs);
    for (let start = lastStart; start > after; start = instantPlus(start, -this.periodMs)) {
      windows.push(new IntervalWindow(start, instantPlus(start, this.sizeMs)));
    }
    return windows;
  }

  isNonMerging(): boolean {
    return true;
  }

  mergeWindows(_windows: readonly IntervalWindow[]): WindowMerge<IntervalWindow>[] {
    return [];
  }

  windowCoder(): Coder<IntervalWindow> {
    return IntervalWindowCoder.of();
  }

  isCompatible(other: WindowFn<BoundedWindow>): boolean {
    return this.equals(other);
  }

  assignsToOneWindow(): boolean {
    return this.periodMs >= this.sizeMs;
  }

  equals(other: unknown): boolean {
    return (
      other instanceof SlidingWindows &&
      other.periodMs === this.periodMs &&
      other.sizeMs === this.sizeMs &&
      other.offsetMs === this.offsetMs
    );
  }

  toString(): string {
    return `SlidingWindows(size=${this.sizeMs}ms, period=${this.periodMs}ms, offset=${this.offsetMs}ms)`;
  }
}
