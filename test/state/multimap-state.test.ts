import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { StateTags } from '../../src/state/index.ts';
import { statesUnderTest } from './support/state-under-test.ts';

const tag = () => StateTags.multimap('mm', StringUtf8Coder.of(), VarLongCoder.of());

test('multimap state - keeps every value per key, duplicates included; remove drops the key', () => {
  for (const { state } of statesUnderTest(tag())) {
    state.put('a', 1);
    state.put('a', 1);
    state.put('b', 2);
    assert.equal([...state.get('a').read()], [1, 1]);
    assert.equal([...state.keys().read()], ['a', 'b']);
    assert.equal(
      [...state.entries().read()],
      [
        ['a', 1],
        ['a', 1],
        ['b', 2],
      ],
    );
    assert.is(state.containsKey('a').read(), true);
    state.remove('a');
    assert.is(state.containsKey('a').read(), false);
    assert.equal([...state.get('a').read()], []);
    state.clear();
    assert.is(state.isEmpty().read(), true);
  }
});

test('multimap state - matches a Map of arrays under random operations, snapshots stay put', () => {
  const k = fc.constantFrom('a', 'b', 'c');
  const op = fc.oneof(
    fc.record({ put: k, value: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ remove: k }),
    fc.record({ clear: fc.constant(true) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      for (const { state, disturb } of statesUnderTest(tag())) {
        const model = new Map<string, number[]>();
        const flat = () => [...model].flatMap(([key, vs]) => vs.map((v) => [key, v]));
        const snapshots: [Iterable<unknown>, unknown[]][] = [];
        ops.forEach((o, i) => {
          if ('put' in o) {
            state.put(o.put, o.value);
            model.set(o.put, [...(model.get(o.put) ?? []), o.value]);
          } else if ('remove' in o) {
            state.remove(o.remove);
            model.delete(o.remove);
          } else {
            state.clear();
            model.clear();
          }
          disturb(i);
          snapshots.push([state.entries().read(), flat()]);
          for (const key of ['a', 'b', 'c']) assert.equal([...state.get(key).read()], model.get(key) ?? []);
          assert.equal([...state.keys().read()], [...model.keys()]);
        });
        for (const [snapshot, expected] of snapshots) assert.equal([...snapshot], expected);
      }
    }),
  );
});

test.run();
