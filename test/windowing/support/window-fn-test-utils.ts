import type { BoundedWindow, Instant } from '../../../coders/index.ts';
import type { WindowFn } from '../../../src/windowing/index.ts';

/**
 * Beam's WindowFnTestUtils.runWindowFn: assigns each timestamp to its windows and, for a merging
 * WindowFn, merges the windows seen so far after each element (as a runner merges a key's active
 * windows). The result maps each final window (by toString) to the timestamps in it, as strings in
 * ascending order, like Beam's `set(...)`.
 */
export function runWindowFn<W extends BoundedWindow>(
  windowFn: WindowFn<W>,
  timestamps: readonly Instant[],
): Map<string, string[]> {
  const windows = new Map<string, { window: W; elements: Set<string> }>();
  for (const ts of timestamps) {
    for (const window of windowFn.assignWindows(ts)) {
      const key = window.toString();
      const entry = windows.get(key) ?? { window, elements: new Set<string>() };
      entry.elements.add(String(ts));
      windows.set(key, entry);
    }
    if (!windowFn.isNonMerging()) {
      for (const merge of windowFn.mergeWindows([...windows.values()].map((e) => e.window))) {
        const merged = new Set<string>();
        for (const w of merge.toBeMerged) {
          for (const e of windows.get(w.toString())!.elements) merged.add(e);
          windows.delete(w.toString());
        }
        windows.set(merge.mergeResult.toString(), { window: merge.mergeResult, elements: merged });
      }
    }
  }
  return new Map([...windows].map(([k, v]) => [k, [...v.elements].sort((a, b) => Number(a) - Number(b))]));
}

/** Beam's `set(1, 2, 5)`: the timestamps as sorted strings. */
export const set = (...timestamps: number[]): string[] => timestamps.map(String).sort((a, b) => Number(a) - Number(b));

/** The expected map of runWindowFn, from [start, end, elements] triples. */
export function expected(...entries: Array<[start: Instant, end: Instant, elements: string[]]>): Map<string, string[]> {
  return new Map(entries.map(([s, e, elements]) => [`[${s}..${e})`, elements]));
}

/** Maps compared regardless of insertion order. */
export function sorted(map: Map<string, string[]>): Array<[string, string[]]> {
  return [...map].sort(([a], [b]) => a.localeCompare(b));
}
