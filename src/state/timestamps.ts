import { normalizeInstant, type Instant } from '../../coders/index.ts';
import { StateError } from './state-errors.ts';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Checks a state or timer timestamp (integer epoch millis, see coders' Instant) and returns it canonical. */
export function checkTimestamp(t: unknown, what: string): Instant {
  if (typeof t === 'number' && Number.isSafeInteger(t)) return t;
  if (typeof t === 'bigint' && t >= INT64_MIN && t <= INT64_MAX) return normalizeInstant(t);
  throw new StateError(
    `${what}: timestamp ${String(t)} is not an integer of epoch milliseconds (a safe-integer number or an int64 bigint)`,
  );
}
