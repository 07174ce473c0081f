import type { SegmentRef } from './checkpoint-descriptor.ts';

/** One key group of a partition as a checkpoint finds it: its chain in the base, and what changed since. */
export interface GroupChain {
  readonly keyGroup: number;
  readonly base: readonly SegmentRef[];
  readonly fresh: readonly Uint8Array[];
}

/** What the checkpoint does with one key group's chain. */
export type GroupPlan =
  /** The fresh payloads are appended as segments of their own. */
  | { readonly merge: false }
  /** The base segments from `from` on and every fresh payload are merged into one segment; those below stay. */
  | { readonly merge: true; readonly from: number };

const NO_MERGE: GroupPlan = { merge: false };

export interface PlanOptions {
  /** Merge every chain longer than one (a forced or counted full checkpoint). */
  readonly full: boolean;
  readonly compactionRatio: number;
  readonly maxChainLength: number;
}

// What one checkpoint may rewrite of compacted key groups: this many times the bytes that changed,
// and at least MIN_BUDGET_BYTES. A key group is due once its increments reach `ratio` of its base,
// so keeping up takes (1 + 1/ratio) times the changed bytes (2 at the default 1, 3 at 0.5): 4 leaves room, and spreads
// the rewrite of a large state whose key groups all grow alike over several checkpoints instead of
// one that rewrites everything.
const BUDGET_PER_CHANGED_BYTE = 4;
const MIN_BUDGET_BYTES = 16 * 2 ** 20;
// A key group this far past its due size is compacted whatever the budget, so what a restore reads
// stays bounded even if the budget fell behind.
const OVERDUE_FACTOR = 4;

/**
 * Decides, per key group of one partition, whether the checkpoint appends its changes, merges its
 * whole chain (a major compaction: the increments reached `compactionRatio` of the base segment, or
 * the checkpoint is full), or merges only its newer segments (a minor one: the chain would grow past
 * `maxChainLength`), choosing them by size as a size-tiered LSM tree does so that each byte is
 * rewritten a logarithmic number of times. Returns one plan per group, in the order given.
 */
export function planCompaction(groups: readonly GroupChain[], options: PlanOptions): GroupPlan[] {
  const plans: GroupPlan[] = groups.map(() => NO_MERGE);
  let changedBytes = 0;
  for (const g of groups) for (const f of g.fresh) changedBytes += f.byteLength;

  const due: { index: number; weight: number; bytes: number; overdue: boolean }[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    const length = g.base.length + g.fresh.length;
    if (length <= 1) continue;
    if (options.full) {
      plans[i] = { merge: true, from: 0 };
      continue;
    }
    // Sums, not a sizes array: every checkpoint plans every chain, however long.
    const head = g.base.length > 0 ? g.base[0]!.length : g.fresh[0]!.byteLength;
    let tail = -head;
    for (const r of g.base) tail += r.length;
    for (const f of g.fresh) tail += f.byteLength;
    // A chain that may not keep a base and a merged tail (maxChainLength 1) can only be merged whole.
    const mustMerge = length > options.maxChainLength && options.maxChainLength < 2;
    const overdue = mustMerge || tail >= head * options.compactionRatio * OVERDUE_FACTOR;
    if (overdue || tail >= head * options.compactionRatio)
      due.push({ index: i, weight: tail / Math.max(1, head), bytes: head + tail, overdue });
  }
  // The most overgrown first, within the budget; the overdue ones whatever it says.
  due.sort((a, b) => (a.overdue === b.overdue ? b.weight - a.weight : a.overdue ? -1 : 1));
  let budget = Math.max(MIN_BUDGET_BYTES, BUDGET_PER_CHANGED_BYTE * changedBytes);
  for (const d of due) {
    if (!d.overdue && budget <= 0) break;
    plans[d.index] = { merge: true, from: 0 };
    budget -= d.bytes;
  }

  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (plans[i]!.merge || g.base.length + g.fresh.length <= options.maxChainLength) continue;
    const sizes = [...g.base.map((r) => r.length), ...g.fresh.map((f) => f.byteLength)];
    plans[i] = { merge: true, from: tieredStart(sizes, options.maxChainLength, g.base.length) };
  }
  return plans;
}

/**
 * Where the merge of a too-long chain starts (index of its oldest merged segment, >= 1 unless the
 * chain has no base): from the newest segment back, take in the next older one while it is no larger
 * than what is taken so far (segments of like size merge, a large older one stays), or while the
 * chain would stay too long. Always at least the two newest; never above the base (fresh payloads are
 * all merged).
 */
function tieredStart(sizes: readonly number[], maxChainLength: number, baseLength: number): number {
  const n = sizes.length;
  let from = n - 2;
  let taken = sizes[n - 2]! + sizes[n - 1]!;
  while (from > 1 && (sizes[from - 1]! <= taken || from + 1 > maxChainLength)) {
    from--;
    taken += sizes[from]!;
  }
  return Math.min(from, baseLength);
}
