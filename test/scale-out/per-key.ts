// The scale-out tests' verdict: the same outputs as the reference run, each once, and per key in the
// same order (the order across keys depends on how units interleave their publishes).
import * as assert from 'uvu/assert';

/**
 * With `anyOrder`, each key's outputs are compared as sorted lists: publishes retried across a server
 * crash may be stored after later ones (docs/jetstream.md, "Output order"), exactly once still.
 */
export function assertSamePerKey(
  actual: readonly string[],
  reference: readonly string[],
  keyOf: (line: string) => string,
  context = '',
  anyOrder = false,
): void {
  const group = (lines: readonly string[]): Map<string, string[]> => {
    const map = new Map<string, string[]>();
    for (const line of lines) {
      const key = keyOf(line);
      const list = map.get(key);
      if (list === undefined) map.set(key, [line]);
      else list.push(line);
    }
    return map;
  };
  const got = group(actual);
  const want = group(reference);
  for (const [key, lines] of want) {
    const seen = got.get(key) ?? [];
    if (anyOrder) {
      seen.sort();
      lines.sort();
    }
    assert.equal(
      seen,
      lines,
      `key ${key}: outputs differ from the reference run${context === '' ? '' : ` (${context.slice(-2000)})`}`,
    );
  }
  assert.is(got.size, want.size, 'outputs for keys the reference run has none for');
  assert.is(actual.length, reference.length, `${actual.length} outputs for ${reference.length} expected`);
}
