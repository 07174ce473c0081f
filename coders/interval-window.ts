import type { BoundedWindow } from './bounded-window.ts';
import { checkInstant, instantEquals, instantMinus, instantPlus, normalizeInstant, type Instant } from './instant.ts';
import { CoderError } from './stator-error.ts';

/**
 * A window over the half-open interval [start, end) of event time (Beam's IntervalWindow), as made
 * by fixed, sliding and session windowing. Times are epoch milliseconds (see Instant).
 */
export class IntervalWindow implements BoundedWindow {
  /** Inclusive start. */
  readonly start: Instant;
  /** Exclusive end. */
  readonly end: Instant;

  /** @throws CoderError when a bound is not an integer millisecond or `end < start`. */
  constructor(start: Instant, end: Instant) {
    checkInstant(start, 'IntervalWindow start');
    checkInstant(end, 'IntervalWindow end');
    if (end < start) throw new CoderError(`IntervalWindow: end ${end} is before start ${start}; pass (start, end) with start <= end`);
    this.start = normalizeInstant(start);
    this.end = normalizeInstant(end);
  }

  /** end - 1 ms: the last millisecond inside the window. */
  maxTimestamp(): Instant {
    return instantPlus(this.end, -1);
  }

  /** Whether `timestamp` lies in [start, end). */
  contains(timestamp: Instant): boolean {
    return timestamp >= this.start && timestamp < this.end;
  }

  /** Whether the two windows share at least one millisecond. */
  intersects(other: IntervalWindow): boolean {
    return this.start < other.end && other.start < this.end;
  }

  /** The smallest window containing both. */
  span(other: IntervalWindow): IntervalWindow {
    const start = this.start < other.start ? this.start : other.start;
    const end = this.end > other.end ? this.end : other.end;
    return new IntervalWindow(start, end);
  }

  /** end - start, in milliseconds. */
  durationMs(): Instant {
    return instantMinus(this.end, this.start);
  }

  equals(other: unknown): boolean {
    return other instanceof IntervalWindow && instantEquals(this.start, other.start) && instantEquals(this.end, other.end);
  }

  toString(): string {
    return `[${this.start}..${this.end})`;
  }
}
