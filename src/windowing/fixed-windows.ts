import {
  IntervalWindow,
  IntervalWindowCoder,
  instantPlus,
  normalizeInstant,
  type BoundedWindow,
  type Coder,
  type Instant,
} from '../../coders/index.ts';
import type { WindowFn, WindowMerge } from './window-fn.ts';
import { END_OF_GLOBAL_WINDOW, alignedStart, checkDurationMs } from './window-time.ts';
import { WindowingError } from './windowing-error.ts';

/**
 * Beam's FixedWindows: the half-open intervals [N * size + offset, (N + 1) * size + offset). The last
 * window before the end of the global window is cut short there, as in Beam, so that its max
 * timestamp is the global window's.
 */
export class FixedWindows implements WindowFn<IntervalWindow> {
  private constructor(
    /** Window size in milliseconds. */
    readonly sizeMs: number,
    /** Offset of the window starts from the epoch, in [0, size). */
    readonly offsetMs: number,
  ) {}

  /** Windows of `sizeMs` starting at multiples of it. @throws WindowingError unless sizeMs > 0. */
  static of(sizeMs: number): FixedWindows {
    return FixedWindows.create(sizeMs, 0);
  }

  /**
   * The same size, windows starting `offsetMs` after the multiples. @throws WindowingError unless 0 <= offset < size.
   */
  withOffset(offsetMs: number): FixedWindows {
    return FixedWindows.create(this.sizeMs, offsetMs);
  }

  private static create(sizeMs: number, offsetMs: number): FixedWindows {
    const valid = Number.isSafeInteger(sizeMs) && Number.isSafeInteger(offsetMs) && offsetMs >= 0 && offsetMs < sizeMs;
    if (!valid)
      throw new WindowingError(
        `FixedWindows WindowingStrategies must have 0 <= offset < size (got size ${sizeMs} ms, offset ${offsetMs} ms)`,
      );
    return new FixedWindows(checkDurationMs(sizeMs, 'FixedWindows size'), offsetMs);
  }

  /** The one window containing `timestamp` (Beam's assignWindow). */
  assignWindow(timestamp: Instant): IntervalWindow {
    const start = alignedStart(timestamp, this.sizeMs, this.offsetMs);
    const end =
      BigInt(start) > END_OF_GLOBAL_WINDOW - BigInt(this.sizeMs)
        ? normalizeInstant(END_OF_GLOBAL_WINDOW)
        : instantPlus(start, this.sizeMs);
    return new IntervalWindow(start, end);
  }

  assignWindows(timestamp: Instant): IntervalWindow[] {
    return [this.assignWindow(timestamp)];
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
    return true;
  }

  equals(other: unknown): boolean {
    return other instanceof FixedWindows && other.sizeMs === this.sizeMs && other.offsetMs === this.offsetMs;
  }

  toString(): string {
    return `FixedWindows(size=${this.sizeMs}ms, offset=${this.offsetMs}ms)`;
  }
}
