import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GlobalWindow, instantPlus } from '../../coders/index.ts';
import { FixedWindows, SlidingWindows, WindowingError } from '../../src/windowing/index.ts';
import { expected, runWindowFn, set, sorted } from './support/window-fn-test-utils.ts';

// Port of Beam Java's FixedWindowsTest (names kept). Durations are milliseconds (Beam's
// Duration.standardSeconds(10) is 10_000). Not ported: testDefaultWindowMappingFn* (side inputs),
// testValidOutputTimes (OutputTimeFn, not in stator), testDisplayData, testVerifyCompatibility
// (isCompatible is ported in testEquality).

const test = suite('FixedWindows (Beam FixedWindowsTest)');

test('FixedWindowsTest.testSimpleFixedWindow', () => {
  assert.equal(
    sorted(runWindowFn(FixedWindows.of(10), [1, 2, 5, 9, 10, 11, 100])),
    sorted(expected([0, 10, set(1, 2, 5, 9)], [10, 20, set(10, 11)], [100, 110, set(100)])),
  );
});

test('FixedWindowsTest.testFixedOffsetWindow', () => {
  assert.equal(
    sorted(runWindowFn(FixedWindows.of(10).withOffset(5), [1, 2, 5, 9, 10, 11, 100])),
    sorted(expected([-5, 5, set(1, 2)], [5, 15, set(5, 9, 10, 11)], [95, 105, set(100)])),
  );
});

test('FixedWindowsTest.testTimeUnit', () => {
  assert.equal(
    sorted(runWindowFn(FixedWindows.of(10_000).withOffset(5_000), [1, 2, 1000, 5000, 5001, 10000])),
    sorted(expected([-5000, 5000, set(1, 2, 1000)], [5000, 15000, set(5000, 5001, 10000)])),
  );
});

test('FixedWindowsTest.testEndOfTime', () => {
  const endOfGlobalWindow = GlobalWindow.INSTANCE.maxTimestamp();
  const truncated = FixedWindows.of(60 * 60 * 1000).assignWindow(instantPlus(endOfGlobalWindow, -1));
  assert.is(truncated.maxTimestamp(), endOfGlobalWindow);
});

test('FixedWindowsTest.testInvalidInput', () => {
  for (const [size, offset] of [
    [-1, 0],
    [1, 2],
    [1, -1],
  ] as const) {
    assert.throws(
      () => FixedWindows.of(size * 1000).withOffset(offset * 1000),
      (e: unknown) =>
        e instanceof WindowingError && /FixedWindows WindowingStrategies must have 0 <= offset < size/.test(e.message),
    );
  }
});

test('FixedWindowsTest.testEquality', () => {
  assert.ok(FixedWindows.of(10).isCompatible(FixedWindows.of(10)));
  assert.not.ok(FixedWindows.of(10).isCompatible(FixedWindows.of(20)));
  assert.not.ok(FixedWindows.of(10).isCompatible(SlidingWindows.of(10).every(10)));
});

test('property: the one window of a timestamp contains it, has the size, and starts on the offset grid (before 1970 too)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -(2 ** 50), max: 2 ** 50 }),
      fc.integer({ min: 1, max: 10 ** 9 }),
      fc.nat(),
      (ts, size, rawOffset) => {
        const offset = rawOffset % size;
        const [w] = FixedWindows.of(size).withOffset(offset).assignWindows(ts);
        assert.ok(w!.contains(ts), `${w} contains ${ts}`);
        assert.is(w!.durationMs(), size);
        assert.is((((Number(w!.start) - offset) % size) + size) % size, 0);
      },
    ),
  );
});

test.run();
