import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { InMemoryStateInternals, StateNamespaces, StateTags } from '../../src/state/index.ts';
import { statesUnderTest } from './support/state-under-test.ts';

const g = StateNamespaces.global();

test('value state - reads null when unset, the last write after writes, null after clear', () => {
  for (const { state } of statesUnderTest(StateTags.value('v', StringUtf8Coder.of()))) {
    assert.is(state.read(), null);
    state.write('a');
    state.write('b');
    assert.is(state.read(), 'b');
    assert.is(state.readLater(), state);
    state.clear();
    assert.is(state.read(), null);
  }
});

test('value state - behaves as a single variable under random writes and clears', () => {
  const op = fc.oneof(fc.record({ write: fc.integer() }), fc.constant({ clear: true as const }));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      for (const { state, disturb } of statesUnderTest(StateTags.value('v', VarLongCoder.of()))) {
        let model: number | null = null;
        ops.forEach((o, i) => {
          if ('write' in o) {
            state.write(o.write);
            model = o.write;
          } else {
            state.clear();
            model = null;
          }
          disturb(i);
          assert.is(state.read(), model);
        });
      }
    }),
  );
});

test('value state - namespaces and keys are isolated', () => {
  const a = InMemoryStateInternals.forKey('a');
  const tag = StateTags.value('v', VarLongCoder.of());
  a.state(g, tag).write(1);
  const w = StateNamespaces.fromString('/AAAA/');
  a.state(w, tag).write(2);
  assert.is(a.state(g, tag).read(), 1);
  assert.is(a.state(w, tag).read(), 2);
  assert.is(InMemoryStateInternals.forKey('b').state(g, tag).read(), null);
  assert.is(a.getKey(), 'a');
});

test.run();
