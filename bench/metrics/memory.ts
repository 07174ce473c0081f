// memory.bytesPerKey: heap per ValueState<number> key next to a native Map's, measured in a child
// process with --expose-gc (bench/metrics/memory-probe.ts) for clean numbers. (Supersedes the live
// part of bench/state-memory.ts.)
import { fileURLToPath } from 'node:url';
import { runChildJson } from '../lib/child.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';

interface Probe {
  readonly keys: number;
  readonly nativeBytes: number;
  readonly liveBytes: number;
  readonly steadyBytes: number;
}

const probePath = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));

export const memoryBytesPerKey: Metric = {
  name: 'memory.bytesPerKey',
  description: 'heap bytes per ValueState<number> key (after a checkpoint capture) vs a native Map<string, number>',
  goal: { field: 'value', op: '<=', target: 90 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const keys = ctx.quick ? 200_000 : 1_000_000;
    const result = await runChildJson<Probe>(probePath, [String(keys)], ctx.signal);
    ctx.progress(1);
    return {
      value: result.steadyBytes,
      unit: 'B/key',
      baseline: result.nativeBytes,
      ratio: result.steadyBytes / result.nativeBytes,
      note:
        `${keys} keys in a child process (--expose-gc, gc before each reading), key strings shared and excluded${ctx.quick ? ' (quick: fewer keys)' : ''}; ` +
        `after a capture; ${result.liveBytes.toFixed(0)} B/key before it (every key changed since the last capture has its entry)`,
      details: { liveBytesPerKey: result.liveBytes },
    };
  },
};
