import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SlidingWindows, WindowingError } from '../../src/windowing/index.ts';
import { expected, runWindowFn, set, sorted } from './support/window-fn-test-utils.ts';

// Port of Beam Java's SlidingWindowsTest (names kept); durations in milliseconds. Not ported:
// testGetSideInputWindow (side inputs), testValidOutputTimes and testOutputTimesNonInterference
// (OutputTimeFn), testDisplayData.

const test = suite('SlidingWindows (Beam SlidingWindowsTest)');

test('SlidingWindowsTest.testSimple', () => {
  assert.equal(
    sorted(runWindowFn(SlidingWindows.of(10).every(5), [1, 2, 5, 9, 10, 11])),
    sorted(expected([-5, 5, set(1, 2)], [0, 10, set(1, 2, 5, 9)], [5, 15, set(5, 9, 10, 11)], [10, 20, set(10, 11)])),
  );
});

test('SlidingWindowsTest.testSlightlyOverlapping', () => {
  assert.equal(
    sorted(runWindowFn(SlidingWindows.of(7).every(5), [1, 2, 5, 9, 10, 11])),
    sorted(expected([-5, 2, set(1)], [0, 7, set(1, 2, 5)], [5, 12, set(5, 9, 10, 11)], [10, 17, set(10, 11)])),
  );
});

test('SlidingWindowsTest.testElidings', () => {
  assert.equal(
    sorted(runWindowFn(SlidingWindows.of(3).every(10), [1, 2, 3, 5, 9, 10, 11, 100])),
    sorted(expected([0, 3, set(1, 2)], [10, 13, set(10, 11)], [100, 103, set(100)])),
  );
});

test('SlidingWindowsTest.testOffset', () => {
  assert.equal(
    sorted(runWindowFn(SlidingWindows.of(10).every(5).withOffset(2), [1, 2, 5, 9, 10, 11])),
    sorted(expected([-8, 2, set(1)], [-3, 7, set(1, 2, 5)], [2, 12, set(2, 5, 9, 10, 11)], [7, 17, set(9, 10, 11)])),
  );
});

test('SlidingWindowsTest.testTimeUnit', () => {
  assert.equal(
    sorted(runWindowFn(SlidingWindows.of(10_000).every(5_000), [1, 2, 1000, 5000, 5001, 10000])),
    sorted(
      expected(
        [-5000, 5000, set(1, 2, 1000)],
        [0, 10000, set(1, 2, 1000, 5000, 5001)],
        [5000, 15000, set(5000, 5001, 10000)],
        [10000, 20000, set(10000)],
      ),
    ),
  );
});

test('SlidingWindowsTest.testDefaultPeriods', () => {
  const HOUR = 3_600_000;
  const MINUTE = 60_000;
  assert.is(SlidingWindows.getDefaultPeriod(24 * HOUR), HOUR);
  assert.is(SlidingWindows.getDefaultPeriod(2 * HOUR), HOUR);
  assert.is(SlidingWindows.getDefaultPeriod(HOUR), MINUTE);
  assert.is(SlidingWindows.getDefaultPeriod(10 * MINUTE), MINUTE);
  assert.is(SlidingWindows.getDefaultPeriod(MINUTE), 1000);
  assert.is(SlidingWindows.getDefaultPeriod(10_000), 1000);
  assert.is(SlidingWindows.getDefaultPeriod(1000), 1);
  assert.is(SlidingWindows.getDefaultPeriod(10), 1);
  assert.is(SlidingWindows.getDefaultPeriod(1), 1);
});

test('SlidingWindowsTest.testEquality', () => {
  assert.ok(SlidingWindows.of(10).isCompatible(SlidingWindows.of(10)));
  assert.not.ok(SlidingWindows.of(10).isCompatible(SlidingWindows.of(20)));
});

test('invalid size, period or offset is a WindowingError with Beam message', () => {
  for (const make of [
    () => SlidingWindows.of(0),
    () => SlidingWindows.of(10).every(5).withOffset(5),
    () => SlidingWindows.of(10).every(5).withOffset(-1),
  ]) {
    assert.throws(
      make,
      (e: unknown) => e instanceof WindowingError && /0 <= offset < period and 0 < size/.test(e.message),
    );
  }
});

test('property: the windows of a timestamp are exactly those on the grid that contain it', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 1, max: 1000 }),
      (ts, size, period) => {
        const windows = SlidingWindows.of(size).every(period).assignWindows(ts);
        for (const w of windows) {
          assert.ok(w.contains(ts));
          assert.is(w.durationMs(), size);
          assert.is(((Number(w.start) % period) + period) % period, 0);
        }
        // Every grid start s with s <= ts < s + size is there: count = #multiples of period in (ts - size, ts].
        const count = Math.floor(ts / period) - Math.floor((ts - size) / period);
        assert.is(windows.length, count);
      },
    ),
  );
});

test.run();
