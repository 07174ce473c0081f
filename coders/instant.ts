import { CoderError } from './stator-error.ts';

/**
 * A point in event time: milliseconds since the Unix epoch, as Beam's Instant.
 *
 * The number/bigint rule (the same as VarLongCoder's): a time that is a safe integer
 * (|t| <= 2^53 - 1 ms, about ±285,000 years) is a `number`; only times beyond that are a `bigint`.
 * Ordinary event times are therefore plain numbers; bigints appear only for Beam's extreme sentinels
 * (BoundedWindow.TIMESTAMP_MIN_VALUE / TIMESTAMP_MAX_VALUE, GlobalWindow's max timestamp) and windows
 * near them. `<`, `<=`, `>` and `>=` compare numbers with bigints correctly; use `instantEquals`
 * rather than `===` when either side may be a bigint, and `instantPlus` for arithmetic.
 */
export type Instant = number | bigint;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** `t` in canonical form: a number when it is a safe integer, else a bigint. */
export function normalizeInstant(t: Instant): Instant {
  if (typeof t === 'number') return t;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : t;
}

/** `t + deltaMs`, exact and canonical; a result beyond a signed 64-bit range is a CoderError. */
export function instantPlus(t: Instant, deltaMs: Instant): Instant {
  if (typeof t === 'number' && typeof deltaMs === 'number') {
    const sum = t + deltaMs;
    if (Number.isSafeInteger(sum)) return sum;
  }
  const big = BigInt(t) + BigInt(deltaMs);
  if (big < INT64_MIN || big > INT64_MAX) {
    throw new CoderError(`instant ${t} + ${deltaMs} ms is outside the signed 64-bit millisecond range`);
  }
  return normalizeInstant(big);
}

/** `a - b` in milliseconds, exact and canonical. */
export function instantMinus(a: Instant, b: Instant): Instant {
  if (typeof a === 'number' && typeof b === 'number') {
    const diff = a - b;
    if (Number.isSafeInteger(diff)) return diff;
  }
  return instantPlus(a, -BigInt(b));
}

/** Whether two instants are the same millisecond, whichever of number/bigint each is. */
export function instantEquals(a: Instant, b: Instant): boolean {
  // Loose equality compares a number and a bigint by mathematical value, exactly what is wanted here.
  return a == b;
}

/** Checks that `t` is an integer millisecond: a safe-integer number or a bigint within int64. */
export function checkInstant(t: unknown, what: string): asserts t is Instant {
  if (typeof t === 'number') {
    if (!Number.isSafeInteger(t)) {
      throw new CoderError(
        `${what}: ${t} is not a safe integer of milliseconds; pass a bigint for times beyond ±2^53 ms`,
      );
    }
    return;
  }
  if (typeof t === 'bigint') {
    if (t < INT64_MIN || t > INT64_MAX) throw new CoderError(`${what}: ${t} does not fit in a signed 64-bit integer`);
    return;
  }
  throw new CoderError(`${what}: expected epoch milliseconds as a number or bigint, got ${typeof t}`);
}
