// embedded.msgsPerSec: wordcount (a keyed count, parallelism 2) in embedded mode with checkpoints
// every second, vs a bare loop reading the same file and counting in a Map. The measuring code is
// bench/embedded.ts's (owned by the runtime; also runnable on its own), reused here under the suite's name.
import { embeddedMetric } from '../embedded.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';

export const embeddedMsgsPerSec: Metric = {
  name: 'embedded.msgsPerSec',
  description: embeddedMetric.description,
  goal: { field: 'value', op: '>=', target: 300_000 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    ctx.signal.throwIfAborted();
    const result = await embeddedMetric.run(ctx);
    return {
      ...result,
      ...(ctx.quick ? { note: `${result.note ?? ''} (quick: fewer messages and repetitions)` } : {}),
    };
  },
};
