import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { StringUtf8Coder } from '../../coders/index.ts';
import { StateTags } from '../../src/state/index.ts';
import { statesUnderTest } from './support/state-under-test.ts';

test('bag state - keeps duplicates in insertion order; isEmpty reads true when empty', () => {
  for (const { state } of statesUnderTest(StateTags.bag('b', StringUtf8Coder.of()))) {
    assert.is(state.isEmpty().read(), true);
    state.add('x');
    state.add('y');
    state.add('x');
    assert.equal([...state.read()], ['x', 'y', 'x']);
    assert.is(state.isEmpty().read(), false);
    state.clear();
    assert.equal([...state.read()], []);
    assert.is(state.isEmpty().read(), true);
  }
});

test('bag state - an earlier read() is a snapshot: later adds and clears do not show in it', () => {
  for (const { state } of statesUnderTest(StateTags.bag('b', StringUtf8Coder.of()))) {
    state.add('a');
    const before = state.read();
    state.add('b');
    assert.equal([...before], ['a']);
    const again = state.read();
    state.clear();
    assert.equal([...again], ['a', 'b']);
    assert.equal([...again], ['a', 'b'], 'iterable twice');
  }
});

test('bag state - matches an array under random adds, clears and reads', () => {
  const op = fc.oneof(
    { weight: 5, arbitrary: fc.record({ add: fc.string({ maxLength: 3 }) }) },
    { weight: 1, arbitrary: fc.constant({ clear: true as const }) },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      for (const { state, disturb } of statesUnderTest(StateTags.bag('b', StringUtf8Coder.of()))) {
        let model: string[] = [];
        const snapshots: [Iterable<string>, string[]][] = [];
        ops.forEach((o, i) => {
          if ('add' in o) {
            state.add(o.add);
            model.push(o.add);
          } else {
            state.clear();
            model = [];
          }
          disturb(i);
          snapshots.push([state.read(), [...model]]);
          assert.is(state.isEmpty().read(), model.length === 0);
        });
        for (const [snapshot, expected] of snapshots) assert.equal([...snapshot], expected);
      }
    }),
  );
});

test.run();
