import {
  IntervalWindow,
  IntervalWindowCoder,
  instantPlus,
  type BoundedWindow,
  type Coder,
  type Instant,
} from '../../coders/index.ts';
import { mergeOverlappingIntervalWindows } from './merge-overlapping-interval-windows.ts';
import type { WindowFn, WindowMerge } from './window-fn.ts';
import { checkDurationMs } from './window-time.ts';

/**
 * Beam's Sessions: each element starts a window [timestamp, timestamp + gap), and a key's windows
 * that overlap merge into one session, so a session ends after `gap` without an element.
 */
export class Sessions implements WindowFn<IntervalWindow> {
  private constructor(readonly gapDurationMs: number) {}

  /** @throws WindowingError unless the gap is a positive integer of milliseconds. */
  static withGapDuration(gapDurationMs: number): Sessions {
    return new Sessions(checkDurationMs(gapDurationMs, 'Sessions gap duration'));
  }

  assignWindows(timestamp: Instant): IntervalWindow[] {
    return [new IntervalWindow(timestamp, instantPlus(timestamp, this.gapDurationMs))];
  }

  isNonMerging(): boolean {
    return false;
  }

  mergeWindows(windows: readonly IntervalWindow[]): WindowMerge<IntervalWindow>[] {
    return mergeOverlappingIntervalWindows(windows);
  }

  windowCoder(): Coder<IntervalWindow> {
    return IntervalWindowCoder.of();
  }

  /** Any two Sessions are compatible (Beam: the gap does not matter once windows are merged). */
  isCompatible(other: WindowFn<BoundedWindow>): boolean {
    return other instanceof Sessions;
  }

  assignsToOneWindow(): boolean {
    return true;
  }

  equals(other: unknown): boolean {
    return other instanceof Sessions && other.gapDurationMs === this.gapDurationMs;
  }

  toString(): string {
    return `Sessions(gap=${this.gapDurationMs}ms)`;
  }
}
