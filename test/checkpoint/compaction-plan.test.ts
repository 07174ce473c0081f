import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planCompaction, type GroupChain } from '../../src/checkpoint/compaction-plan.ts';

const MiB = 2 ** 20;

/** A key group whose base chain has segments of these sizes, with fresh payloads of these sizes. */
function chain(keyGroup: number, base: number[], fresh: number[]): GroupChain {
  return {
    keyGroup,
    base: base.map((length, i) => ({ part: `p${i}`, offset: 0, length })),
    fresh: fresh.map((n) => new Uint8Array(n)),
  };
}

const options = { full: false, compactionRatio: 0.5, maxChainLength: 8 };

test('plan - a key group is merged whole once its increments reach the ratio of its base, not before', () => {
  const plans = planCompaction(
    [chain(0, [1000, 200], [300]), chain(1, [1000, 200], [299]), chain(2, [], [50]), chain(3, [1000], [])],
    options,
  );
  assert.equal(plans, [{ merge: true, from: 0 }, { merge: false }, { merge: false }, { merge: false }]);
});

test('plan - a full checkpoint merges every chain longer than one', () => {
  const plans = planCompaction([chain(0, [1000, 1], [1]), chain(1, [1000], []), chain(2, [], [5])], {
    ...options,
    full: true,
  });
  assert.equal(plans, [{ merge: true, from: 0 }, { merge: false }, { merge: false }]);
});

test('plan - a chain growing past the limit merges its newer segments of like size and keeps the base', () => {
  // Base 10,000, a merged tail of 700, then small increments: the increments merge, the tail stays.
  const [small] = planCompaction([chain(0, [10_000, 700, 10, 10, 10, 10, 10, 10], [10])], options);
  assert.equal(small, { merge: true, from: 2 });
  // Increments that outgrow the older merged tail take it in.
  const [grown] = planCompaction([chain(0, [10_000, 300, 100, 100, 100, 100, 100, 100], [100])], options);
  assert.equal(grown, { merge: true, from: 1 });
  // Whatever the sizes, the chain comes back within the limit.
  const [limited] = planCompaction([chain(0, [1000, 1, 2, 4, 8, 16, 32, 64, 128], [256])], {
    ...options,
    maxChainLength: 4,
  });
  assert.ok(limited !== undefined && limited.merge && limited.from + 1 <= 4);
  // A limit of one leaves no room for a base and a merged tail: the chain merges whole.
  const [one] = planCompaction([chain(0, [1000], [1])], { ...options, maxChainLength: 1 });
  assert.equal(one, { merge: true, from: 0 });
});

test('plan - many key groups due at once are compacted over several checkpoints, the most overgrown first', () => {
  // 100 key groups of a 64 MiB base each, all with increments at 60% of it: 10 GiB of rewrites due,
  // against fresh changes of 1 MiB per group (a budget of 4 x 100 MiB).
  const groups = Array.from({ length: 100 }, (_, kg) => chain(kg, [64 * MiB, 37 * MiB + kg * 1024], [1 * MiB]));
  const plans = planCompaction(groups, options);
  const merged = plans.flatMap((p, kg) => (p.merge ? [kg] : []));
  assert.ok(merged.length > 0 && merged.length < 10, `${merged.length} groups merged`);
  // The largest increments (the highest key groups here) go first.
  assert.equal(
    merged,
    Array.from({ length: merged.length }, (_, i) => 100 - merged.length + i),
  );

  // A group far past its due size is merged even when the budget is spent.
  const overdue = planCompaction([...groups, chain(100, [1 * MiB, 3 * MiB], [1])], options);
  assert.equal(overdue[100], { merge: true, from: 0 });
});

test.run();
