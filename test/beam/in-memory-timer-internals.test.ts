// A port of Apache Beam's runners-core InMemoryTimerInternalsTest, keeping Beam's test names, and the
// runtime's own timers (HeapTimerInternals) checked against InMemoryTimerInternals.
//
// Adapted, and why: Beam's TimerData.of(namespace, timestamp, outputTimestamp, domain) derives the
// timer id "<domain ordinal>:<millis>"; `timerData` below does the same. TimerData is a plain object
// here, compared field by field (Beam's TimerData.equals).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { StringUtf8Coder, type Instant } from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  InMemoryTimerInternals,
  StateError,
  TimeDomain,
  type StateNamespace,
  type TimerData,
} from '../../src/state/index.ts';
import { StateNamespaceForTest } from './state-namespace-for-test.ts';

const test = suite('InMemoryTimerInternalsTest');
const NS1 = new StateNamespaceForTest('NS1');
const ID1 = 'id1';
const ID2 = 'id2';
const ORDINAL = { EVENT_TIME: 0, PROCESSING_TIME: 1, SYNCHRONIZED_PROCESSING_TIME: 2 };

function timerData(
  namespace: StateNamespace,
  timestamp: Instant,
  outputTimestamp: Instant,
  domain: TimeDomain,
): TimerData;
function timerData(
  timerId: string,
  namespace: StateNamespace,
  timestamp: Instant,
  outputTimestamp: Instant,
  domain: TimeDomain,
): TimerData;
function timerData(
  timerId: string,
  timerFamilyId: string,
  namespace: StateNamespace,
  timestamp: Instant,
  outputTimestamp: Instant,
  domain: TimeDomain,
): TimerData;
function timerData(...args: unknown[]): TimerData {
  if (args.length === 4) {
    const [namespace, timestamp, outputTimestamp, domain] = args as [StateNamespace, Instant, Instant, TimeDomain];
    return timerData(`${ORDINAL[domain]}:${timestamp}`, namespace, timestamp, outputTimestamp, domain);
  }
  if (args.length === 5) {
    const [timerId, namespace, timestamp, outputTimestamp, domain] = args as [
      string,
      StateNamespace,
      Instant,
      Instant,
      TimeDomain,
    ];
    return { timerId, timerFamilyId: '', namespace, timestamp, outputTimestamp, domain };
  }
  const [timerId, timerFamilyId, namespace, timestamp, outputTimestamp, domain] = args as [
    string,
    string,
    StateNamespace,
    Instant,
    Instant,
    TimeDomain,
  ];
  return { timerId, timerFamilyId, namespace, timestamp, outputTimestamp, domain };
}

/** Beam's TimerData.equals. */
function assertTimer(actual: TimerData | null, expected: TimerData | null): void {
  if (expected === null) {
    assert.is(actual, null);
    return;
  }
  assert.ok(actual !== null, `expected ${expected.timerId}, got null`);
  assert.is(actual.timerId, expected.timerId);
  assert.is(actual.timerFamilyId ?? '', expected.timerFamilyId ?? '');
  assert.ok(actual.namespace.equals(expected.namespace));
  assert.is(actual.timestamp, expected.timestamp);
  assert.is(actual.outputTimestamp, expected.outputTimestamp);
  assert.is(actual.domain, expected.domain);
}

test('testFiringEventTimers', () => {
  const underTest = new InMemoryTimerInternals();
  const eventTimer1 = timerData(ID1, NS1, 19, 19, TimeDomain.EVENT_TIME);
  const eventTimer2 = timerData(ID2, NS1, 29, 29, TimeDomain.EVENT_TIME);

  underTest.setTimer(eventTimer1);
  underTest.setTimer(eventTimer2);

  underTest.advanceInputWatermark(20);
  assertTimer(underTest.removeNextEventTimer(), eventTimer1);
  assertTimer(underTest.removeNextEventTimer(), null);

  // Advancing just a little shouldn't refire
  underTest.advanceInputWatermark(21);
  assertTimer(underTest.removeNextEventTimer(), null);

  // Adding the timer and advancing a little should refire
  underTest.setTimer(eventTimer1);
  assertTimer(underTest.removeNextEventTimer(), eventTimer1);
  assertTimer(underTest.removeNextEventTimer(), null);

  // And advancing the rest of the way should still have the other timer
  underTest.advanceInputWatermark(30);
  assertTimer(underTest.removeNextEventTimer(), eventTimer2);
  assertTimer(underTest.removeNextEventTimer(), null);
});

test('testResetById', () => {
  const underTest = new InMemoryTimerInternals();
  const earlyTimestamp = 13;
  const laterTimestamp = 42;

  underTest.advanceInputWatermark(0);
  underTest.setTimer(NS1, ID1, '', earlyTimestamp, earlyTimestamp, TimeDomain.EVENT_TIME);
  underTest.setTimer(NS1, ID1, '', laterTimestamp, laterTimestamp, TimeDomain.EVENT_TIME);
  underTest.advanceInputWatermark(earlyTimestamp + 1);
  assertTimer(underTest.removeNextEventTimer(), null);

  underTest.advanceInputWatermark(laterTimestamp + 1);
  assertTimer(
    underTest.removeNextEventTimer(),
    timerData(ID1, '', NS1, laterTimestamp, laterTimestamp, TimeDomain.EVENT_TIME),
  );
});

test('testDeletionIdempotent', () => {
  const underTest = new InMemoryTimerInternals();
  const timestamp = 42;
  underTest.setTimer(NS1, ID1, ID1, timestamp, timestamp, TimeDomain.EVENT_TIME);
  underTest.deleteTimer(NS1, ID1, ID1);
  underTest.deleteTimer(NS1, ID1, ID1);
});

test('testDeletionById', () => {
  const underTest = new InMemoryTimerInternals();
  const timestamp = 42;

  underTest.advanceInputWatermark(0);
  underTest.setTimer(NS1, ID1, ID1, timestamp, timestamp, TimeDomain.EVENT_TIME);
  underTest.deleteTimer(NS1, ID1, ID1);
  underTest.advanceInputWatermark(43);

  assertTimer(underTest.removeNextEventTimer(), null);
});

test('testFiringProcessingTimeTimers', () => {
  const underTest = new InMemoryTimerInternals();
  const processingTime1 = timerData(NS1, 19, 19, TimeDomain.PROCESSING_TIME);
  const processingTime2 = timerData(NS1, 29, 29, TimeDomain.PROCESSING_TIME);

  underTest.setTimer(processingTime1);
  underTest.setTimer(processingTime2);

  underTest.advanceProcessingTime(20);
  assertTimer(underTest.removeNextProcessingTimer(), processingTime1);
  assertTimer(underTest.removeNextProcessingTimer(), null);

  // Advancing just a little shouldn't refire
  underTest.advanceProcessingTime(21);
  assertTimer(underTest.removeNextProcessingTimer(), null);

  // Adding the timer and advancing a little should fire again
  underTest.setTimer(processingTime1);
  underTest.advanceProcessingTime(21);
  assertTimer(underTest.removeNextProcessingTimer(), processingTime1);
  assertTimer(underTest.removeNextProcessingTimer(), null);

  // And advancing the rest of the way should still have the other timer
  underTest.advanceProcessingTime(30);
  assertTimer(underTest.removeNextProcessingTimer(), processingTime2);
  assertTimer(underTest.removeNextProcessingTimer(), null);
});

test('testTimerOrdering', () => {
  const underTest = new InMemoryTimerInternals();
  const eventTime1 = timerData(NS1, 19, 19, TimeDomain.EVENT_TIME);
  const processingTime1 = timerData(NS1, 19, 19, TimeDomain.PROCESSING_TIME);
  const synchronizedProcessingTime1 = timerData(NS1, 19, 19, TimeDomain.SYNCHRONIZED_PROCESSING_TIME);
  const eventTime2 = timerData(NS1, 29, 29, TimeDomain.EVENT_TIME);
  const processingTime2 = timerData(NS1, 29, 29, TimeDomain.PROCESSING_TIME);
  const synchronizedProcessingTime2 = timerData(NS1, 29, 29, TimeDomain.SYNCHRONIZED_PROCESSING_TIME);

  underTest.setTimer(processingTime1);
  underTest.setTimer(eventTime1);
  underTest.setTimer(synchronizedProcessingTime1);
  underTest.setTimer(processingTime2);
  underTest.setTimer(eventTime2);
  underTest.setTimer(synchronizedProcessingTime2);

  assertTimer(underTest.removeNextEventTimer(), null);
  underTest.advanceInputWatermark(30);
  assertTimer(underTest.removeNextEventTimer(), eventTime1);
  assertTimer(underTest.removeNextEventTimer(), eventTime2);
  assertTimer(underTest.removeNextEventTimer(), null);

  assertTimer(underTest.removeNextProcessingTimer(), null);
  underTest.advanceProcessingTime(30);
  assertTimer(underTest.removeNextProcessingTimer(), processingTime1);
  assertTimer(underTest.removeNextProcessingTimer(), processingTime2);
  assertTimer(underTest.removeNextProcessingTimer(), null);

  assertTimer(underTest.removeNextSynchronizedProcessingTimer(), null);
  underTest.advanceSynchronizedProcessingTime(30);
  assertTimer(underTest.removeNextSynchronizedProcessingTimer(), synchronizedProcessingTime1);
  assertTimer(underTest.removeNextSynchronizedProcessingTimer(), synchronizedProcessingTime2);
  assertTimer(underTest.removeNextProcessingTimer(), null);
});

test('testDeduplicate', () => {
  const underTest = new InMemoryTimerInternals();
  const eventTime = timerData(NS1, 19, 19, TimeDomain.EVENT_TIME);
  const processingTime = timerData(NS1, 19, 19, TimeDomain.PROCESSING_TIME);
  underTest.setTimer(eventTime);
  underTest.setTimer(eventTime);
  underTest.setTimer(processingTime);
  underTest.setTimer(processingTime);
  underTest.advanceProcessingTime(20);
  underTest.advanceInputWatermark(20);

  assertTimer(underTest.removeNextProcessingTimer(), processingTime);
  assertTimer(underTest.removeNextProcessingTimer(), null);
  assertTimer(underTest.removeNextEventTimer(), eventTime);
  assertTimer(underTest.removeNextEventTimer(), null);
});

test.run();

// ---- beyond Beam's suite ---------------------------------------------------------------------------
const more = suite('InMemoryTimerInternals (stator)');

more(
  'clocks start at TIMESTAMP_MIN_VALUE, never move back; the output watermark is clipped to the input watermark',
  () => {
    const t = new InMemoryTimerInternals();
    assert.is(t.currentInputWatermarkTime(), -9223372036854775n);
    assert.is(t.currentProcessingTime(), -9223372036854775n);
    assert.is(t.currentSynchronizedProcessingTime(), -9223372036854775n);
    assert.is(t.currentOutputWatermarkTime(), null);
    t.advanceInputWatermark(10);
    assert.throws(
      () => t.advanceInputWatermark(9),
      (e: unknown) => e instanceof StateError && /backwards/.test((e as Error).message),
    );
    t.advanceOutputWatermark(50);
    assert.is(t.currentOutputWatermarkTime(), 10);
    assert.throws(
      () => t.advanceOutputWatermark(5),
      (e: unknown) => e instanceof StateError,
    );
    t.advanceProcessingTime(7);
    assert.throws(
      () => t.advanceProcessingTime(6),
      (e: unknown) => e instanceof StateError,
    );
    assert.is(t.getNextTimer(TimeDomain.EVENT_TIME), null);
    t.setTimer(NS1, ID1, '', 30, 30, TimeDomain.EVENT_TIME);
    t.setTimer(NS1, ID2, '', 20, 20, TimeDomain.EVENT_TIME);
    assert.is(t.getNextTimer(TimeDomain.EVENT_TIME), 20);
    assert.throws(
      () => t.setTimer(NS1, ID1, '', 30, 30, TimeDomain.PROCESSING_TIME),
      /already set for time domain EVENT_TIME/,
    );
  },
);

more('a timer at exactly the watermark is not due (Beam: the clock must be after it)', () => {
  const t = new InMemoryTimerInternals();
  t.setTimer(NS1, ID1, '', 20, 20, TimeDomain.EVENT_TIME);
  t.advanceInputWatermark(20);
  assert.is(t.removeNextEventTimer(), null);
  t.advanceInputWatermark(21);
  assert.is(t.removeNextEventTimer()?.timerId, ID1);
});

// The runtime's timers (HeapTimerInternals, through a backend with one key) fire what
// InMemoryTimerInternals fires, at the same clocks: same timers, same timestamps, in timestamp order.
// Known, documented differences are kept out of the generated operations: the runtime orders timers
// with equal timestamps in the order they were set (Beam: by TimerData order), keys a timer by
// (namespace, id, domain) (Beam: by namespace and id, refusing a second domain), and replaces a
// timer set again at the same timestamp with its new output timestamp (Beam keeps the first).
more('the runtime timers fire as InMemoryTimerInternals does (property)', () => {
  const namespaces = [new StateNamespaceForTest('/a/'), new StateNamespaceForTest('/b/')];
  const domains = [TimeDomain.EVENT_TIME, TimeDomain.PROCESSING_TIME] as const;
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('set' as const),
      ns: fc.nat(1),
      id: fc.nat(3),
      domain: fc.nat(1),
      t: fc.integer({ min: 0, max: 60 }),
    }),
    fc.record({ kind: fc.constant('delete' as const), ns: fc.nat(1), id: fc.nat(3), domain: fc.nat(1) }),
    fc.record({ kind: fc.constant('advance' as const), domain: fc.nat(1), by: fc.integer({ min: 0, max: 15 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const beam = new InMemoryTimerInternals();
      const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
      backend.setCurrentKey('k');
      const runtime = backend.timerInternals;
      const clocks = [0, 0];
      beam.advanceInputWatermark(0);
      beam.advanceProcessingTime(0);
      const firedBeam: string[] = [];
      const firedRuntime: string[] = [];
      const describe = (t: TimerData): string =>
        `${t.domain}@${String(t.timestamp)}:${t.namespace.stringKey()}:${t.timerId}`;
      for (const o of ops) {
        const domain = domains[o.domain]!;
        if (o.kind === 'set') {
          // One domain per id, as Beam requires: the id carries its domain.
          const id = `${domain}-${o.id}`;
          const ns = namespaces[o.ns]!;
          beam.setTimer(ns, id, '', o.t, o.t, domain);
          runtime.setTimer({ namespace: ns, timerId: id, domain, timestamp: o.t, outputTimestamp: o.t });
        } else if (o.kind === 'delete') {
          const id = `${domain}-${o.id}`;
          beam.deleteTimer(namespaces[o.ns]!, id, '', domain);
          runtime.deleteTimer(namespaces[o.ns]!, id, domain);
        } else {
          clocks[o.domain]! += o.by;
          const now = clocks[o.domain]!;
          if (domain === TimeDomain.EVENT_TIME) beam.advanceInputWatermark(now);
          else beam.advanceProcessingTime(now);
          const fromBeam: string[] = [];
          for (;;) {
            const t = domain === TimeDomain.EVENT_TIME ? beam.removeNextEventTimer() : beam.removeNextProcessingTimer();
            if (t === null) break;
            fromBeam.push(describe(t));
          }
          const fromRuntime: string[] = [];
          for (;;) {
            // The runner's rule: due once the clock has passed t (upTo is inclusive).
            const t = runtime.removeNextDueTimer(domain, now - 1);
            if (t === undefined) break;
            fromRuntime.push(describe(t));
          }
          // Same timestamps in the same order; ties compared as sets.
          const ts = (xs: string[]) => xs.map((x) => x.split(':')[0]);
          assert.equal(ts(fromRuntime), ts(fromBeam));
          assert.equal([...fromRuntime].sort(), [...fromBeam].sort());
          firedBeam.push(...fromBeam);
          firedRuntime.push(...fromRuntime);
        }
        for (const d of domains) assert.is(runtime.nextTimerTimestamp(d) ?? null, beam.getNextTimer(d));
      }
      assert.is(firedRuntime.length, firedBeam.length);
    }),
    { numRuns: 300 },
  );
});

more.run();
