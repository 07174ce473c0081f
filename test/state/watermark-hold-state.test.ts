import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StringUtf8Coder } from '../../coders/index.ts';
import { createKeyedStateBackend, StateNamespaces, StateTags, TimestampCombiner } from '../../src/state/index.ts';
import { statesUnderTest } from './support/state-under-test.ts';

test('watermark hold - EARLIEST keeps the minimum, LATEST the maximum, END_OF_WINDOW the first', () => {
  const cases = [
    [TimestampCombiner.EARLIEST, 10],
    [TimestampCombiner.LATEST, 30],
    [TimestampCombiner.END_OF_WINDOW, 20],
  ] as const;
  for (const [combiner, expected] of cases) {
    for (const { state } of statesUnderTest(StateTags.watermarkStateInternal('h', combiner))) {
      assert.is(state.read(), null);
      assert.is(state.getTimestampCombiner(), combiner);
      for (const t of [20, 10, 30]) state.add(t);
      assert.is(state.read(), expected);
      state.clear();
      assert.is(state.read(), null);
      assert.is(state.isEmpty().read(), true);
    }
  }
});

test('watermark hold - a non-integer timestamp is a StateError', () => {
  for (const { state } of statesUnderTest(StateTags.watermarkStateInternal('h', TimestampCombiner.EARLIEST))) {
    assert.throws(
      () => state.add(1.5),
      (e: { code: string }) => e.code === 'STATE_ERROR',
    );
  }
});

test('watermark hold - the backend knows the minimum hold over all keys', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  const hold = b.boundState(
    StateNamespaces.global(),
    StateTags.watermarkStateInternal('h', TimestampCombiner.EARLIEST),
  );
  assert.is(b.minimumWatermarkHold(), undefined);
  b.setCurrentKey('a');
  hold.add(50);
  b.setCurrentKey('b');
  hold.add(20);
  b.setCurrentKey('c');
  hold.add(20);
  assert.is(b.minimumWatermarkHold(), 20);
  b.setCurrentKey('b');
  hold.clear();
  assert.is(b.minimumWatermarkHold(), 20);
  b.setCurrentKey('c');
  hold.clear();
  assert.is(b.minimumWatermarkHold(), 50);
  b.captureChanges();
  b.setCurrentKey('a');
  hold.clear();
  assert.is(b.minimumWatermarkHold(), undefined);
});

test.run();
