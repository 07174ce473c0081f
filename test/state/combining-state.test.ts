import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { IntervalWindow, IntervalWindowCoder, VarLongCoder, StringUtf8Coder } from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  InMemoryStateInternals,
  StateError,
  StateNamespaces,
  StateTagConflictError,
  StateTags,
  type CombineFn,
  type CombineFnWithContext,
  type StateContext,
} from '../../src/state/index.ts';
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
  const op = fc.oneof(
    { weight: 5, arbitrary: fc.record({ add: fc.integer({ min: -100, max: 100 }) }) },
    { weight: 1, arbitrary: fc.record({ clear: fc.constant(true) }) },
  );
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

test('combiningValueWithContext - the CombineFn sees the namespace and window of the cell it combines for', () => {
  const seen: StateContext[] = [];
  const sumPlusWindowEnd: CombineFnWithContext<number, number, number> = {
    createAccumulator: () => 0,
    addInput: (a, x, c) => {
      seen.push(c);
      return a + x;
    },
    mergeAccumulators: (as) => [...as].reduce((x, y) => x + y, 0),
    extractOutput: (a, c) => a + Number(c.window().maxTimestamp()),
  };
  const tag = StateTags.combiningValueWithContext('c', VarLongCoder.of(), sumPlusWindowEnd);
  const window = new IntervalWindow(0, 100);
  const ns = StateNamespaces.window(IntervalWindowCoder.of(), window);
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  backend.setCurrentKey('k');
  for (const state of [
    InMemoryStateInternals.forKey('k').state(ns, tag),
    backend.stateInternalsForKey('k').state(ns, tag),
    backend.boundState(ns, tag),
  ]) {
    seen.length = 0;
    state.add(5);
    assert.is(state.read(), 5 + 99);
    assert.ok(seen[0]!.namespace.equals(ns));
    assert.ok(seen[0]!.window().equals(window));
  }
  const global = InMemoryStateInternals.forKey('k').state(StateNamespaces.global(), tag);
  global.add(1);
  assert.throws(
    () => global.read(),
    (e: unknown) => e instanceof StateError && /has no window/.test((e as Error).message),
  );
});

test('convertToBagTagInternal - a bag of accumulators under the combining tag id; binding both on one key is refused', () => {
  const tag = StateTags.combiningValue('c', VarLongCoder.of(), sum);
  const bagTag = StateTags.convertToBagTagInternal(tag);
  assert.is(bagTag.id, 'c');
  assert.is(bagTag.spec.kind, 'bag');
  assert.ok(bagTag.equals(tag));
  const bags = InMemoryStateInternals.forKey('k');
  const accums = bags.state(StateNamespaces.global(), bagTag);
  accums.add(3);
  accums.add(4);
  assert.equal([...accums.read()], [3, 4]);
  assert.throws(
    () => bags.state(StateNamespaces.global(), tag),
    (e: unknown) => e instanceof StateTagConflictError,
  );
  assert.throws(
    () => StateTags.convertToBagTagInternal(StateTags.bag('b', VarLongCoder.of()) as never),
    (e: unknown) => e instanceof TypeError,
  );
});

test.run();
