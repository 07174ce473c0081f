// Inputs shared by metrics: deterministic, so ours and the baseline see exactly the same keys in the
// same order, and a run is repeatable.

/** A linear congruential generator (Numerical Recipes constants): fast, seedable, good enough to spread keys. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state;
  };
}

/** `count` distinct string keys `${prefix}${i}`. */
export function stringKeys(count: number, prefix = 'key-'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** A fixed pseudo-random visiting order over `keys` key indexes, `ops` long (uniform). */
export function keyOrder(keys: number, ops: number, seed = 12345): Uint32Array {
  const next = lcg(seed);
  const order = new Uint32Array(ops);
  for (let i = 0; i < ops; i++) order[i] = next() % keys;
  return order;
}

/**
 * Words with a Zipf-like skew, as in text: a few very common keys and a long tail (u³ over a
 * vocabulary of `vocabulary` words).
 */
export function skewedWords(count: number, vocabulary: number, seed = 42): string[] {
  const words = Array.from({ length: vocabulary }, (_, i) => `w${i.toString(36)}`);
  const next = lcg(seed);
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const u = next() / 2 ** 32;
    out[i] = words[Math.floor(vocabulary * u * u * u)]!;
  }
  return out;
}
