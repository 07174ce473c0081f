import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { KV, KvCoder, StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { StateTags } from '../../src/state/index.ts';
import { statesUnderTest } from './support/state-under-test.ts';

test('set state - add, contains, remove; addIfAbsent reads true only when it added', () => {
  for (const { state } of statesUnderTest(StateTags.set('s', StringUtf8Coder.of()))) {
    assert.is(state.addIfAbsent('a').read(), true);
    assert.is(state.addIfAbsent('a').read(), false);
    state.add('b');
    state.add('b');
    assert.equal([...state.read()], ['a', 'b']);
    assert.is(state.contains('b').read(), true);
    state.remove('b');
    assert.is(state.contains('b').read(), false);
    assert.is(state.isEmpty().read(), false);
    state.clear();
    assert.is(state.isEmpty().read(), true);
  }
});

test('set state - equal objects (by coder bytes) are one element', () => {
  const coder = KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of());
  for (const { state } of statesUnderTest(StateTags.set('s', coder))) {
    state.add(KV('a', 1));
    state.add(KV('a', 1));
    assert.is([...state.read()].length, 1);
    assert.is(state.contains(KV('a', 1)).read(), true);
    state.remove(KV('a', 1));
    assert.is(state.isEmpty().read(), true);
  }
});

test('set state - a contains() result does not change with later writes', () => {
  for (const { state } of statesUnderTest(StateTags.set('s', StringUtf8Coder.of()))) {
    const r = state.contains('x');
    state.add('x');
    assert.is(r.read(), false);
  }
});

test('set state - matches a Set under random operations', () => {
  const v = fc.integer({ min: 0, max: 6 });
  const op = fc.oneof(
    fc.record({ add: v }),
    fc.record({ addIfAbsent: v }),
    fc.record({ remove: v }),
    fc.record({ clear: fc.constant(true) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      for (const { state, disturb } of statesUnderTest(StateTags.set('s', VarLongCoder.of()))) {
        const model = new Set<number>();
        const snapshots: [Iterable<number | bigint>, number[]][] = [];
        ops.forEach((o, i) => {
          if ('add' in o) {
            state.add(o.add);
            model.add(o.add);
          } else if ('addIfAbsent' in o) {
            assert.is(state.addIfAbsent(o.addIfAbsent).read(), !model.has(o.addIfAbsent));
            model.add(o.addIfAbsent);
          } else if ('remove' in o) {
            state.remove(o.remove);
            model.delete(o.remove);
          } else {
            state.clear();
            model.clear();
          }
          disturb(i);
          for (let x = 0; x <= 6; x++) assert.is(state.contains(x).read(), model.has(x));
          snapshots.push([state.read(), [...model]]);
        });
        for (const [snapshot, expected] of snapshots) assert.equal([...snapshot], expected);
      }
    }),
  );
});

test.run();
