import { GlobalWindow, normalizeInstant, type Instant } from '../../coders/index.ts';
import { WindowingError } from './windowing-error.ts';

/** The exclusive end of the global window: no interval window may end after it (Beam truncates there). */
export const END_OF_GLOBAL_WINDOW: bigint = BigInt(GlobalWindow.MAX_TIMESTAMP) + 1n;

/** Checks a duration in milliseconds: a safe integer, positive unless `allowZero`. */
export function checkDurationMs(value: unknown, what: string, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new WindowingError(
      `${what} must be a ${allowZero ? 'non-negative' : 'positive'} integer of milliseconds, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * The start of the period-aligned interval containing `t`: t - ((t - offset) mod period), with the
 * floor remainder (Beam writes Java's `%`, which is negative before the epoch and then gives a
 * window that does not contain t; see docs/windowing.md).
 */
export function alignedStart(t: Instant, periodMs: number, offsetMs: number): Instant {
  if (typeof t === 'number') {
    const r = (t - offsetMs) % periodMs;
    const start = t - (r < 0 ? r + periodMs : r);
    if (Number.isSafeInteger(start) && Number.isSafeInteger(t - offsetMs)) return start;
  }
  const big = BigInt(t);
  const p = BigInt(periodMs);
  let r = (big - BigInt(offsetMs)) % p;
  if (r < 0n) r += p;
  return normalizeInstant(big - r);
}
