import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { KeyMap } from '../../src/state/key-map.ts';

// Operations on a KeyMap of tiny shards and on a Map, side by side: every answer, the size, the
// order of iteration and what live iterators (made at any point, advanced at any point) yield must
// be the same.
const key = fc.integer({ min: 0, max: 8 });
const ops = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), key, value: fc.integer() }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('get' as const, 'has' as const), key }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('iterate' as const) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), which: fc.nat(7) }) },
  ),
  { maxLength: 120 },
);

test('key map - behaves as one Map, live iterators included, whatever its shard size', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.nat(4), ops, (shardEntries, adopted, steps) => {
      // The heap backend hands its full Map to a KeyMap: it starts with that Map as its first shard.
      const first = new Map<unknown, number>();
      for (let i = 0; i < Math.min(adopted, shardEntries); i++) first.set(100 + i, i);
      const model = new Map(first);
      const map = new KeyMap<number>(shardEntries, first);
      const iterators: [Iterator<number>, Iterator<number>][] = [];
      for (const [i, step] of steps.entries()) {
        const at = `step ${i} (${JSON.stringify(step)})`;
        switch (step.op) {
          case 'set':
            map.set(step.key, step.value);
            model.set(step.key, step.value);
            break;
          case 'delete':
            assert.is(map.delete(step.key), model.delete(step.key), at);
            break;
          case 'get':
            assert.is(map.get(step.key), model.get(step.key), at);
            break;
          case 'has':
            assert.is(map.has(step.key), model.has(step.key), at);
            break;
          case 'iterate':
            iterators.push([map.values(), model.values()]);
            break;
          case 'advance': {
            const pair = iterators[step.which % Math.max(1, iterators.length)];
            if (pair !== undefined) assert.equal(pair[0].next(), pair[1].next(), at);
            break;
          }
        }
        assert.is(map.size, model.size, at);
      }
      assert.equal([...map], [...model]);
      // What the iterators still hold once everything above happened.
      for (const [ours, theirs] of iterators) {
        for (;;) {
          const a = ours.next();
          assert.equal(a, theirs.next());
          if (a.done === true) break;
        }
      }
    }),
    { numRuns: 1_000 },
  );
});

test('key map - holds more entries than one Map can', () => {
  // One Map throws RangeError past 2^24 entries: the shards keep each well below that.
  const map = new KeyMap<number>();
  const n = 2 ** 24 + 10;
  for (let i = 0; i < n; i++) map.set(i, i);
  assert.is(map.size, n);
  assert.is(map.get(0), 0);
  assert.is(map.get(n - 1), n - 1);
  assert.ok(map.delete(5));
  assert.not.ok(map.has(5));
  assert.is(map.size, n - 1);
});

test('key map - a shard size below 1 is a RangeError', () => {
  assert.throws(() => new KeyMap(0), RangeError);
});

test.run();
