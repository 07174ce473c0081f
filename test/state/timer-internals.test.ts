import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  BoundedWindow,
  GlobalWindow,
  StringUtf8Coder,
  IntervalWindow,
  IntervalWindowCoder,
} from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  StateNamespaces,
  TimeDomain,
  type HeapKeyedStateBackend,
  type TimerData,
} from '../../src/state/index.ts';

const g = StateNamespaces.global();
const E = TimeDomain.EVENT_TIME;
const P = TimeDomain.PROCESSING_TIME;

function set(
  b: HeapKeyedStateBackend<string>,
  key: string,
  timerId: string,
  timestamp: number,
  domain: TimeDomain = E,
  outputTimestamp = timestamp,
): void {
  b.setCurrentKey(key);
  b.timerInternals.setTimer({ namespace: g, timerId, domain, timestamp, outputTimestamp });
}

function drain(b: HeapKeyedStateBackend<string>, domain: TimeDomain, upTo: number): [unknown, string, number][] {
  const out: [unknown, string, number][] = [];
  for (let t: TimerData<string> | undefined; (t = b.timerInternals.removeNextDueTimer(domain, upTo)) !== undefined;)
    out.push([t.key, t.timerId, Number(t.timestamp)]);
  return out;
}

test('timers - fire earliest first over all keys; ties in set order; upTo is inclusive', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  set(b, 'a', 't', 30);
  set(b, 'b', 't', 10);
  set(b, 'c', 't', 20);
  set(b, 'a', 'u', 20);
  assert.equal(drain(b, E, 20), [
    ['b', 't', 10],
    ['c', 't', 20],
    ['a', 'u', 20],
  ]);
  assert.equal(drain(b, E, 29), []);
  assert.is(b.timerInternals.nextTimerTimestamp(E), 30);
  assert.equal(drain(b, E, 30), [['a', 't', 30]]);
  assert.is(b.timerInternals.size, 0);
});

test('timers - setting the same timer again replaces it; delete removes it; domains are separate', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  set(b, 'a', 't', 10);
  set(b, 'a', 't', 40);
  set(b, 'a', 't', 5, P);
  assert.is(b.timerInternals.size, 2);
  assert.equal(b.timerInternals.getTimer(g, 't', E)?.timestamp, 40);
  assert.equal(drain(b, E, 39), []);
  assert.equal(drain(b, P, 100), [['a', 't', 5]]);
  b.setCurrentKey('a');
  b.timerInternals.deleteTimer(g, 't', E);
  b.timerInternals.deleteTimer(g, 'missing', E);
  assert.equal(drain(b, E, 100), []);
  assert.is(b.timerInternals.getTimer(g, 't', E), undefined);
});

test('timers - the same id in other namespaces or keys are other timers', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  const win = StateNamespaces.window(IntervalWindowCoder.of(), new IntervalWindow(0, 10));
  b.setCurrentKey('a');
  b.timerInternals.setTimer({ namespace: g, timerId: 't', domain: E, timestamp: 1, outputTimestamp: 1 });
  b.timerInternals.setTimer({ namespace: win, timerId: 't', domain: E, timestamp: 2, outputTimestamp: 2 });
  set(b, 'b', 't', 3);
  assert.is(b.timerInternals.size, 3);
});

test('timers - the minimum output timestamp holds the output watermark', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  assert.is(b.timerInternals.minimumOutputTimestamp(), undefined);
  set(b, 'a', 't', 50, E, 45);
  set(b, 'b', 't', 10, P, 60);
  assert.is(b.timerInternals.minimumOutputTimestamp(), 45);
  drain(b, E, 100);
  assert.is(b.timerInternals.minimumOutputTimestamp(), 60);
});

test('timers - survive capture and restore, with window namespaces and set order', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  const windowCoder = IntervalWindowCoder.of();
  const win = StateNamespaces.window(windowCoder, new IntervalWindow(0, 10));
  for (const key of ['x', 'y', 'z']) set(b, key, 'tie', 7);
  b.setCurrentKey('y');
  b.timerInternals.setTimer({ namespace: win, timerId: 'w', domain: E, timestamp: 9, outputTimestamp: 9 });
  const captured = b.captureChanges();
  const fresh = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), windowCoder });
  for (const kg of captured.keyGroups) fresh.restoreKeyGroup(kg, [captured.encodeKeyGroup(kg)]);
  assert.is(fresh.timerInternals.size, 4, 'timers are restored eagerly');
  assert.equal(drain(fresh, E, 8), [
    ['x', 'tie', 7],
    ['y', 'tie', 7],
    ['z', 'tie', 7],
  ]);
  const t = fresh.timerInternals.removeNextDueTimer(E, 9)!;
  assert.ok(t.namespace.equals(win));
  assert.ok(t.namespace.window?.equals(new IntervalWindow(0, 10)));
  // A timer set after restore fires after restored ties (the set order continues).
  set(fresh, 'a', 'late', 7);
  set(fresh, 'b', 'late', 7);
  assert.equal(drain(fresh, E, 7), [
    ['a', 'late', 7],
    ['b', 'late', 7],
  ]);
});

test('timers - bigint instants (end of the global window) order with numbers and survive restore', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  b.setCurrentKey('a');
  b.timerInternals.setTimer({
    namespace: g,
    timerId: 'end',
    domain: E,
    timestamp: GlobalWindow.MAX_TIMESTAMP,
    outputTimestamp: GlobalWindow.MAX_TIMESTAMP,
  });
  b.timerInternals.setTimer({ namespace: g, timerId: 'soon', domain: E, timestamp: 5, outputTimestamp: 5 });
  const c = b.captureChanges();
  const fresh = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  for (const kg of c.keyGroups) fresh.restoreKeyGroup(kg, [c.encodeKeyGroup(kg)]);
  assert.is(fresh.timerInternals.removeNextDueTimer(E, 1000)?.timerId, 'soon');
  assert.is(fresh.timerInternals.removeNextDueTimer(E, 1000), undefined);
  const end = fresh.timerInternals.removeNextDueTimer(E, BoundedWindow.TIMESTAMP_MAX_VALUE)!;
  assert.is(end.timerId, 'end');
  assert.is(end.timestamp, GlobalWindow.MAX_TIMESTAMP);
});

test('timers - match a sorted model under random sets, deletes and firings', () => {
  const op = fc.oneof(
    fc.record({
      set: fc.constantFrom('a', 'b', 'c'),
      id: fc.constantFrom('t1', 't2'),
      t: fc.integer({ min: 0, max: 30 }),
    }),
    fc.record({ del: fc.constantFrom('a', 'b', 'c'), id: fc.constantFrom('t1', 't2') }),
    fc.record({ fire: fc.integer({ min: 0, max: 30 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
      const model = new Map<string, { key: string; id: string; t: number; seq: number }>();
      let seq = 0;
      for (const o of ops) {
        if ('set' in o) {
          set(b, o.set, o.id, o.t);
          model.set(`${o.set}/${o.id}`, { key: o.set, id: o.id, t: o.t, seq: seq++ });
        } else if ('del' in o) {
          b.setCurrentKey(o.del);
          b.timerInternals.deleteTimer(g, o.id, E);
          model.delete(`${o.del}/${o.id}`);
        } else {
          const due = [...model.values()].filter((x) => x.t <= o.fire).sort((x, y) => x.t - y.t || x.seq - y.seq);
          for (const x of due) model.delete(`${x.key}/${x.id}`);
          assert.equal(
            drain(b, E, o.fire),
            due.map((x) => [x.key, x.id, x.t]),
          );
        }
        assert.is(b.timerInternals.size, model.size);
      }
    }),
    { numRuns: 200 },
  );
});

test.run();
