import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BoundedWindow } from '../../coders/index.ts';
import { CheckpointConfigError, CheckpointTrigger } from '../../src/checkpoint/index.ts';

function trigger(
  options: { eventTimeIntervalMs?: number | undefined; minSpacingMs?: number; maxSpacingMs?: number } = {},
  initial?: number,
) {
  const clock = { now: 0 };
  const t = new CheckpointTrigger(
    { eventTimeIntervalMs: 1000, minSpacingMs: 100, maxSpacingMs: 10_000, ...options, clock: () => clock.now },
    initial,
  );
  return { t, clock };
}

test('trigger - due when the watermark reaches the next multiple of the interval', () => {
  const { t, clock } = trigger({}, 2500);
  clock.now = 200;
  assert.is(t.check(2999), undefined);
  assert.is(t.check(3000), 'watermark');
  t.checkpointed(3000);
  clock.now = 400;
  assert.is(t.check(3999), undefined);
  assert.is(t.check(4000), 'watermark');
});

test('trigger - a watermark jumping over several boundaries gives one checkpoint, not a burst', () => {
  const { t, clock } = trigger({}, 0);
  clock.now = 500;
  assert.is(t.check(7_500), 'watermark');
  t.checkpointed(7_500);
  clock.now = 1000;
  assert.is(t.check(7_900), undefined);
  assert.is(t.check(8_000), 'watermark');
});

test('trigger - the first watermark seen sets the first boundary without triggering', () => {
  const { t, clock } = trigger();
  clock.now = 500;
  assert.is(t.check(BoundedWindow.TIMESTAMP_MIN_VALUE), undefined);
  assert.is(t.check(1_234), undefined);
  assert.is(t.check(1_999), undefined);
  assert.is(t.check(2_000), 'watermark');
});

test('trigger - the minimum spacing holds a watermark checkpoint back until it elapses', () => {
  const { t, clock } = trigger({}, 0);
  clock.now = 50;
  assert.is(t.check(5000), undefined);
  clock.now = 100;
  assert.is(t.check(5000), 'watermark');
});

test('trigger - a stalled watermark still checkpoints after the maximum spacing', () => {
  const { t, clock } = trigger({}, 0);
  clock.now = 9_999;
  assert.is(t.check(10), undefined);
  clock.now = 10_000;
  assert.is(t.check(10), 'max-spacing');
  t.checkpointed(10);
  clock.now = 15_000;
  assert.is(t.check(10), undefined);
});

test('trigger - without an event-time interval only wall-clock spacing applies', () => {
  const { t, clock } = trigger({ eventTimeIntervalMs: undefined }, 0);
  clock.now = 5_000;
  assert.is(t.check(1e12), undefined);
  clock.now = 10_000;
  assert.is(t.check(1e12), 'max-spacing');
});

test('trigger - on demand and stop ignore spacing; stop stays', () => {
  const { t, clock } = trigger({}, 0);
  t.request();
  assert.is(t.check(0), 'on-demand');
  t.checkpointed(0);
  assert.is(t.check(0), undefined);
  t.requestStop();
  assert.is(t.check(0), 'stop');
  t.checkpointed(0);
  clock.now = 1;
  assert.is(t.check(0), 'stop');
});

test('trigger - the end-of-input watermark triggers once, then never by watermark', () => {
  const { t, clock } = trigger({}, 0);
  clock.now = 200;
  assert.is(t.check(BoundedWindow.TIMESTAMP_MAX_VALUE), 'watermark');
  t.checkpointed(BoundedWindow.TIMESTAMP_MAX_VALUE);
  clock.now = 400;
  assert.is(t.check(BoundedWindow.TIMESTAMP_MAX_VALUE), undefined);
});

test('trigger - invalid spacing or interval is a CheckpointConfigError', () => {
  assert.throws(
    () => new CheckpointTrigger({ eventTimeIntervalMs: 0 }),
    (e: unknown) => e instanceof CheckpointConfigError,
  );
  assert.throws(
    () => new CheckpointTrigger({ minSpacingMs: 10, maxSpacingMs: 5 }),
    (e: unknown) => e instanceof CheckpointConfigError,
  );
});

test.run();
