import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { CoderError, CoderUtils, VarLongCoder, VarLongNumberCoder } from '../../coders/index.ts';
import { StateTags } from '../../src/state/index.ts';

const numbers = VarLongNumberCoder.of();
const longs = VarLongCoder.of();
const safe = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });

test("a safe integer encodes to VarLongCoder's bytes and decodes back as a number", () => {
  fc.assert(
    fc.property(safe, (value) => {
      const bytes = CoderUtils.encodeToByteArray(numbers, value);
      assert.equal(bytes, CoderUtils.encodeToByteArray(longs, value));
      const back = CoderUtils.decodeFromByteArray(numbers, bytes);
      return typeof back === 'number' && back === value;
    }),
  );
  assert.equal([...CoderUtils.encodeToByteArray(numbers, 300)], [0xac, 0x02]);
  assert.equal(
    [...CoderUtils.encodeToByteArray(numbers, -1)],
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  );
});

test('a number that is not a safe integer is refused, naming the way out', () => {
  for (const bad of [2 ** 53, -(2 ** 53), 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => CoderUtils.encodeToByteArray(numbers, bad),
      (e: Error) => e instanceof CoderError && /not a safe integer/.test(e.message) && /VarLongCoder/.test(e.message),
    );
  }
  assert.throws(
    () => CoderUtils.encodeToByteArray(numbers, 5n as unknown as number),
    (e: Error) => e instanceof CoderError,
  );
});

test('a varint beyond the safe range (written as a bigint by VarLongCoder) fails to decode with a CoderError', () => {
  fc.assert(
    fc.property(
      fc
        .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
        .filter((v) => v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)),
      (value) => {
        const bytes = CoderUtils.encodeToByteArray(longs, value);
        assert.throws(
          () => CoderUtils.decodeFromByteArray(numbers, bytes),
          (e: Error) => e instanceof CoderError && /beyond the safe integer range/.test(e.message),
        );
      },
    ),
  );
});

test('a state tag keeps its signature when its coder switches between VarLongCoder and VarLongNumberCoder (same bytes)', () => {
  assert.is(StateTags.value('count', numbers).signature, StateTags.value('count', longs).signature);
  assert.ok(numbers.consistentWithEquals());
  numbers.verifyDeterministic();
  assert.is(numbers.urn, VarLongCoder.URN);
});

test.run();
