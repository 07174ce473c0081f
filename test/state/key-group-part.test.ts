import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { createKeyedStateBackend, keyGroupFor, mergeKeyGroupParts, StateNamespaces, StatePartCorruptError, StateTags } from '../../src/state/index.ts';

const g = StateNamespaces.global();

test('part - merge keeps the newest entry per key and drops tombstones', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 1 });
  const v = b.boundState(g, StateTags.value('v', VarLongCoder.of()));
  const chain: Uint8Array[] = [];
  const capture = () => {
    const c = b.captureChanges();
    assert.equal(c.keyGroups, [0]);
    chain.push(c.encodeKeyGroup(0));
  };
  for (const k of ['a', 'b', 'c']) {
    b.setCurrentKey(k);
    v.write(1);
  }
  capture();
  b.setCurrentKey('a');
  v.write(2);
  b.setCurrentKey('b');
  v.clear();
  capture();
  const merged = mergeKeyGroupParts(chain);
  assert.equal(mergeKeyGroupParts([merged]), merged, 'merging a merged part changes nothing');
  const fresh = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 1 });
  fresh.restoreKeyGroup(0, [merged]);
  const rv = fresh.boundState(g, StateTags.value('v', VarLongCoder.of()));
  assert.equal([...fresh.keys()].sort(), ['a', 'c']);
  fresh.setCurrentKey('a');
  assert.is(rv.read(), 2);
  assert.ok(merged.length < chain[0]!.length + chain[1]!.length);
});

test('part - parts of different key groups cannot be merged', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 1024 });
  const v = b.boundState(g, StateTags.value('v', VarLongCoder.of()));
  const enc = (s: string) => new TextEncoder().encode(s);
  let other = 'y';
  for (let i = 0; keyGroupFor(enc(other), 1024) === keyGroupFor(enc('x'), 1024); i++) other = `y${i}`;
  for (const k of ['x', other]) {
    b.setCurrentKey(k);
    v.write(1);
  }
  const c = b.captureChanges();
  assert.is(c.keyGroups.length, 2);
  assert.throws(
    () => mergeKeyGroupParts(c.keyGroups.map((kg) => c.encodeKeyGroup(kg))),
    (e: unknown) => e instanceof StatePartCorruptError,
  );
  assert.throws(() => mergeKeyGroupParts([]), (e: unknown) => e instanceof StatePartCorruptError);
  assert.throws(() => mergeKeyGroupParts([new Uint8Array([1, 2, 3])]), (e: unknown) => e instanceof StatePartCorruptError);
});

test.run();
