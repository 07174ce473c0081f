import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  keyGroupFor,
  mergeKeyGroupParts,
  PART_VERSION,
  StateNamespaces,
  StatePartCorruptError,
  StateTags,
  TimeDomain,
} from '../../src/state/index.ts';
import type { HeapKeyedStateBackend } from '../../src/state/index.ts';
import { markPartVerified, parsePart, readPartSections } from '../../src/state/key-group-part.ts';
import { crc32 } from 'node:zlib';

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

test('part - a merge of the newer parts that keeps tombstones restores on the base as the whole chain does', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 1 });
  const v = b.boundState(g, StateTags.value('v', VarLongCoder.of()));
  const chain: Uint8Array[] = [];
  const capture = () => chain.push(b.captureChanges().encodeKeyGroup(0));
  for (const k of ['a', 'b', 'c', 'd']) {
    b.setCurrentKey(k);
    v.write(1);
  }
  capture();
  b.setCurrentKey('b');
  v.clear();
  b.setCurrentKey('c');
  v.write(3);
  capture();
  b.setCurrentKey('c');
  v.clear();
  b.setCurrentKey('e');
  v.write(5);
  capture();
  const restored = (parts: Uint8Array[]) => {
    const r = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 1 });
    r.restoreKeyGroup(0, parts);
    const rv = r.boundState(g, StateTags.value('v', VarLongCoder.of()));
    return [...r.keys()].sort().map((k) => (r.setCurrentKey(k), [k, rv.read()]));
  };
  const newer = mergeKeyGroupParts(chain.slice(1), { keepTombstones: true });
  assert.equal(restored([chain[0]!, newer]), restored(chain));
  assert.equal(restored([chain[0]!, newer]), [
    ['a', 1],
    ['d', 1],
    ['e', 5],
  ]);
  // Without the tombstones the base's deleted keys would come back.
  assert.equal(restored([chain[0]!, mergeKeyGroupParts(chain.slice(1))]).length, 5);
  assert.equal(mergeKeyGroupParts([chain[0]!, newer]), mergeKeyGroupParts(chain));
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
  assert.throws(
    () => mergeKeyGroupParts([]),
    (e: unknown) => e instanceof StatePartCorruptError,
  );
  assert.throws(
    () => mergeKeyGroupParts([new Uint8Array([1, 2, 3])]),
    (e: unknown) => e instanceof StatePartCorruptError,
  );
});

/** One key group, keys 'k0'..'k<n-1>' with a value each; keys listed in `timed` also get a timer at their index. */
function oneGroup(n: number, timed: readonly number[]) {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 1 });
  const v = b.boundState(g, StateTags.value('v', VarLongCoder.of()));
  for (let i = 0; i < n; i++) {
    b.setCurrentKey(`k${i}`);
    v.write(i);
    if (timed.includes(i))
      b.timerInternals.setTimer({
        namespace: g,
        timerId: 't',
        domain: TimeDomain.EVENT_TIME,
        timestamp: 100 + i,
        outputTimestamp: 100 + i,
      });
  }
  return { b, v };
}

function capturePart(b: HeapKeyedStateBackend<string>): Uint8Array {
  const c = b.captureChanges();
  assert.equal(c.keyGroups, [0]);
  return c.encodeKeyGroup(0);
}

function firedKeys(b: HeapKeyedStateBackend<string>): string[] {
  const fired: string[] = [];
  for (
    let t = b.timerInternals.removeNextDueTimer(TimeDomain.EVENT_TIME, 10_000);
    t !== undefined;
    t = b.timerInternals.removeNextDueTimer(TimeDomain.EVENT_TIME, 10_000)
  ) {
    fired.push(`${t.key}@${t.timestamp}`);
  }
  return fired;
}

test(`part v${PART_VERSION} - keys with timers form the eager section at the head; every record reads back`, () => {
  const { b } = oneGroup(50, [3, 40]);
  const part = capturePart(b);
  assert.is(part[4], PART_VERSION);
  const s = readPartSections(part, 0);
  assert.is(s.eagerCount, 2);
  assert.is(s.lazyCount, 48);
  assert.ok(s.eagerEnd <= s.lazyStart);
  const { records } = parsePart(part, 0);
  const keys = records.map((r) => Buffer.from(r.keyBytes).toString());
  assert.equal(keys.slice(0, 2), ['k3', 'k40'], 'eager records first, in change order');
  assert.is(new Set(keys).size, 50);
  assert.equal(mergeKeyGroupParts([part]), part, 'a merged part is laid out the same way');
});

test('part - a restore decodes the eager section only; lazy keys come back on first use, identical', () => {
  const { b } = oneGroup(50, [3, 40]);
  const part = capturePart(b);
  const fresh = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 1 });
  fresh.restoreKeyGroup(0, [part]);
  assert.equal(firedKeys(fresh), ['k3@103', 'k40@140'], 'timers are live right after restore');
  const v = fresh.boundState(g, StateTags.value('v', VarLongCoder.of()));
  fresh.setCurrentKey('k17');
  assert.is(v.read(), 17);
  assert.is([...fresh.keys()].length, 50);
  for (let i = 0; i < 50; i++) {
    fresh.setCurrentKey(`k${i}`);
    assert.is(v.read(), i);
  }
});

/** `part` with byte `at` changed and the checksum recomputed, so only the structure is wrong. */
function reChecksummed(part: Uint8Array, at: number, value: number): Uint8Array {
  const out = Uint8Array.from(part);
  out[at] = value;
  const end = out.length - 4;
  const crc = crc32(out.subarray(0, end));
  out[end] = crc >>> 24;
  out[end + 1] = (crc >>> 16) & 0xff;
  out[end + 2] = (crc >>> 8) & 0xff;
  out[end + 3] = crc & 0xff;
  return out;
}

test('part - any flipped byte, in the eager section or elsewhere, is detected when the key group is handed over', () => {
  const { b } = oneGroup(20, [5]);
  const part = capturePart(b);
  const s = readPartSections(part, 0);
  for (const at of [s.eagerStart, s.eagerStart + 3, s.eagerEnd - 1, s.lazyStart + 2, part.length - 5]) {
    const flipped = Uint8Array.from(part);
    flipped[at]! ^= 0x01;
    assert.throws(
      () => createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 1 }).restoreKeyGroup(0, [flipped]),
      (e: unknown) => e instanceof StatePartCorruptError,
      `byte ${at}`,
    );
  }
  // A malformed eager section with a valid checksum (a writer bug, not bit rot) still fails at restore, typed.
  const badEager = reChecksummed(part, s.eagerStart + 3, 0x7f);
  assert.throws(
    () => createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 1 }).restoreKeyGroup(0, [badEager]),
    (e: unknown) => e instanceof StatePartCorruptError,
  );
});

test('part - in a chain, a newer record wins over the base whichever section either is in', () => {
  const { b, v } = oneGroup(10, [1, 2]);
  const chain = [capturePart(b)];
  // k1: timer deleted (eager in the base, lazy now); k4: gets a timer (lazy in the base, eager now);
  // k2: deleted altogether (tombstone); k5: new value.
  b.setCurrentKey('k1');
  b.timerInternals.deleteTimer(g, 't', TimeDomain.EVENT_TIME);
  b.setCurrentKey('k4');
  b.timerInternals.setTimer({
    namespace: g,
    timerId: 't',
    domain: TimeDomain.EVENT_TIME,
    timestamp: 500,
    outputTimestamp: 500,
  });
  b.setCurrentKey('k2');
  v.clear();
  b.timerInternals.deleteTimer(g, 't', TimeDomain.EVENT_TIME);
  b.setCurrentKey('k5');
  v.write(55);
  chain.push(capturePart(b));
  for (const parts of [chain, [mergeKeyGroupParts(chain)]]) {
    const fresh = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 1 });
    fresh.restoreKeyGroup(0, parts);
    assert.equal(firedKeys(fresh), ['k4@500'], 'the stale timers of k1 and k2 are gone');
    const rv = fresh.boundState(g, StateTags.value('v', VarLongCoder.of()));
    assert.equal([...fresh.keys()].sort(), ['k0', 'k1', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9']);
    fresh.setCurrentKey('k5');
    assert.is(rv.read(), 55);
    fresh.setCurrentKey('k1');
    assert.is(rv.read(), 1);
  }
});

test('part - markPartVerified skips only the checksum: structure, version and key group are still checked', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 1 });
  const v = b.boundState(g, StateTags.value('v', VarLongCoder.of()));
  b.setCurrentKey('a');
  v.write(1);
  const part = b.captureChanges().encodeKeyGroup(0);
  const badCrc = part.slice();
  badCrc[badCrc.length - 1]! ^= 0xff;
  assert.throws(
    () => readPartSections(badCrc, 0),
    (e: unknown) => e instanceof StatePartCorruptError,
  );
  markPartVerified(badCrc);
  assert.is(readPartSections(badCrc, 0).keyGroup, 0, 'a container vouched for these bytes');
  assert.throws(
    () => readPartSections(badCrc, 1),
    (e: unknown) => e instanceof StatePartCorruptError,
  );
  const badMagic = part.slice();
  badMagic[0] = 0;
  markPartVerified(badMagic);
  assert.throws(
    () => readPartSections(badMagic, 0),
    (e: unknown) => e instanceof StatePartCorruptError,
  );
  // The mark is per view: other bytes (even a copy) are checksummed as before.
  assert.throws(
    () => readPartSections(badCrc.slice(), 0),
    (e: unknown) => e instanceof StatePartCorruptError,
  );
});

test.run();
