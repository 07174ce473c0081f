import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { median, percentile, interleave, interleaveMs, interleaveWithReference } from '../../bench/lib/measure.ts';
import { MetricTimeoutError, runMetric } from '../../bench/lib/run-metric.ts';
import { keyOrder, skewedWords, stringKeys } from '../../bench/lib/workload.ts';
import type { Metric } from '../../bench/lib/types.ts';
import { summarizeProfile } from '../../bench/lib/profile-summary.ts';
import { goalScore } from '../../bench/lib/types.ts';
import { renderChart } from '../../bench/lib/chart.ts';

test('median of odd and even samples', () => {
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('percentile uses the nearest rank', () => {
  const samples = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.is(percentile(samples, 0.99), 99);
  assert.is(percentile(samples, 1), 100);
  assert.is(percentile([5], 0.5), 5);
});

test('goal score is >= 1 exactly when the goal is met, in both directions', () => {
  const result = { value: 10, unit: 'ms', baseline: 5, ratio: 2 };
  assert.ok(goalScore({ field: 'ratio', op: '>=', target: 0.5 }, result) >= 1);
  assert.ok(goalScore({ field: 'ratio', op: '>=', target: 3 }, result) < 1);
  assert.ok(goalScore({ field: 'value', op: '<=', target: 20 }, result) >= 1);
  assert.ok(goalScore({ field: 'value', op: '<=', target: 5 }, result) < 1);
});

test('interleave runs both sides the same number of times after warm-up', async () => {
  let ours = 0;
  let baseline = 0;
  const result = await interleave(
    {
      run: () => {
        ours++;
        return 1000;
      },
    },
    {
      run: () => {
        baseline++;
        return 1000;
      },
    },
    { repetitions: 5, warmup: 2 },
  );
  assert.is(ours, 7);
  assert.is(baseline, 7);
  assert.is(result.repetitions, 5);
  assert.ok(result.ours > 0 && result.baseline > 0);
});

test('chart marks met and unmet goals and failed metrics', () => {
  const svg = renderChart(
    [
      {
        name: 'a.met',
        goal: { field: 'ratio', op: '>=', target: 0.5 },
        result: { value: 1, unit: 'x', baseline: 1, ratio: 0.8 },
      },
      {
        name: 'b.unmet',
        goal: { field: 'value', op: '<=', target: 20 },
        result: { value: 40, unit: 'ms', baseline: 1, ratio: 40 },
      },
      { name: 'c.failed', goal: undefined, result: undefined, error: 'boom' },
    ],
    'title',
  );
  assert.ok(svg.startsWith('<svg'));
  assert.match(svg, /met: ratio &gt;= 0.5/);
  assert.match(svg, /NOT met: value &lt;= 20/);
  assert.match(svg, /boom/);
});

test('interleave alternates which side goes first and reports paired ratios', async () => {
  const calls: string[] = [];
  const result = await interleave(
    {
      run: () => {
        calls.push('ours');
        return 1;
      },
    },
    {
      run: () => {
        calls.push('base');
        return 1;
      },
    },
    { repetitions: 4, warmup: 0 },
  );
  assert.equal(calls, ['base', 'ours', 'ours', 'base', 'base', 'ours', 'ours', 'base']);
  assert.is(result.oursSamples.length, 4);
  assert.is(result.baselineSamples.length, 4);
  assert.ok(Number.isFinite(result.pairedRatio) && result.pairedRatio > 0);
});

test('interleaveWithReference runs the reference right after ours, warm-up included, and counts it after', async () => {
  const calls: string[] = [];
  const side = (name: string) => ({
    run: () => {
      calls.push(name);
      return 1;
    },
  });
  const result = await interleaveWithReference(side('ours'), side('base'), side('ref'), {
    repetitions: 2,
    warmup: 1,
  });
  assert.equal(calls, ['base', 'ours', 'ref', 'base', 'ours', 'ref', 'ours', 'ref', 'base']);
  assert.is(result.referenceSamples.length, 2);
  assert.is(result.oursSamples.length, 2);
  assert.ok(Number.isFinite(result.pairedToReference) && result.pairedToReference > 0);
  assert.ok(Number.isFinite(result.reference) && result.reference > 0);
});

test('interleaveMs takes medians of the durations each side reports', async () => {
  const ours = [5, 1, 3];
  const base = [2, 4, 6];
  const result = await interleaveMs(
    { run: () => ours.shift()! },
    { run: () => base.shift()! },
    { repetitions: 3, warmup: 0 },
  );
  assert.is(result.ours, 3);
  assert.is(result.baseline, 4);
  assert.is(result.ratio, 0.75);
});

test('interleave stops between repetitions once its signal aborts', async () => {
  const controller = new AbortController();
  let runs = 0;
  const side = {
    run: () => {
      if (++runs === 3) controller.abort(new Error('stop'));
      return 1;
    },
  };
  await interleave(side, side, { repetitions: 10, warmup: 0, signal: controller.signal }).then(
    () => assert.unreachable('should have thrown'),
    (error: unknown) => assert.is((error as Error).message, 'stop'),
  );
  assert.ok(runs <= 4);
});

test('workloads are deterministic and stay in range', () => {
  assert.equal(keyOrder(100, 50), keyOrder(100, 50));
  assert.ok(keyOrder(100, 1000).every((k) => k < 100));
  assert.equal(stringKeys(3, 'k'), ['k0', 'k1', 'k2']);
  const words = skewedWords(10_000, 1000);
  assert.equal(words, skewedWords(10_000, 1000));
  // Skewed: the most common word is far more frequent than uniform (10 per word) would give.
  const counts = new Map<string, number>();
  for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  assert.ok(Math.max(...counts.values()) > 100);
});

const limits = { quick: true, timeLimitMs: 50, cleanupGraceMs: 1000, progress: () => {} };

test('runMetric returns a metric result and rethrows a metric failure', async () => {
  const ok: Metric = {
    name: 'ok',
    description: '',
    run: async () => ({ value: 1, unit: 'x', baseline: 2, ratio: 0.5 }),
  };
  assert.is((await runMetric(ok, limits)).ratio, 0.5);
  const failing: Metric = {
    name: 'bad',
    description: '',
    run: async () => {
      throw new Error('broken');
    },
  };
  await runMetric(failing, limits).then(
    () => assert.unreachable('should have thrown'),
    (error: unknown) => assert.is((error as Error).message, 'broken'),
  );
});

test('runMetric aborts an overrunning metric and waits for its cleanup before failing', async () => {
  let cleanedUp = false;
  const slow: Metric = {
    name: 'slow',
    description: '',
    run: (ctx) =>
      new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          // Cleanup takes a moment after the abort.
          setTimeout(() => {
            cleanedUp = true;
            reject(ctx.signal.reason);
          }, 20);
        });
      }),
  };
  await runMetric(slow, limits).then(
    () => assert.unreachable('should have thrown'),
    (error: unknown) => assert.instance(error, MetricTimeoutError),
  );
  assert.ok(cleanedUp);
});

test('profile summary ranks frames by self time and merges the same frame', () => {
  const frame = (functionName: string) => ({ functionName, url: '', lineNumber: 0 });
  const rows = summarizeProfile({
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 4] },
      { id: 2, callFrame: frame('hot') },
      { id: 3, callFrame: frame('cold') },
      { id: 4, callFrame: frame('hot') },
    ],
    samples: [2, 3, 4, 2],
    timeDeltas: [1000, 1000, 1000, 1000],
  });
  assert.equal(
    rows.map((r) => r.frame),
    ['hot', 'cold'],
  );
  assert.is(rows[0]!.selfMs, 3);
  assert.is(rows[0]!.share, 0.75);
});

test.run();
