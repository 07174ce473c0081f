import type { Instant } from './instant.ts';

/**
 * A window: a bounded slice of event time that elements and state belong to (Beam's BoundedWindow).
 * Windows are compared with `equals`, since two window objects may describe the same window.
 */
export interface BoundedWindow {
  /**
   * The largest timestamp that can be included in this window. State and timers of the window may be
   * dropped once the watermark passes it (plus allowed lateness).
   */
  maxTimestamp(): Instant;
  /** Whether `other` is the same window. */
  equals(other: unknown): boolean;
}

/**
 * Beam's bounds on event time, exactly: ±9223372036854775 ms (the int64 microsecond range in
 * milliseconds). They lie beyond ±2^53, so they are bigints (see Instant); comparing a number
 * with them using `<`/`>` works as expected.
 */
export const BoundedWindow = {
  /** The smallest representable timestamp: -9223372036854775 ms. Beam's "minus infinity". */
  TIMESTAMP_MIN_VALUE: -9223372036854775n as Instant,
  /** The largest representable timestamp: 9223372036854775 ms. Beam's "plus infinity". */
  TIMESTAMP_MAX_VALUE: 9223372036854775n as Instant,
} as const;
