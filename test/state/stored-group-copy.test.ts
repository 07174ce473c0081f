import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  StateNamespaces,
  StateTags,
  TimeDomain,
  type HeapKeyedStateBackend,
  type LocalStoreWrite,
} from '../../src/state/index.ts';
import { storeKey } from '../../src/state/local-state-store.ts';
import { freshLocalStore } from './support/local-store.ts';

const g = StateNamespaces.global();
const str = StringUtf8Coder.of();
const tag = StateTags.value('v', VarLongCoder.of());
/** Longer than the local store takes: restored in memory. */
const LONG = 'L'.repeat(2100);
const LONG_CLEARED = 'M'.repeat(2100);
/** Keys whose store key's length takes one byte, and three (from 255 bytes on). */
const LENGTHY = ['a'.repeat(40), 'b'.repeat(254), 'c'.repeat(255), 'd'.repeat(256), 'e'.repeat(1975)];

/** The store key order LMDB keeps (bytes, the shorter first on a common prefix). */
const storeOrder = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

/** A real local store whose every write batch is kept too (copies of its store keys). */
function recordingStore(slot: number) {
  const base = freshLocalStore(slot);
  const batches: Uint8Array[][] = [];
  const store = Object.assign(Object.create(base) as typeof base, {
    write(batch: readonly LocalStoreWrite[], heads?: Parameters<typeof base.write>[1]): void {
      batches.push(batch.map((w) => w.key.slice()));
      base.write(batch, heads);
    },
  });
  return { store, batches };
}

function write(b: HeapKeyedStateBackend<string>, key: string, value: number | undefined): void {
  b.beginTurn();
  b.setCurrentKey(key);
  if (value === undefined) b.boundState(g, tag).clear();
  else b.boundState(g, tag).write(value);
  b.commitTurn();
}

function capture(b: HeapKeyedStateBackend<string>, chains: Map<number, Uint8Array[]>): void {
  const captured = b.captureChanges();
  for (const kg of captured.keyGroups) chains.set(kg, [...(chains.get(kg) ?? []), captured.encodeKeyGroup(kg)]);
}

/**
 * A state over many key groups in three parts: a base, an increment that changes some keys and
 * clears others (tombstones), one that gives some cleared keys a value again; a key whose timer of
 * the base is gone in the increment, one that keeps its timer, one that gets a timer in the
 * increment, long keys, and keys too long for the store.
 */
function liveState(keys: number): { live: HeapKeyedStateBackend<string>; chains: Map<number, Uint8Array[]> } {
  const live = createKeyedStateBackend({ keyCoder: str });
  const chains = new Map<number, Uint8Array[]>();
  const timer = (key: string) => {
    live.setCurrentKey(key);
    return { namespace: g, timerId: 't', domain: TimeDomain.EVENT_TIME, timestamp: 5, outputTimestamp: 5 } as const;
  };
  for (let i = 0; i < keys; i++) write(live, `k${i}`, i);
  for (const key of ['timer-gone', 'timer-kept', 'timer-late', ...LENGTHY, LONG, LONG_CLEARED]) write(live, key, 1);
  live.timerInternals.setTimer(timer('timer-gone'));
  live.timerInternals.setTimer(timer('timer-kept'));
  capture(live, chains);
  for (let i = 0; i < keys; i += 3) write(live, `k${i}`, i % 2 === 0 ? -i : undefined);
  write(live, 'timer-gone', 2);
  live.timerInternals.deleteTimer(g, 't', TimeDomain.EVENT_TIME);
  write(live, LONG, 2);
  write(live, 'timer-late', 2);
  live.timerInternals.setTimer(timer('timer-late'));
  capture(live, chains);
  for (let i = 0; i < keys; i += 9) write(live, `k${i}`, 1000 + i);
  write(live, LONG_CLEARED, undefined);
  write(live, 'timer-kept', 3);
  capture(live, chains);
  return { live, chains };
}

function read(b: HeapKeyedStateBackend<string>, key: string): number | null {
  b.setCurrentKey(key);
  const value = b.boundState(g, tag).read();
  return value === null ? null : Number(value);
}

test('tiered restore - the first use of a key group copies every pending group into the store in one pass, in store-key order', () => {
  const keys = 3000;
  const { live, chains } = liveState(keys);
  assert.ok(chains.size > 100, 'the state spans the key groups');
  assert.ok(
    [...chains.values()].some((chain) => chain.length === 3),
    'chains of a base and two increments',
  );
  const { store, batches } = recordingStore(0);
  const restored = createKeyedStateBackend({ keyCoder: str, tier: { store, memoryBytes: 2 ** 26 } });
  for (const [kg, chain] of chains) restored.restoreKeyGroup(kg, chain);
  assert.is(store.size, 0, 'nothing copied before a key is used');

  assert.is(read(restored, 'k1'), 1);
  const written = batches.flat();
  for (let i = 1; i < written.length; i++)
    assert.ok(storeOrder(written[i - 1]!, written[i]!) < 0, `write ${i} follows the one before it in store-key order`);
  const everyKey = [
    ...Array.from({ length: keys }, (_, i) => `k${i}`),
    'timer-gone',
    'timer-kept',
    'timer-late',
    ...LENGTHY,
    LONG,
    LONG_CLEARED,
  ];
  const stored = everyKey.filter((key) => key.length <= 1975 && !['timer-kept', 'timer-late'].includes(key));
  assert.is(
    written.length,
    stored.length,
    'one write per key the store takes (a put or a tombstone delete), the keys with a timer left out',
  );
  const withState = stored.filter((key) => read(live, key) !== null);
  assert.is(store.size, withState.length, 'every key group is in the store after the first use of one');
  const batchesAfterCopy = batches.length;

  for (const key of everyKey) assert.is(read(restored, key), read(live, key), key);
  assert.is(batches.length, batchesAfterCopy, 'no group is copied twice');
  restored.setCurrentKey('timer-kept');
  assert.ok(restored.timerInternals.getTimer(g, 't', TimeDomain.EVENT_TIME) !== undefined, 'its timer restored');
  restored.setCurrentKey('timer-gone');
  assert.is(restored.timerInternals.getTimer(g, 't', TimeDomain.EVENT_TIME), undefined, 'its timer deleted since');
});

test('tiered restore - a write-back writes the cached keys and the groups not used in store-key order', () => {
  const { chains } = liveState(2000);
  const { store, batches } = recordingStore(1);
  const restored = createKeyedStateBackend({ keyCoder: str, tier: { store, memoryBytes: 2 ** 26 } });
  for (const [kg, chain] of chains) restored.restoreKeyGroup(kg, chain);
  // Keys changed after the restore, cached and captured: written back with the restored groups.
  for (let i = 0; i < 2000; i += 7) write(restored, `k${i}`, 5000 + i);
  for (let i = 0; i < 500; i++) write(restored, `new-${i}`, i);
  restored.setCurrentKey(LONG);
  restored.boundState(g, tag).clear();
  void restored.captureChanges().changedKeys;
  const before = batches.length;
  assert.ok(restored.writeBack());
  const cached = batches.slice(before).flat();
  assert.ok(cached.some((key) => storeOrder(key, storeKey(new TextEncoder().encode('new-0'))) === 0));
  for (let i = 1; i < cached.length; i++)
    assert.ok(storeOrder(cached[i - 1]!, cached[i]!) < 0, `write-back write ${i} follows the one before it`);
});

test.run();
