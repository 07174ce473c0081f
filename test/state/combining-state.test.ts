import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { VarLongCoder, StringUtf8Coder } from '../../coders/index.ts';
import { StateTags, type CombineFn } from '../../src/state/index.ts';
import { statesUnderTest } from './support/state-under-test.ts';

const sum: CombineFn<number, number, number> = {
  createAccumulator: () => 0,
  addInput: (a, x) => a + x,
  mergeAccumulators: (as) => [...as].reduce((x, y) => x + y, 0),
  extractOutput: (a) => a,
};

// A CombineFn with a mutable accumulator, as many Beam CombineFns have: a mean as "sum,count".
const mean: CombineFn<number, string, number> = {
  createAccumulator: () => '0,0',
  addInput: (a, x) => {
    const [s, c] = a.split(',').map(Number) as [number, number];
    return `${s + x},${c + 1}`;
  },
  mergeAccumulators: (as) => {
    let s = 0;
    let c = 0;
    for (const a of as) {
      const [x, y] = a.split(',').map(Number) as [number, number];
      s += x;
      c += y;
    }
    return `${s},${c}`;
  },
  extractOutput: (a) => {
    const [s, c] = a.split(',').map(Number) as [number, number];
    return c === 0 ? Number.NaN : s / c;
  },
};

test('combining state - folds inputs; empty until the first add; clear resets', () => {
  for (const { state } of statesUnderTest(StateTags.combiningValue('c', VarLongCoder.of() as never, sum))) {
    assert.is(state.isEmpty().read(), true);
    assert.is(state.read(), 0);
    state.add(2);
    state.add(3);
    assert.is(state.read(), 5);
    assert.is(state.getAccum(), 5);
    state.addAccum(10);
    assert.is(state.read(), 15);
    assert.is(state.mergeAccumulators([1, 2, 3]), 6);
    assert.is(state.read(), 15, 'mergeAccumulators does not touch the cell');
    state.clear();
    assert.is(state.isEmpty().read(), true);
    assert.is(state.read(), 0);
  }
});

test('combining state - matches folding a model array with the CombineFn', () => {
  const op = fc.oneof({ weight: 5, arbitrary: fc.record({ add: fc.integer({ min: -100, max: 100 }) }) }, { weight: 1, arbitrary: fc.record({ clear: fc.constant(true) }) });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      for (const { state, disturb } of statesUnderTest(StateTags.combiningValue('c', StringUtf8Coder.of(), mean))) {
        let model: number[] = [];
        ops.forEach((o, i) => {
          if ('add' in o) {
            state.add(o.add);
            model.push(o.add);
          } else {
            state.clear();
            model = [];
          }
          disturb(i);
          const expected = model.length === 0 ? Number.NaN : model.reduce((a, b) => a + b, 0) / model.length;
          assert.ok(Object.is(state.read(), expected), `${state.read()} vs ${expected}`);
          assert.is(state.isEmpty().read(), model.length === 0);
        });
      }
    }),
  );
});

test.run();
