import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BoundedWindow,
  ByteArrayCoder,
  CoderUtils,
  DoubleCoder,
  GlobalWindow,
  GlobalWindowCoder,
  IntervalWindow,
  IntervalWindowCoder,
  KvCoder,
  NonDeterministicCoderError,
  PaneInfo,
  ParamWindowedValueCoder,
  StringUtf8Coder,
  Timing,
  VarLongCoder,
  WindowedValue,
  WindowedValueCoder,
} from '../../coders/index.ts';
import { coderDecodeEncodeEqual } from './support/coder-properties.ts';

// Ports of Beam Java's WindowedValueTest (names kept) and Python's coders_test_common.py
// test_windowed_value_coder, test_windowedvalue_coder_paneinfo and test_param_windowed_value_coder.
// Adapted: Python's timestamps are microseconds (its coder writes micros // 1000); the ports use
// the same instants in milliseconds. Python's TupleCoder is KvCoder here (the key NESTED, as a tuple
// element is). Python's `WindowedValueCoder(VarIntCoder())` without a window coder pickles its windows;
// stator has no pickled window coder, so those cases use IntervalWindowCoder. Not ported: the
// cloud-object representation checks (Dataflow's JSON form).

const test = suite('WindowedValueCoder (Beam WindowedValueTest, coders_test_common)');

test('WindowedValueTest.testWindowedValueCoder', () => {
  const timestamp = 1234;
  const value = WindowedValue.of(
    'abc',
    timestamp,
    [new IntervalWindow(timestamp, timestamp + 1000), new IntervalWindow(timestamp + 1000, timestamp + 2000)],
    PaneInfo.NO_FIRING,
  );
  const coder = WindowedValueCoder.of(StringUtf8Coder.of(), IntervalWindowCoder.of());
  const decoded = CoderUtils.decodeFromByteArray(coder, CoderUtils.encodeToByteArray(coder, value));
  assert.is(decoded.value, value.value);
  assert.is(decoded.timestamp, value.timestamp);
  assert.ok(decoded.windows.length === 2 && decoded.windows.every((w, i) => w.equals(value.windows[i])));
});

test('WindowedValueTest.testExplodeWindowsInNoWindowsEmptyIterable', () => {
  assert.equal(WindowedValue.of('foo', Date.now(), [], PaneInfo.NO_FIRING).explodeWindows(), []);
});

test('WindowedValueTest.testExplodeWindowsInOneWindowEquals', () => {
  const now = Date.now();
  const value = WindowedValue.of(
    'foo',
    now,
    [new IntervalWindow(now - 1000, now + 1000)],
    PaneInfo.ON_TIME_AND_ONLY_FIRING,
  );
  const exploded = value.explodeWindows();
  assert.is(exploded.length, 1);
  assert.ok(exploded[0]!.equals(value));
});

test('WindowedValueTest.testExplodeWindowsManyWindowsMultipleWindowedValues', () => {
  const now = Date.now();
  const center = new IntervalWindow(now - 1000, now + 1000);
  const past = new IntervalWindow(now - 1500, now + 500);
  const future = new IntervalWindow(now - 500, now + 1500);
  const futureFuture = new IntervalWindow(now, now + 2000);
  const pane = PaneInfo.createPane(false, false, Timing.ON_TIME, 3, 0);
  const exploded = WindowedValue.of('foo', now, [past, center, future, futureFuture], pane).explodeWindows();
  const expected = [futureFuture, future, center, past].map((w) => WindowedValue.of('foo', now, [w], pane));
  assert.is(exploded.length, expected.length);
  for (const e of expected)
    assert.ok(
      exploded.some((x) => x.equals(e)),
      `missing ${e}`,
    );
});

const globalCoder = WindowedValueCoder.of(VarLongCoder.of(), GlobalWindowCoder.of());
const MIN_TIMESTAMP_PYTHON = -9223372036854776n; // Python's MIN_TIMESTAMP, -2^63 micros, floored to ms

test('coders_test_common.test_windowed_value_coder', () => {
  // Test binary representation: GlobalWindows.windowed_value(1) is at TIMESTAMP_MIN_VALUE.
  const inGlobal = WindowedValue.of(1, BoundedWindow.TIMESTAMP_MIN_VALUE, [GlobalWindow.INSTANCE]);
  assert.is(
    Buffer.from(CoderUtils.encodeToByteArray(globalCoder, inGlobal)).toString('latin1'),
    '\x7f\xdf;dZ\x1c\xac\t\x00\x00\x00\x01\x0f\x01',
  );
  // Test decoding large timestamp.
  const decoded = CoderUtils.decodeFromByteArray(
    globalCoder,
    Buffer.from('\x7f\xdf;dZ\x1c\xac\x08\x00\x00\x00\x01\x0f\x00', 'latin1'),
  );
  assert.ok(decoded.equals(WindowedValue.of(0, MIN_TIMESTAMP_PYTHON, [GlobalWindow.INSTANCE])));
  // Test unnested.
  const intervalCoder = WindowedValueCoder.of(VarLongCoder.of(), IntervalWindowCoder.of());
  coderDecodeEncodeEqual(intervalCoder, WindowedValue.of(3, -100, []));
  coderDecodeEncodeEqual(
    intervalCoder,
    WindowedValue.of(-1, 100, [new IntervalWindow(1, 2), new IntervalWindow(2, 3), new IntervalWindow(3, 4)]),
  );
  // Test Global Window.
  coderDecodeEncodeEqual(globalCoder, inGlobal);
  // Test nested.
  const nested = KvCoder.of(
    WindowedValueCoder.of(DoubleCoder.of(), IntervalWindowCoder.of()),
    WindowedValueCoder.of(StringUtf8Coder.of(), IntervalWindowCoder.of()),
  );
  const pair = { key: WindowedValue.of(1.5, 0, []), value: WindowedValue.of('abc', 10, [new IntervalWindow(0, 10)]) };
  const back = CoderUtils.clone(nested, pair);
  assert.ok(back.key.equals(pair.key) && back.value.equals(pair.value));
});

const PANES = [
  PaneInfo.NO_FIRING,
  PaneInfo.createPane(true, true, Timing.EARLY, 0, -1),
  PaneInfo.createPane(true, false, Timing.ON_TIME, 0, 0),
  PaneInfo.createPane(true, false, Timing.ON_TIME, 10, 0),
  PaneInfo.createPane(false, true, Timing.ON_TIME, 0, 23),
  PaneInfo.createPane(false, true, Timing.ON_TIME, 12, 23),
  PaneInfo.createPane(false, false, Timing.LATE, 0, 123),
];

test('coders_test_common.test_windowedvalue_coder_paneinfo', () => {
  const values = PANES.map((p) => WindowedValue.of(123, 234, [GlobalWindow.INSTANCE], p));
  for (const v of values) coderDecodeEncodeEqual(globalCoder, v);
  const pairCoder = KvCoder.of(globalCoder, globalCoder);
  for (const a of values) {
    for (const b of values) {
      const back = CoderUtils.clone(pairCoder, { key: a, value: b });
      assert.ok(back.key.equals(a) && back.value.equals(b));
    }
  }
});

test('coders_test_common.test_param_windowed_value_coder', () => {
  const pane = PaneInfo.createPane(true, false, Timing.ON_TIME, 2, 3);
  const windows = [new IntervalWindow(11_000, 21_000)];
  const payload = CoderUtils.encodeToByteArray(
    WindowedValueCoder.of(ByteArrayCoder.of(), IntervalWindowCoder.of()),
    WindowedValue.of(new Uint8Array(0), 1000, windows, pane),
  );
  const coder = ParamWindowedValueCoder.of(VarLongCoder.of(), IntervalWindowCoder.of(), payload);
  // Test binary representation: only the value is written.
  assert.equal(
    [
      ...CoderUtils.encodeToByteArray(
        coder,
        WindowedValue.of(1, BoundedWindow.TIMESTAMP_MIN_VALUE, [GlobalWindow.INSTANCE]),
      ),
    ],
    [1],
  );
  // Test unnested: every decoded value carries the coder's timestamp, windows and pane.
  for (const v of [3, 1]) coderDecodeEncodeEqual(coder, WindowedValue.of(v, 1000, windows, pane));
  // Test nested.
  const nested = KvCoder.of(
    ParamWindowedValueCoder.of(DoubleCoder.of(), IntervalWindowCoder.of(), payload),
    ParamWindowedValueCoder.of(StringUtf8Coder.of(), IntervalWindowCoder.of(), payload),
  );
  const pair = { key: WindowedValue.of(1.5, 1000, windows, pane), value: WindowedValue.of('abc', 1000, windows, pane) };
  const back = CoderUtils.clone(nested, pair);
  assert.ok(back.key.equals(pair.key) && back.value.equals(pair.value));
});

test('ParamWindowedValueCoder.withParams writes the payload Beam Java writes (as in standard_coders.yaml)', () => {
  const coder = ParamWindowedValueCoder.withParams(
    VarLongCoder.of(),
    IntervalWindowCoder.of(),
    1000,
    [new IntervalWindow(10, 20)],
    PaneInfo.createPane(false, true, Timing.ON_TIME, 30, 40),
  );
  assert.is(
    Buffer.from(coder.payload).toString('latin1'),
    '\x80\x00\x00\x00\x00\x00\x03\xe8\x00\x00\x00\x01\x80\x00\x00\x00\x00\x00\x00\x14\n&\x1E(\x00',
  );
});

test('determinism follows the value and window coders, as FullWindowedValueCoder.verifyDeterministic', () => {
  globalCoder.verifyDeterministic();
  assert.throws(
    () => WindowedValueCoder.of(DoubleCoder.of(), GlobalWindowCoder.of()).verifyDeterministic(),
    (e: unknown) => e instanceof NonDeterministicCoderError,
  );
});

test('property: windowed values of any timestamp, windows and pane round-trip in both contexts', () => {
  const coder = WindowedValueCoder.of(StringUtf8Coder.of(), IntervalWindowCoder.of());
  const instant = fc.integer({ min: -(2 ** 45), max: 2 ** 45 });
  const window = fc.tuple(instant, instant).map(([a, b]) => new IntervalWindow(a, b));
  const pane = fc.constantFrom(...PANES);
  fc.assert(
    fc.property(fc.string(), instant, fc.array(window, { maxLength: 4 }), pane, (value, ts, windows, p) => {
      coderDecodeEncodeEqual(coder, WindowedValue.of(value, ts, windows, p));
    }),
  );
});

test.run();
