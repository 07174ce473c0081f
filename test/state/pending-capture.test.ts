// Deferred capture: captureChanges() only flags the changed keys; their records are written later,
// in background slices (settle) or right before the task uses a key again. Whatever the task does
// after the capture, the capture must hold exactly the state at capture time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { CoderUtils, JsonCoder, ListCoder, StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  StateError,
  StateNamespaces,
  StateTags,
  TimeDomain,
  type CapturedChanges,
  type HeapKeyedStateBackend,
} from '../../src/state/index.ts';
import { freshLocalStore, tinyTieredBackend } from './support/local-store.ts';
import { storeKeyBytes } from '../../src/state/local-state-store.ts';

const g = StateNamespaces.global();
const str = StringUtf8Coder.of();
const long = VarLongCoder.of();

const COUNT = StateTags.value('count', long);
const LIST = StateTags.value('list', ListCoder.of(str));
const BAG = StateTags.bag('bag', str);
const SET = StateTags.set('set', str);
const MAP = StateTags.map('map', str, long);

type Op =
  | { op: 'count'; key: string; n: number }
  | { op: 'clearCount'; key: string }
  | { op: 'appendInPlace'; key: string; s: string }
  | { op: 'bag'; key: string; s: string }
  | { op: 'clearBag'; key: string }
  | { op: 'set'; key: string; s: string; remove: boolean }
  | { op: 'map'; key: string; s: string; n: number; remove: boolean }
  | { op: 'timer'; key: string; id: string; at: number }
  | { op: 'deleteTimer'; key: string; id: string }
  | { op: 'fire'; upTo: number }
  | { op: 'forKey'; key: string; n: number };

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
const word = fc.constantFrom('x', 'y', 'z');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('count' as const), key, n: fc.integer({ min: 0, max: 1000 }) }),
  fc.record({ op: fc.constant('clearCount' as const), key }),
  fc.record({ op: fc.constant('appendInPlace' as const), key, s: word }),
  fc.record({ op: fc.constant('bag' as const), key, s: word }),
  fc.record({ op: fc.constant('clearBag' as const), key }),
  fc.record({ op: fc.constant('set' as const), key, s: word, remove: fc.boolean() }),
  fc.record({ op: fc.constant('map' as const), key, s: word, n: fc.integer({ min: 0, max: 9 }), remove: fc.boolean() }),
  fc.record({ op: fc.constant('timer' as const), key, id: word, at: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ op: fc.constant('deleteTimer' as const), key, id: word }),
  fc.record({ op: fc.constant('fire' as const), upTo: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ op: fc.constant('forKey' as const), key, n: fc.integer({ min: 0, max: 1000 }) }),
);

/** A backend with one handle per tag, and the ops applied to it as a task would (a turn each). */
function subject(): { backend: HeapKeyedStateBackend<string>; apply(op: Op): void } {
  const backend = createKeyedStateBackend({ keyCoder: str });
  const count = backend.boundState(g, COUNT);
  const list = backend.boundState(g, LIST);
  const bag = backend.boundState(g, BAG);
  const set = backend.boundState(g, SET);
  const map = backend.boundState(g, MAP);
  const apply = (o: Op): void => {
    backend.beginTurn();
    if (o.op === 'fire') {
      for (
        let t = backend.timerInternals.removeNextDueTimer(TimeDomain.EVENT_TIME, o.upTo);
        t !== undefined;
        t = backend.timerInternals.removeNextDueTimer(TimeDomain.EVENT_TIME, o.upTo)
      ) {
        // A firing timer's callback runs with its key in scope and changes its state.
        backend.setCurrentKey(t.key!);
        count.write(Number(count.read() ?? 0) + 1);
      }
    } else if (o.op === 'forKey') {
      backend.stateInternalsForKey(o.key).state(g, COUNT).write(o.n);
    } else {
      backend.setCurrentKey(o.key);
      switch (o.op) {
        case 'count':
          count.write(o.n);
          break;
        case 'clearCount':
          count.clear();
          break;
        case 'appendInPlace': {
          // The common read-modify-write of a mutable value: the array read is changed in place
          // before it is written back, so a capture must not alias it.
          const values = list.read() ?? [];
          values.push(o.s);
          list.write(values);
          break;
        }
        case 'bag':
          bag.add(o.s);
          break;
        case 'clearBag':
          bag.clear();
          break;
        case 'set':
          if (o.remove) set.remove(o.s);
          else set.add(o.s);
          break;
        case 'map':
          if (o.remove) map.remove(o.s);
          else map.put(o.s, o.n);
          break;
        case 'timer':
          backend.timerInternals.setTimer({
            namespace: g,
            timerId: o.id,
            domain: TimeDomain.EVENT_TIME,
            timestamp: o.at,
            outputTimestamp: o.at,
          });
          break;
        case 'deleteTimer':
          backend.timerInternals.deleteTimer(g, o.id, TimeDomain.EVENT_TIME);
          break;
      }
    }
    backend.commitTurn();
  };
  return { backend, apply };
}

function partsOf(capture: CapturedChanges): Map<number, Uint8Array> {
  return new Map(capture.keyGroups.map((kg) => [kg, capture.encodeKeyGroup(kg)]));
}

test('deferred capture - holds the state at capture time whatever the task does before it settles', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { maxLength: 40 }),
      fc.array(opArb, { maxLength: 40 }),
      fc.array(opArb, { maxLength: 20 }),
      async (before, after, later) => {
        // `now` writes its records at once; `deferred` lets the task run first.
        const now = subject();
        const deferred = subject();
        for (const o of before) {
          now.apply(o);
          deferred.apply(o);
        }
        const expected = now.backend.captureChanges();
        const expectedParts = partsOf(expected);
        const capture = deferred.backend.captureChanges();
        for (const o of after) {
          now.apply(o);
          deferred.apply(o);
        }
        await capture.settle();
        assert.equal(capture.keyGroups, expected.keyGroups);
        assert.is(capture.changedKeys, expected.changedKeys);
        assert.equal(partsOf(capture), expectedParts);
        // What capture decided (persisted keys, keys dropped) leaves both alike for the next one.
        for (const o of later) {
          now.apply(o);
          deferred.apply(o);
        }
        assert.equal(partsOf(deferred.backend.captureChanges()), partsOf(now.backend.captureChanges()));
        assert.equal([...deferred.backend.keys()].sort(), [...now.backend.keys()].sort());
      },
    ),
    { numRuns: 300 },
  );
});

test('deferred capture - taking it is a flag per key; settle writes in slices that let the event loop run', async () => {
  const b = createKeyedStateBackend({ keyCoder: str });
  const count = b.boundState(g, COUNT);
  const keys = 200_000;
  for (let i = 0; i < keys; i++) {
    b.setCurrentKey(`key-${i}`);
    count.write(i);
  }
  const capture = b.captureChanges();
  let ticks = 0;
  let settled = false;
  const tick = (): void => {
    ticks++;
    if (!settled) setImmediate(tick);
  };
  setImmediate(tick);
  await capture.settle();
  settled = true;
  assert.ok(ticks > 1, `the event loop ran ${ticks} times while ${keys} records were written`);
  assert.is(capture.changedKeys, keys);
});

test('deferred capture - keys used while the capture is applied to them in slices end as if it completed first', async () => {
  // Applying a large capture to its keys (keys left with only a value go back to the value alone,
  // keys left empty leave the key map) runs in slices too: a task's turns between them see it half
  // applied. Whatever they do must leave the same state as on a backend where it completed at once.
  const keys = 40_000;
  const make = () => {
    const backend = createKeyedStateBackend({ keyCoder: str });
    return { backend, count: backend.boundState(g, COUNT) };
  };
  const now = make();
  const deferred = make();
  for (const { backend, count } of [now, deferred]) {
    for (let i = 0; i < keys; i++) {
      backend.setCurrentKey(`key-${i}`);
      count.write(i);
    }
    await backend.captureChanges().settle();
    // Changed for the capture under test: a value for most keys, none for every 7th (a tombstone).
    for (let i = 0; i < keys; i++) {
      backend.setCurrentKey(`key-${i}`);
      if (i % 7 === 0) count.clear();
      else count.write(i + 1);
    }
  }
  const turn = (b: ReturnType<typeof make>, t: number): void => {
    b.backend.beginTurn();
    for (let j = 0; j < 50; j++) {
      // From the end of the change list down: the keys applied last, so most are used before.
      const k = keys - 1 - ((t * 50 + j) % keys);
      b.backend.setCurrentKey(`key-${k}`);
      if (j % 3 === 0) b.count.write(t * 1000 + j);
      else if (j % 3 === 1) b.count.clear();
      else b.count.read();
    }
    b.backend.commitTurn();
  };
  const expected = partsOf(now.backend.captureChanges());
  const capture = deferred.backend.captureChanges();
  let turns = 0;
  let settled = false;
  const tick = (): void => {
    if (settled) return;
    turn(deferred, turns++);
    setImmediate(tick);
  };
  setImmediate(tick);
  await capture.settle();
  settled = true;
  assert.equal(partsOf(capture), expected);
  for (let t = 0; t < turns; t++) turn(now, t);
  assert.equal([...deferred.backend.keys()].sort(), [...now.backend.keys()].sort());
  for (let i = 0; i < keys; i++) {
    now.backend.setCurrentKey(`key-${i}`);
    deferred.backend.setCurrentKey(`key-${i}`);
    assert.is(deferred.count.read(), now.count.read(), `key-${i}`);
  }
  assert.equal(partsOf(deferred.backend.captureChanges()), partsOf(now.backend.captureChanges()));
});

test('deferred capture - completes when its last record is written just as a slice runs out of time', async () => {
  // Each record takes 50 µs to encode, so every slice ends at its 64th write (its time check);
  // with 5 × 64 keys the last record is such a write.
  const slow = {
    toJSON(): number {
      const end = performance.now() + 0.05;
      while (performance.now() < end);
      return 1;
    },
  };
  const b = createKeyedStateBackend({ keyCoder: str });
  const value = b.boundState(g, StateTags.value('slow', JsonCoder.of<unknown>()));
  const keys = 5 * 64;
  for (let i = 0; i < keys; i++) {
    b.setCurrentKey(`key-${i}`);
    value.write(slow);
  }
  const capture = b.captureChanges();
  await capture.settle();
  assert.is(capture.changedKeys, keys);
  assert.is(capture.keyGroups.length > 0, true);
});

test('deferred capture - a key the task uses is written first; a value that does not encode voids the capture, not the task', async () => {
  const b = createKeyedStateBackend({ keyCoder: str });
  const count = b.boundState(g, COUNT);
  const bag = b.boundState(g, StateTags.bag('bag', JsonCoder.of<{ n: unknown }>()));
  b.setCurrentKey('good');
  count.write(1);
  b.setCurrentKey('bad');
  // The write itself checks the value; a value changed in place afterwards is met only at capture.
  const item = { n: 7 as unknown };
  bag.add(item);
  item.n = 7n;
  const capture = b.captureChanges();
  // Using the bad key writes its record first, which fails: the task's turn must not see that.
  b.beginTurn();
  b.setCurrentKey('bad');
  bag.clear();
  b.setCurrentKey('good');
  count.write(2);
  b.commitTurn();
  try {
    await capture.settle();
    assert.unreachable('settle should reject');
  } catch (error) {
    assert.instance(error, StateError);
    assert.match((error as Error).message, /'bag'/);
  }
  // Every key of the void capture is pending again: the next capture holds the newest state.
  const next = b.captureChanges();
  await next.settle();
  assert.is(next.changedKeys, 1, 'good (2); bad never reached a checkpoint and is empty now');
  const fresh = createKeyedStateBackend({ keyCoder: str });
  for (const kg of next.keyGroups) fresh.restoreKeyGroup(kg, [next.encodeKeyGroup(kg)]);
  const restored = fresh.boundState(g, COUNT);
  fresh.setCurrentKey('good');
  assert.is(restored.read(), 2);
});

test('deferred capture - a new capture finishes the pending one first', async () => {
  const b = createKeyedStateBackend({ keyCoder: str });
  const count = b.boundState(g, COUNT);
  b.setCurrentKey('a');
  count.write(1);
  const first = b.captureChanges();
  b.setCurrentKey('b');
  count.write(2);
  const second = b.captureChanges();
  await Promise.all([first.settle(), second.settle()]);
  assert.is(first.changedKeys, 1);
  assert.is(second.changedKeys, 1);
  assert.not.equal(partsOf(first), partsOf(second));
});

test('deferred capture - a tiered backend evicts keys of a capture still being written, their records written first', async () => {
  const store = freshLocalStore();
  // A cache of about 50 keys (the budget's first estimate is 264 B a key).
  const b = createKeyedStateBackend({ keyCoder: str, tier: { store, memoryBytes: 50 * 264 } });
  const count = b.boundState(g, COUNT);
  const use = (key: string, value: (old: number | null) => number): void => {
    b.beginTurn();
    b.setCurrentKey(key);
    count.write(value(count.read() as number | null));
    b.commitTurn();
  };
  for (let i = 0; i < 500; i++) use(`k${i}`, () => i);
  const capture = b.captureChanges();
  // Before the capture settles: changes to keys it took, then new keys enough to cycle the cache.
  for (let i = 0; i < 100; i++) use(`k${i}`, (old) => old! + 1000);
  for (let i = 0; i < 1000; i++) use(`n${i}`, () => 1);
  const stored = new Set([...store.keys()].map((k) => CoderUtils.decodeFromByteArray(str, storeKeyBytes(k))));
  const pinned = Array.from({ length: 500 }, (_, i) => `k${i}`).filter((k) => !stored.has(k));
  assert.equal(pinned, [], 'keys of the pending capture left the cache like any other');
  await capture.settle();
  const next = b.captureChanges();
  await next.settle();
  // The first capture holds the state at its time; with the second on top, the state now.
  const restore = (captures: CapturedChanges[]) => {
    const fresh = createKeyedStateBackend({ keyCoder: str });
    const groups = new Set(captures.flatMap((c) => c.keyGroups));
    for (const kg of groups)
      fresh.restoreKeyGroup(
        kg,
        captures.filter((c) => c.keyGroups.includes(kg)).map((c) => c.encodeKeyGroup(kg)),
      );
    const restored = fresh.boundState(g, COUNT);
    return (key: string): unknown => {
      fresh.setCurrentKey(key);
      return restored.read();
    };
  };
  const atCapture = restore([capture]);
  const now = restore([capture, next]);
  for (let i = 0; i < 500; i++) {
    assert.is(atCapture(`k${i}`), i);
    assert.is(now(`k${i}`), i < 100 ? i + 1000 : i);
  }
  for (let i = 0; i < 1000; i++) {
    assert.is(atCapture(`n${i}`), null);
    assert.is(now(`n${i}`), 1);
  }
});

test('deferred capture - a void capture leaves a key evicted and used again since with its newest state', async () => {
  // A one-key cache: every key the task leaves is evicted at the next key switch.
  const b = tinyTieredBackend(str);
  const count = b.boundState(g, COUNT);
  const bag = b.boundState(g, StateTags.bag('bag', JsonCoder.of<{ n: unknown }>()));
  const turn = (key: string, body: () => void): void => {
    b.beginTurn();
    b.setCurrentKey(key);
    body();
    b.commitTurn();
  };
  const item = { n: 7 as unknown };
  // A timer keeps 'bad' in the cache, so its record (which fails) is written only when the capture settles.
  turn('bad', () => {
    bag.add(item);
    b.timerInternals.setTimer({
      namespace: g,
      timerId: 't',
      domain: TimeDomain.EVENT_TIME,
      timestamp: 1,
      outputTimestamp: 1,
    });
  });
  item.n = 7n;
  turn('z', () => count.write(5));
  turn('good', () => count.write(1));
  turn('w', () => count.write(1)); // evicts 'z': the capture reads its record back from the store
  const capture = b.captureChanges();
  turn('x', () => count.write(1)); // evicts 'good', its record written first
  turn('good', () => count.write((count.read() as number) + 1)); // read back from the store
  turn('y', () => count.write(1));
  try {
    await capture.settle();
    assert.unreachable('settle should reject');
  } catch (error) {
    assert.instance(error, StateError);
  }
  turn('good', () => assert.is(count.read(), 2, 'the task sees its newest value'));
  turn('bad', () => bag.clear());
  const next = b.captureChanges();
  await next.settle();
  const fresh = createKeyedStateBackend({ keyCoder: str });
  for (const kg of next.keyGroups) fresh.restoreKeyGroup(kg, [next.encodeKeyGroup(kg)]);
  const restored = fresh.boundState(g, COUNT);
  for (const [key, value] of [
    ['good', 2],
    ['z', 5],
    ['w', 1],
    ['x', 1],
    ['y', 1],
  ] as const) {
    fresh.setCurrentKey(key);
    assert.is(restored.read(), value, key);
  }
});

test.run();
