import { GlobalWindow, IntervalWindow, TimestampedValue } from '../../../coders/index.ts';

/**
 * A comparable, JSON-like picture of a decoded value that keeps every distinction a coder must keep:
 * number vs bigint, -0 vs 0, NaN, bytes by content, Set/Map in order, windows and timestamped values.
 * Two values round-trip correctly exactly when their pictures are deeply equal.
 */
export function canonical(value: unknown): unknown {
  if (typeof value === 'number') return Object.is(value, -0) ? 'n:-0' : `n:${value}`;
  if (typeof value === 'bigint') return `b:${value}`;
  if (value === undefined) return 'undefined';
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('hex'), type: value.constructor.name };
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Set) return { set: [...value].map(canonical) };
  if (value instanceof Map) return { map: [...value].map(([k, v]) => [canonical(k), canonical(v)]) };
  if (value instanceof GlobalWindow) return 'GlobalWindow';
  if (value instanceof IntervalWindow) return { window: [canonical(value.start), canonical(value.end)] };
  if (value instanceof TimestampedValue) return { timestamped: [canonical(value.value), canonical(value.timestamp)] };
  if (value instanceof Date) return { date: value.getTime() };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = canonical(v);
  return out;
}

/** An int64 the way the number/bigint rule decodes it. */
export function canonicalInt64(v: number | bigint): number | bigint {
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  return v === 0 ? 0 : v;
}
