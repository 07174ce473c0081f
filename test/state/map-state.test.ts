import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { KV, KvCoder, StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { StateTags } from '../../src/state/index.ts';
import { statesUnderTest } from './support/state-under-test.ts';

const tag = () => StateTags.map('m', StringUtf8Coder.of(), VarLongCoder.of());

test('map state - put, get, getOrDefault, remove, isEmpty', () => {
  for (const { state } of statesUnderTest(tag())) {
    assert.is(state.get('a').read(), null);
    assert.is(state.getOrDefault('a', 9).read(), 9);
    state.put('a', 1);
    state.put('b', 2);
    state.put('a', 3);
    assert.is(state.get('a').read(), 3);
    assert.equal(
      [...state.entries().read()],
      [
        ['a', 3],
        ['b', 2],
      ],
    );
    assert.equal([...state.keys().read()], ['a', 'b']);
    assert.equal([...state.values().read()], [3, 2]);
    state.remove('a');
    assert.is(state.get('a').read(), null);
    assert.is(state.isEmpty().read(), false);
    state.clear();
    assert.is(state.isEmpty().read(), true);
  }
});

test('map state - putIfAbsent and computeIfAbsent read the previous value (null when absent)', () => {
  for (const { state } of statesUnderTest(tag())) {
    assert.is(state.putIfAbsent('a', 1).read(), null);
    assert.is(state.putIfAbsent('a', 2).read(), 1);
    assert.is(state.get('a').read(), 1);
    let calls = 0;
    assert.is(state.computeIfAbsent('b', () => (calls++, 5)).read(), null);
    assert.is(state.computeIfAbsent('b', () => (calls++, 6)).read(), 5);
    assert.is(calls, 1, 'computeIfAbsent keeps an existing value without calling the mapping');
    assert.is(state.get('b').read(), 5);
  }
});

test('map state - keys equal by coder bytes are one key', () => {
  const coder = KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of());
  for (const { state } of statesUnderTest(StateTags.map('m', coder, StringUtf8Coder.of()))) {
    state.put(KV('x', 1), 'first');
    state.put(KV('x', 1), 'second');
    assert.is([...state.keys().read()].length, 1);
    assert.is(state.get(KV('x', 1)).read(), 'second');
  }
});

test('map state - entries() read earlier is a snapshot; get() and entries() obtained earlier read at read()', () => {
  for (const { state } of statesUnderTest(tag())) {
    state.put('a', 1);
    const entries = state.entries().read();
    const got = state.get('a');
    const later = state.entries();
    state.put('a', 2);
    state.put('b', 3);
    assert.equal([...entries], [['a', 1]]);
    assert.is(got.read(), 2);
    assert.equal(
      [...later.read()],
      [
        ['a', 2],
        ['b', 3],
      ],
    );
  }
});

test('map state - matches a Map under random operations', () => {
  const k = fc.constantFrom('a', 'b', 'c', 'd');
  const op = fc.oneof(
    fc.record({ put: k, value: fc.integer() }),
    fc.record({ putIfAbsent: k, value: fc.integer() }),
    fc.record({ computeIfAbsent: k, value: fc.integer() }),
    fc.record({ remove: k }),
    fc.record({ clear: fc.constant(true) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      for (const { state, disturb } of statesUnderTest(tag())) {
        const model = new Map<string, number>();
        ops.forEach((o, i) => {
          if ('put' in o) {
            state.put(o.put, o.value);
            model.set(o.put, o.value);
          } else if ('putIfAbsent' in o) {
            assert.is(state.putIfAbsent(o.putIfAbsent, o.value).read(), model.get(o.putIfAbsent) ?? null);
            if (!model.has(o.putIfAbsent)) model.set(o.putIfAbsent, o.value);
          } else if ('computeIfAbsent' in o) {
            assert.is(
              state.computeIfAbsent(o.computeIfAbsent, () => o.value).read(),
              model.get(o.computeIfAbsent) ?? null,
            );
            if (!model.has(o.computeIfAbsent)) model.set(o.computeIfAbsent, o.value);
          } else if ('remove' in o) {
            state.remove(o.remove);
            model.delete(o.remove);
          } else {
            state.clear();
            model.clear();
          }
          disturb(i);
          assert.equal([...state.entries().read()], [...model.entries()]);
          assert.is(state.isEmpty().read(), model.size === 0);
        });
      }
    }),
  );
});

test.run();
