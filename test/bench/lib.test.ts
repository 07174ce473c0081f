import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { median, percentile, interleave } from '../../bench/lib/measure.ts';
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
    { run: () => { ours++; return 1000; } },
    { run: () => { baseline++; return 1000; } },
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
      { name: 'a.met', goal: { field: 'ratio', op: '>=', target: 0.5 }, result: { value: 1, unit: 'x', baseline: 1, ratio: 0.8 } },
      { name: 'b.unmet', goal: { field: 'value', op: '<=', target: 20 }, result: { value: 40, unit: 'ms', baseline: 1, ratio: 40 } },
      { name: 'c.failed', goal: undefined, result: undefined, error: 'boom' },
    ],
    'title',
  );
  assert.ok(svg.startsWith('<svg'));
  assert.match(svg, /met: ratio &gt;= 0.5/);
  assert.match(svg, /NOT met: value &lt;= 20/);
  assert.match(svg, /boom/);
});

test.run();
