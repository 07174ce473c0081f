import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BoundedWindow,
  CoderError,
  CoderUtils,
  GlobalWindow,
  GlobalWindowCoder,
  InstantCoder,
  IntervalWindow,
  TimestampedValue,
  instantEquals,
  instantPlus,
} from '../../coders/index.ts';

const test = suite('windows and timestamps');

test("Beam's timestamp bounds and the global window's max timestamp are exact", () => {
  assert.is(BoundedWindow.TIMESTAMP_MIN_VALUE, -9223372036854775n);
  assert.is(BoundedWindow.TIMESTAMP_MAX_VALUE, 9223372036854775n);
  assert.is(GlobalWindow.INSTANCE.maxTimestamp(), 9223372036854775n - 86_400_000n);
  assert.ok(
    Date.now() < BoundedWindow.TIMESTAMP_MAX_VALUE && Date.now() > BoundedWindow.TIMESTAMP_MIN_VALUE,
    'numbers compare with the bigint bounds',
  );
});

test('the bounds round-trip through InstantCoder', () => {
  for (const t of [
    BoundedWindow.TIMESTAMP_MIN_VALUE,
    BoundedWindow.TIMESTAMP_MAX_VALUE,
    GlobalWindow.INSTANCE.maxTimestamp(),
  ]) {
    assert.is(CoderUtils.clone(InstantCoder.of(), t), t);
  }
  assert.is(CoderUtils.clone(InstantCoder.of(), 5n), 5, 'a bigint inside the safe range comes back as a number');
});

test('an interval window is half-open: it contains start, not end; maxTimestamp is end - 1', () => {
  const w = new IntervalWindow(1000, 2000);
  assert.ok(w.contains(1000));
  assert.ok(w.contains(1999));
  assert.not.ok(w.contains(2000));
  assert.is(w.maxTimestamp(), 1999);
  assert.ok(w.equals(new IntervalWindow(1000n, 2000n)));
  assert.not.ok(w.equals(new IntervalWindow(1000, 2001)));
  assert.ok(w.intersects(new IntervalWindow(1999, 3000)));
  assert.not.ok(w.intersects(new IntervalWindow(2000, 3000)));
  assert.ok(w.span(new IntervalWindow(3000, 4000)).equals(new IntervalWindow(1000, 4000)));
});

test('windows near the bounds keep exact bigint times', () => {
  const w = new IntervalWindow(-9223372036854775n, -9223372036854410n);
  assert.is(w.durationMs(), 365);
  assert.is(w.maxTimestamp(), -9223372036854411n);
  const edge = new IntervalWindow(0, 2 ** 53 - 1);
  assert.is(edge.maxTimestamp(), 2 ** 53 - 2);
  assert.is(instantPlus(2 ** 53 - 1, 1), 2n ** 53n);
  assert.ok(instantEquals(2n ** 52n, 2 ** 52));
});

test('a fractional time is rejected', () => {
  assert.throws(
    () => new IntervalWindow(0.5, 1000),
    (e: unknown) => e instanceof CoderError,
  );
  assert.throws(
    () => TimestampedValue.of('x', Number.NaN),
    (e: unknown) => e instanceof CoderError,
  );
});

test('TimestampedValue.of exposes value and timestamp', () => {
  const tv = TimestampedValue.of({ word: 'a' }, 42);
  assert.equal(tv.value, { word: 'a' });
  assert.is(tv.timestamp, 42);
});

test('the global window is one instance, encoded as no bytes', () => {
  assert.ok(GlobalWindow.INSTANCE.equals(GlobalWindow.INSTANCE));
  assert.is(CoderUtils.encodeToByteArray(GlobalWindowCoder.of(), GlobalWindow.INSTANCE).length, 0);
  assert.is(CoderUtils.decodeFromByteArray(GlobalWindowCoder.of(), new Uint8Array(0)), GlobalWindow.INSTANCE);
});

test.run();
