import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { balancedAssignment } from '../../runtime/group/index.ts';

const POOL = ['w-a', 'w-b', 'w-c', 'w-d', 'w-e', 'w-f'];

/** The most units that can stay with their owners under any floor/ceil split (by trying every split). */
function maxKept(units: readonly string[], workers: readonly string[], owners: ReadonlyMap<string, string>): number {
  const held = workers.map((w) => units.filter((u) => owners.get(u) === w).length);
  const floor = Math.floor(units.length / workers.length);
  const withCeil = units.length % workers.length;
  let best = 0;
  for (let mask = 0; mask < 1 << workers.length; mask++) {
    let bits = 0;
    for (let i = 0; i < workers.length; i++) if (mask & (1 << i)) bits++;
    if (bits !== withCeil) continue;
    let kept = 0;
    for (let i = 0; i < workers.length; i++) kept += Math.min(held[i]!, floor + (mask & (1 << i) ? 1 : 0));
    best = Math.max(best, kept);
  }
  return best;
}

test('assignment - over random join/leave sequences: balanced, one owner per unit, and the fewest moves possible', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 24 }),
      fc.array(fc.record({ join: fc.boolean(), worker: fc.constantFrom(...POOL) }), { minLength: 1, maxLength: 30 }),
      (unitCount, events) => {
        const units = Array.from({ length: unitCount }, (_, i) => `count.p${i}`);
        const live = new Set<string>();
        let owners = new Map<string, string>();
        for (const event of events) {
          if (event.join) live.add(event.worker);
          else live.delete(event.worker);
          const workers = [...live];
          const next = balancedAssignment({ units, workers, owners });
          if (workers.length === 0) {
            assert.is(next.size, 0);
            owners = next;
            continue;
          }
          // Every unit has exactly one owner, a live worker (a Map cannot hold two).
          assert.is(next.size, units.length);
          for (const unit of units) assert.ok(live.has(next.get(unit)!), `${unit} is owned by a live worker`);
          const counts = workers.map((w) => units.filter((u) => next.get(u) === w).length);
          const floor = Math.floor(units.length / workers.length);
          for (const count of counts)
            assert.ok(
              count === floor || count === floor + 1,
              `${count} is floor or ceil of ${units.length}/${workers.length}`,
            );
          const moved = units.filter((u) => next.get(u) !== owners.get(u)).length;
          assert.is(moved, units.length - maxKept(units, workers, owners), 'moves are minimal');
          owners = next;
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('assignment - the same view gives the same assignment, whatever order the workers are listed in', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.constantFrom(...POOL), { minLength: 1 }),
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.constantFrom(...POOL, undefined), { maxLength: 20 }),
      (workers, unitCount, held) => {
        const units = Array.from({ length: unitCount }, (_, i) => `u${i}`);
        const owners = new Map<string, string>();
        units.forEach((u, i) => held[i] !== undefined && owners.set(u, held[i]!));
        const a = balancedAssignment({ units, workers, owners });
        const b = balancedAssignment({ units, workers: [...workers].reverse(), owners });
        assert.equal([...a], [...b]);
      },
    ),
  );
});

test('assignment - a joiner takes only what the others must give up', () => {
  const units = Array.from({ length: 8 }, (_, i) => `count.p${i}`);
  const one = balancedAssignment({ units, workers: ['w-a'], owners: new Map() });
  const two = balancedAssignment({ units, workers: ['w-a', 'w-b'], owners: one });
  assert.is(units.filter((u) => two.get(u) === 'w-b').length, 4);
  const three = balancedAssignment({ units, workers: ['w-a', 'w-b', 'w-c'], owners: two });
  assert.is(units.filter((u) => three.get(u) !== two.get(u)).length, 2, 'two units move to the third worker');
  assert.ok(units.every((u) => three.get(u) === two.get(u) || three.get(u) === 'w-c'));
});

test.run();
