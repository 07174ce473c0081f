import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CoderError, CoderUtils, PaneInfo, PaneInfoCoder, Timing } from '../../coders/index.ts';
import { PANE_TIMINGS } from '../../coders/pane-info.ts';
import { coderDecodeEncodeEqual } from './support/coder-properties.ts';

// Port of Beam Java's PaneInfoTest (names kept).

const test = suite('PaneInfo (Beam PaneInfoTest)');

test('PaneInfoTest.testInterned', () => {
  assert.is(PaneInfo.createPane(true, true, Timing.EARLY), PaneInfo.createPane(true, true, Timing.EARLY));
});

test('PaneInfoTest.testEncodingRoundTrip', () => {
  const coder = PaneInfoCoder.of();
  for (const timing of PANE_TIMINGS) {
    const onTimeIndex = timing === Timing.EARLY ? -1 : 37;
    coderDecodeEncodeEqual(coder, PaneInfo.createPane(false, false, timing, 389, onTimeIndex));
    coderDecodeEncodeEqual(coder, PaneInfo.createPane(false, true, timing, 5077, onTimeIndex));
    coderDecodeEncodeEqual(coder, PaneInfo.createPane(true, false, timing, 0, 0));
    coderDecodeEncodeEqual(coder, PaneInfo.createPane(true, true, timing, 0, 0));
  }
});

test('PaneInfoTest.testEncodings', () => {
  assert.is(PANE_TIMINGS.length, 4, 'PaneInfo encoding assumes that there are only 4 Timing values.');
  assert.is(PaneInfo.createPane(false, false, Timing.EARLY, 1, -1).encodedByte, 0x0);
  assert.is(PaneInfo.createPane(true, false, Timing.EARLY).encodedByte, 0x1);
  assert.is(PaneInfo.createPane(true, true, Timing.EARLY).encodedByte, 0x3);
  assert.is(PaneInfo.createPane(true, true, Timing.ON_TIME).encodedByte, 0x7);
  assert.is(PaneInfo.createPane(true, true, Timing.LATE).encodedByte, 0xb);
  assert.is(PaneInfo.createPane(true, true, Timing.UNKNOWN).encodedByte, 0xf);
});

test('the three encodings: first byte only, one index, two indices', () => {
  const hex = (p: PaneInfo): string => Buffer.from(CoderUtils.encodeToByteArray(PaneInfoCoder.of(), p)).toString('hex');
  assert.is(hex(PaneInfo.NO_FIRING), '0f');
  assert.is(hex(PaneInfo.createPane(false, false, Timing.ON_TIME, 3, 3)), '1403');
  assert.is(hex(PaneInfo.createPane(false, true, Timing.ON_TIME, 30, 40)), '261e28'); // standard_coders.yaml's param_windowed_value pane
  assert.throws(
    () => CoderUtils.decodeFromByteArray(PaneInfoCoder.of(), new Uint8Array([0x3f])),
    (e: unknown) => e instanceof CoderError,
  );
  assert.throws(
    () => PaneInfo.createPane(false, false, Timing.LATE),
    (e: unknown) => e instanceof CoderError,
  );
});

test('property: every pane a runner can produce round-trips (a pane after the first has index >= 1)', () => {
  // As in Beam Java, a non-first pane with index 0 and on-time index 0 is written as its first byte
  // only and reads back with index -1; no trigger produces one (the first firing is the first pane).
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.boolean(),
      fc.constantFrom(...PANE_TIMINGS),
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.nat(1_000_000),
      (first, last, timing, index, onTime) => {
        coderDecodeEncodeEqual(
          PaneInfoCoder.of(),
          PaneInfo.createPane(
            first,
            last,
            timing,
            first ? 0 : index,
            timing === Timing.EARLY ? -1 : first ? 0 : onTime,
          ),
        );
      },
    ),
  );
});

test.run();
