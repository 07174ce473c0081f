import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { TableEntry } from '../../src/state/cell.ts';
import { StateTable } from '../../src/state/state-table.ts';

/** A cell whose emptiness the test controls. */
function cell(id: number, empty = false): TableEntry {
  return {
    kind: 'value',
    signature: '',
    pruned: false,
    isEmpty: () => empty,
    encode() {},
    id,
  } as unknown as TableEntry;
}

const op = fc.oneof(
  fc.record({
    kind: fc.constant('put' as const),
    ns: fc.constantFrom('', 'w1', 'w2'),
    col: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'),
    empty: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('prune' as const) }),
);

test('state table - get/put/forEach/prune/isEmpty agree with an insertion-ordered model, across the inline, flat and Map layouts', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const table = new StateTable();
      // Model: key -> [cell, empty], in creation order (a replaced cell keeps its place).
      const model = new Map<string, { ns: string; col: string; cell: TableEntry; empty: boolean }>();
      let id = 0;
      let mapMode = false;
      for (const o of ops) {
        if (o.kind === 'put') {
          const c = cell(id++, o.empty);
          table.put(o.ns, o.col, c);
          const k = `${o.ns}\u0000${o.col}`;
          const existing = model.get(k);
          if (existing !== undefined) Object.assign(existing, { cell: c, empty: o.empty });
          else model.set(k, { ns: o.ns, col: o.col, cell: c, empty: o.empty });
          if (model.size > 8) mapMode = true;
        } else {
          const dropped = table.prune();
          let expectDropped = false;
          for (const [k, v] of model) {
            if (v.empty) {
              model.delete(k);
              expectDropped = true;
            }
          }
          assert.is(dropped, expectDropped);
        }
        for (const v of model.values()) assert.is(table.get(v.ns, v.col), v.cell);
        assert.is(table.get('nope', 'a'), undefined);
        assert.is(
          table.isEmpty(),
          [...model.values()].every((v) => v.empty),
        );
        const seen = table.entries().map(([ns, col, c]) => [ns, col, c] as const);
        const expected = [...model.values()].map((v) => [v.ns, v.col, v.cell] as const);
        if (mapMode) {
          // Map mode groups by row: compare as sets.
          assert.equal(new Set(seen.map((e) => `${e[0]}/${e[1]}`)), new Set(expected.map((e) => `${e[0]}/${e[1]}`)));
        } else {
          assert.equal(seen, expected);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('state table - a pruned cell is marked pruned; the cells after it keep their order', () => {
  const table = new StateTable();
  const a = cell(1, true);
  const b = cell(2);
  const c = cell(3);
  table.put('', 'a', a);
  table.put('', 'b', b);
  table.put('', 'c', c);
  assert.ok(table.prune());
  assert.ok(a.pruned);
  assert.equal(
    table.entries().map((e) => e[1]),
    ['b', 'c'],
  );
  assert.is(table.get('', 'a'), undefined);
  assert.not.ok(table.prune());
});

test.run();
