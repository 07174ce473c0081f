import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CoderUtils,
  Context,
  InstantCoder,
  IntervalWindow,
  IntervalWindowCoder,
  KvCoder,
  VarLongCoder,
  instantMinus,
} from '../../coders/index.ts';
import { coderDecodeEncodeEqual } from './support/coder-properties.ts';

// Ports of Beam Java's IntervalWindowTest (names kept) and Python's coders_test_common.py
// test_interval_window_coder. Python's IntervalWindow takes seconds; the port uses the same windows
// in milliseconds (x * 1000, y * 1000), which is what Python encodes (it writes end // 1000 ms).

const test = suite('IntervalWindow (Beam IntervalWindowTest)');
const TEST_CODER = IntervalWindowCoder.of();
const iso = (s: string): number => Date.parse(s);

const TEST_VALUES = [
  new IntervalWindow(0, 0),
  new IntervalWindow(0, 1000),
  new IntervalWindow(-1000, 735),
  new IntervalWindow(350, 60 * 60 * 1000),
  new IntervalWindow(0, 24 * 60 * 60 * 1000),
  new IntervalWindow(iso('2015-04-01T00:00:00Z'), iso('2015-04-01T11:45:13Z')),
];

test('IntervalWindowTest.testBasicEncoding', () => {
  for (const window of TEST_VALUES) coderDecodeEncodeEqual(TEST_CODER, window);
});

test('IntervalWindowTest.testLengthsOfEncodingChoices', () => {
  const start = iso('2015-04-01T00:00:00Z');
  const minuteEnd = iso('2015-04-01T00:01:00Z');
  const hourEnd = iso('2015-04-01T01:00:00Z');
  const dayEnd = iso('2015-04-02T00:00:00Z');
  const len = (t: number): number => CoderUtils.encodeToByteArray(InstantCoder.of(), t).length;
  const windowLen = (end: number): number =>
    CoderUtils.encodeToByteArray(TEST_CODER, new IntervalWindow(start, end)).length;
  assert.is(windowLen(minuteEnd), len(start) + len(minuteEnd) - 5);
  assert.is(windowLen(hourEnd), len(start) + len(hourEnd) - 4);
  assert.is(windowLen(dayEnd), len(start) + len(dayEnd) - 4);
});

test('coders_test_common.test_interval_window_coder', () => {
  const big = 2n ** 52n * 1000n;
  for (const x of [-big, 0n, big]) {
    for (let y = -100; y < 100; y++) coderDecodeEncodeEqual(TEST_CODER, new IntervalWindow(x, y * 1000));
  }
  const tuple = KvCoder.of(TEST_CODER, VarLongCoder.of());
  const decoded = CoderUtils.clone(tuple, { key: new IntervalWindow(0, 10_000), value: 1 });
  assert.ok(decoded.key.equals(new IntervalWindow(0, 10_000)));
});

test('a window whose end is before its start writes a negative span (10-byte varint) and reads it back', () => {
  const w = new IntervalWindow(2000, 1000);
  const bytes = CoderUtils.encodeToByteArray(TEST_CODER, w);
  // end 1000 as InstantCoder, then -1000 as a varint (64-bit two's complement, 10 bytes).
  assert.is(Buffer.from(bytes).toString('hex'), '80000000000003e8' + '98f8ffffffffffffff01');
  assert.ok(CoderUtils.decodeFromByteArray(TEST_CODER, bytes).equals(w));
  assert.not.ok(w.contains(1500), 'an inverted window contains no timestamp');
  assert.is(w.durationMs(), -1000);
});

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

test('property: any two instants make a window that round-trips in both contexts (Beam Java and Python accept any span)', () => {
  const instant = fc.oneof(
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.bigInt({ min: -9223372036854775n, max: 9223372036854775n }),
  );
  fc.assert(
    fc.property(instant, instant, (start, end) => {
      const w = new IntervalWindow(start, end);
      for (const context of [Context.OUTER, Context.NESTED]) {
        assert.ok(
          CoderUtils.decodeFromByteArray(
            TEST_CODER,
            CoderUtils.encodeToByteArray(TEST_CODER, w, context),
            context,
          ).equals(w),
        );
      }
      // The span is exactly end - start as a varint (DurationCoder), after the 8 end bytes.
      const bytes = CoderUtils.encodeToByteArray(TEST_CODER, w);
      assert.equal(bytes.subarray(8), CoderUtils.encodeToByteArray(VarLongCoder.of(), instantMinus(end, start)));
    }),
  );
});

test('property: a span that puts the start outside int64 is a CoderError, never a wrong window', () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: INT64_MIN, max: INT64_MIN + 1000n }),
      fc.bigInt({ min: 1001n, max: INT64_MAX }),
      (end, span) => {
        const bytes = Buffer.concat([
          CoderUtils.encodeToByteArray(InstantCoder.of(), end),
          CoderUtils.encodeToByteArray(VarLongCoder.of(), span),
        ]);
        assert.throws(() => CoderUtils.decodeFromByteArray(TEST_CODER, bytes), /outside the signed 64-bit/);
      },
    ),
  );
});

test('Beam window relations: contains(window), isDisjoint, intersects, span, compareTo', () => {
  const a = new IntervalWindow(0, 10);
  assert.ok(a.contains(new IntervalWindow(2, 10)));
  assert.not.ok(a.contains(new IntervalWindow(2, 11)));
  assert.ok(a.isDisjoint(new IntervalWindow(10, 20)));
  assert.ok(a.intersects(new IntervalWindow(9, 20)));
  assert.ok(a.span(new IntervalWindow(20, 30)).equals(new IntervalWindow(0, 30)));
  assert.is(a.compareTo(new IntervalWindow(0, 11)), -1);
  assert.is(a.compareTo(new IntervalWindow(-1, 5)), 1);
  assert.is(a.compareTo(new IntervalWindow(0n, 10n)), 0);
});

test.run();
