import type { IntervalWindow } from '../../coders/index.ts';
import type { WindowMerge } from './window-fn.ts';

/**
 * Beam's MergeOverlappingIntervalWindows.mergeWindows: windows sorted by start; each run of windows
 * that intersect the span of the run so far becomes one merge into that span. Windows that only
 * touch ([0, 10) and [10, 20)) do not merge. A run of one window is no merge.
 */
export function mergeOverlappingIntervalWindows(windows: readonly IntervalWindow[]): WindowMerge<IntervalWindow>[] {
  const sorted = [...windows].sort((a, b) => a.compareTo(b));
  const merges: WindowMerge<IntervalWindow>[] = [];
  let run: IntervalWindow[] = [];
  let union: IntervalWindow | undefined;
  const flush = (): void => {
    if (run.length > 1) merges.push({ toBeMerged: run, mergeResult: union! });
  };
  for (const window of sorted) {
    if (union !== undefined && union.intersects(window)) {
      run.push(window);
      union = union.span(window);
    } else {
      flush();
      run = [window];
      union = window;
    }
  }
  flush();
  return merges;
}
