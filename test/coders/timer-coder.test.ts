import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CoderUtils,
  GlobalWindow,
  GlobalWindowCoder,
  IntervalWindow,
  IntervalWindowCoder,
  PaneInfo,
  StringUtf8Coder,
  TimerCoder,
  TimerValue,
} from '../../coders/index.ts';
import {
  coderConsistentWithEquals,
  coderDecodeEncodeEqual,
  coderDeterministic,
  structuralValueConsistentWithEquals,
  structuralValueDecodeEncodeEqual,
} from './support/coder-properties.ts';

// Ports of Beam Java's TimerTest (runners-core-construction; names kept) and Python's
// coders_test_common.py test_timer_coder. Beam's Timer is TimerValue here. Not ported:
// CoderProperties.coderSerializable (Java serialization).

const test = suite('TimerCoder (Beam TimerTest, coders_test_common)');
const FIRE_TIME = 123;
const HOLD_TIME = 456;
const GLOBAL = [GlobalWindow.INSTANCE];

test('TimerTest.testClearTimer', () => {
  const cleared = TimerValue.cleared('timer', 'tag', GLOBAL);
  assert.ok(cleared.clearBit);
  assert.is(cleared.userKey, 'timer');
  assert.is(cleared.dynamicTimerTag, 'tag');
  assert.equal(cleared.windows, GLOBAL);
});

test('TimerTest.testTimer', () => {
  const timer = TimerValue.of('key', 'tag', GLOBAL, FIRE_TIME, HOLD_TIME, PaneInfo.NO_FIRING);
  assert.is(timer.userKey, 'key');
  assert.is(timer.dynamicTimerTag, 'tag');
  assert.is(timer.fireTimestamp, FIRE_TIME);
  assert.is(timer.holdTimestamp, HOLD_TIME);
  assert.equal(timer.windows, GLOBAL);
  assert.is(timer.pane, PaneInfo.NO_FIRING);
  assert.not.ok(timer.clearBit);
});

const coder = TimerCoder.of(StringUtf8Coder.of(), GlobalWindowCoder.of());
const set = (): TimerValue<string> => TimerValue.of('key', 'tag', GLOBAL, FIRE_TIME, HOLD_TIME, PaneInfo.NO_FIRING);
const cleared = (): TimerValue<string> => TimerValue.cleared('key', 'tag', GLOBAL);

test('TimerTest.testTimerCoderWithInconsistentWithEqualsComponentCoders', () => {
  structuralValueDecodeEncodeEqual(coder, set());
  structuralValueDecodeEncodeEqual(coder, cleared());
  structuralValueConsistentWithEquals(coder, set(), set());
  structuralValueConsistentWithEquals(coder, cleared(), cleared());
});

test('TimerTest.testTimerCoderWithConsistentWithEqualsComponentCoders', () => {
  coderDecodeEncodeEqual(coder, set());
  coderDecodeEncodeEqual(coder, cleared());
  coderConsistentWithEquals(coder, set(), set());
  coderConsistentWithEquals(coder, cleared(), cleared());
  coderDeterministic(coder, set(), set());
  coderDeterministic(coder, cleared(), cleared());
});

test('coders_test_common.test_timer_coder', () => {
  coderDecodeEncodeEqual(coder, TimerValue.cleared('key', 'tag', GLOBAL));
  coderDecodeEncodeEqual(coder, TimerValue.of('key', 'tag', GLOBAL, 123, 456, PaneInfo.NO_FIRING));
});

test('a clear bit other than 0 or 1 is a CoderError', () => {
  const bytes = CoderUtils.encodeToByteArray(coder, cleared());
  bytes[bytes.length - 1] = 2;
  assert.throws(() => CoderUtils.decodeFromByteArray(coder, bytes), /clear bit 2/);
});

test('property: timers with any key, tag, windows and times round-trip', () => {
  const windowed = TimerCoder.of(StringUtf8Coder.of(), IntervalWindowCoder.of());
  const instant = fc.integer({ min: -(2 ** 45), max: 2 ** 45 });
  const windows = fc.array(
    fc.tuple(instant, instant).map(([a, b]) => new IntervalWindow(a, b)),
    { maxLength: 3 },
  );
  fc.assert(
    fc.property(
      fc.string(),
      fc.string(),
      windows,
      fc.option(fc.tuple(instant, instant), { nil: null }),
      (key, tag, ws, times) => {
        const timer =
          times === null
            ? TimerValue.cleared(key, tag, ws)
            : TimerValue.of(key, tag, ws, times[0], times[1], PaneInfo.NO_FIRING);
        coderDecodeEncodeEqual(windowed, timer);
      },
    ),
  );
});

test.run();
