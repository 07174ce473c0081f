import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KvCoder, StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  InMemoryStateInternals,
  StateNamespaces,
  StateTagConflictError,
  StateTags,
  TimestampCombiner,
} from '../../src/state/index.ts';

const g = StateNamespaces.global();

test('tags - a tag is identified by its id, not by the object', () => {
  const s = InMemoryStateInternals.forKey('k');
  s.state(g, StateTags.value('x', VarLongCoder.of())).write(7);
  assert.is(s.state(g, StateTags.value('x', VarLongCoder.of())).read(), 7);
});

test('tags - binding one id to another kind is a typed error naming the tag', () => {
  const s = InMemoryStateInternals.forKey('k');
  s.state(g, StateTags.value('x', VarLongCoder.of()));
  try {
    s.state(g, StateTags.bag('x', VarLongCoder.of()));
    assert.unreachable('expected a conflict');
  } catch (err) {
    assert.instance(err, StateTagConflictError);
    assert.is((err as StateTagConflictError).code, 'STATE_TAG_CONFLICT');
    assert.match((err as Error).message, /'x'/);
    assert.match((err as Error).message, /value\(VarLongCoder\)/);
  }
});

test('tags - binding one id with other coders is an error in a backend too', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  b.boundState(g, StateTags.map('m', StringUtf8Coder.of(), VarLongCoder.of()));
  assert.throws(() => b.boundState(g, StateTags.map('m', StringUtf8Coder.of(), StringUtf8Coder.of())), (e: unknown) => e instanceof StateTagConflictError);
  // Same coders from other instances agree.
  b.boundState(g, StateTags.map('m', StringUtf8Coder.of(), VarLongCoder.of()));
  const kv = () => KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of());
  b.boundState(g, StateTags.value('kv', kv()));
  b.boundState(g, StateTags.value('kv', kv()));
});

test('tags - watermark holds with another combiner conflict', () => {
  const s = InMemoryStateInternals.forKey('k');
  s.state(g, StateTags.watermarkStateInternal('h', TimestampCombiner.EARLIEST));
  assert.throws(() => s.state(g, StateTags.watermarkStateInternal('h', TimestampCombiner.LATEST)), (e: unknown) => e instanceof StateTagConflictError);
});

test('tags - a system tag never collides with the user tag of the same id', () => {
  const s = InMemoryStateInternals.forKey('k');
  const user = StateTags.value('x', VarLongCoder.of());
  const system = StateTags.makeSystemTagInternal(StateTags.bag('x', StringUtf8Coder.of()));
  assert.is(system.id, 'x');
  assert.is(system.origin, 'system');
  s.state(g, user).write(1);
  s.state(g, system).add('a');
  assert.is(s.state(g, user).read(), 1);
  assert.equal([...s.state(g, system).read()], ['a']);
});

test('tags - set and map tags reject a non-deterministic element or key coder', () => {
  const nonDeterministic = Object.assign(Object.create(StringUtf8Coder.of()), {
    verifyDeterministic() {
      throw new Error('not deterministic');
    },
  });
  assert.throws(() => StateTags.set('s', nonDeterministic), /not deterministic/);
  assert.throws(() => StateTags.map('m', nonDeterministic, VarLongCoder.of()), /not deterministic/);
});

test.run();
