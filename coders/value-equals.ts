import { instantEquals } from './instant.ts';

/**
 * Equality for the parts of Beam's composite values (windowed values, timers): `Object.is`, then
 * `equals` when the left side has one, then content for byte arrays and arrays, and number/bigint
 * sameness for times.
 */
export function valueEquals(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint'))
    return instantEquals(a, b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const withEquals = a as { equals?: (o: unknown) => boolean };
  if (typeof withEquals.equals === 'function') return withEquals.equals(b);
  if (a instanceof Uint8Array) return b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => valueEquals(x, b[i]));
  return false;
}
