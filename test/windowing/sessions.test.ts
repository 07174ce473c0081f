import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IntervalWindow } from '../../coders/index.ts';
import { FixedWindows, Sessions, WindowingError, mergeOverlappingIntervalWindows } from '../../src/windowing/index.ts';
import { expected, runWindowFn, set, sorted } from './support/window-fn-test-utils.ts';

// Port of Beam Java's SessionsTest (names kept); durations in milliseconds. Not ported:
// testValidOutputTimes, testInvalidOutputAtEarliest and testValidOutputAtEndTimes (OutputTimeFn and
// output-time validation, not in stator).

const test = suite('Sessions (Beam SessionsTest)');

test('SessionsTest.testSimple', () => {
  assert.equal(
    sorted(runWindowFn(Sessions.withGapDuration(10), [0, 10, 101])),
    sorted(expected([0, 10, set(0)], [10, 20, set(10)], [101, 111, set(101)])),
  );
});

test('SessionsTest.testConsecutive', () => {
  assert.equal(
    sorted(runWindowFn(Sessions.withGapDuration(10), [1, 2, 5, 9, 100, 101])),
    sorted(expected([1, 19, set(1, 2, 5, 9)], [100, 111, set(100, 101)])),
  );
});

test('SessionsTest.testMerging', () => {
  assert.equal(
    sorted(runWindowFn(Sessions.withGapDuration(10), [1, 15, 30, 100, 101, 95, 22, 10])),
    sorted(expected([1, 40, set(1, 10, 15, 22, 30)], [95, 111, set(95, 100, 101)])),
  );
});

test('SessionsTest.testTimeUnit', () => {
  assert.equal(
    sorted(runWindowFn(Sessions.withGapDuration(1000), [1, 2, 1000, 5000, 5001, 10000])),
    sorted(expected([1, 2000, set(1, 2, 1000)], [5000, 6001, set(5000, 5001)], [10000, 11000, set(10000)])),
  );
});

test('SessionsTest.testEquality', () => {
  assert.ok(Sessions.withGapDuration(10).isCompatible(Sessions.withGapDuration(10)));
  assert.ok(Sessions.withGapDuration(10).isCompatible(Sessions.withGapDuration(20)));
  assert.not.ok(Sessions.withGapDuration(10).isCompatible(FixedWindows.of(10)));
});

test('a gap that is not a positive integer of milliseconds is a WindowingError', () => {
  for (const gap of [0, -1, 1.5, Number.NaN])
    assert.throws(
      () => Sessions.withGapDuration(gap),
      (e: unknown) => e instanceof WindowingError,
    );
});

test('mergeOverlappingIntervalWindows: touching windows stay apart, a chain merges into its span', () => {
  const merges = mergeOverlappingIntervalWindows([
    new IntervalWindow(10, 20),
    new IntervalWindow(0, 10),
    new IntervalWindow(15, 30),
    new IntervalWindow(29, 31),
  ]);
  assert.is(merges.length, 1);
  assert.equal(merges[0]!.toBeMerged.map(String), ['[10..20)', '[15..30)', '[29..31)']);
  assert.ok(merges[0]!.mergeResult.equals(new IntervalWindow(10, 31)));
});

test('property: sessions of any arrival order are the gap-separated runs of the sorted timestamps', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 1, max: 50 }),
      (timestamps, gap) => {
        const actual = runWindowFn(Sessions.withGapDuration(gap), timestamps);
        const sortedTs = [...new Set(timestamps)].sort((a, b) => a - b);
        const want = new Map<string, string[]>();
        let run: number[] = [];
        const close = (): void => {
          if (run.length > 0) want.set(`[${run[0]}..${run.at(-1)! + gap})`, run.map(String));
          run = [];
        };
        for (const t of sortedTs) {
          if (run.length > 0 && t >= run.at(-1)! + gap) close();
          run.push(t);
        }
        close();
        assert.equal(sorted(actual), sorted(want));
      },
    ),
  );
});

test.run();
