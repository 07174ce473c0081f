import type { BoundedWindow } from './bounded-window.ts';
import { checkInstant, instantEquals, instantMinus, instantPlus, normalizeInstant, type Instant } from './instant.ts';

/**
 * A window over the half-open interval [start, end) of event time (Beam's IntervalWindow), as made
 * by fixed, sliding and session windowing. Times are epoch milliseconds (see Instant).
 *
 * As in Beam Java and Python, any two instants make a window, even one whose end is before its
 * start: such a window contains no timestamp, and IntervalWindowCoder writes its negative span as
 * a 10-byte varint and reads it back.
 */
export class IntervalWindow implements BoundedWindow {
  /** Inclusive start. */
  readonly start: Instant;
  /** Exclusive end. */
  readonly end: Instant;

  /** @throws CoderError when a bound is not an integer millisecond within int64. */
  constructor(start: Instant, end: Instant) {
    checkInstant(start, 'IntervalWindow start');
    checkInstant(end, 'IntervalWindow end');
    this.start = normalizeInstant(start);
    this.end = normalizeInstant(end);
  }

  /** end - 1 ms: the last millisecond inside the window. */
  maxTimestamp(): Instant {
    return instantPlus(this.end, -1);
  }

  /**
   * Whether `timestamp` lies in [start, end), or, given a window, whether that window lies inside
   * this one (Beam's `contains(IntervalWindow)`: start <= other.start and other.end <= end).
   */
  contains(timestampOrWindow: Instant | IntervalWindow): boolean {
    if (timestampOrWindow instanceof IntervalWindow) {
      return this.start <= timestampOrWindow.start && this.end >= timestampOrWindow.end;
    }
    return timestampOrWindow >= this.start && timestampOrWindow < this.end;
  }

  /** Beam's isDisjoint: the two windows share no millisecond (end <= other.start or other.end <= start). */
  isDisjoint(other: IntervalWindow): boolean {
    return this.end <= other.start || other.end <= this.start;
  }

  /** Whether the two windows share at least one millisecond (Beam: `!isDisjoint(other)`). */
  intersects(other: IntervalWindow): boolean {
    return !this.isDisjoint(other);
  }

  /** Beam's compareTo: by start, then by end. */
  compareTo(other: IntervalWindow): number {
    if (instantEquals(this.start, other.start))
      return instantEquals(this.end, other.end) ? 0 : this.end < other.end ? -1 : 1;
    return this.start < other.start ? -1 : 1;
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
    return (
      other instanceof IntervalWindow && instantEquals(this.start, other.start) && instantEquals(this.end, other.end)
    );
  }

  toString(): string {
    return `[${this.start}..${this.end})`;
  }
}
