import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BaseCoder,
  ByteReader,
  ByteWriter,
  CoderError,
  CoderUtils,
  Context,
  DoubleCoder,
  GlobalWindowCoder,
  NullableCoder,
  StringUtf8Coder,
  VarIntCoder,
  VarLongCoder,
  type Coder,
} from '../../coders/index.ts';
import {
  coderDecodeEncodeEqual,
  coderEncodesBase64,
  structuralValueConsistentWithEquals,
} from './support/coder-properties.ts';

// Ports of Beam Java's NullableCoderTest (names kept) and Python's coders_test_common.py
// test_nullable_coder. Not ported: testCoderSerializable and testCoderIsSerializableWithWellKnownCoderType
// (Java serialization), testObserver* (byte-size observers), testEncodedTypeDescriptor (Java type tokens).

const test = suite('NullableCoder (Beam NullableCoderTest)');

const TEST_CODER = NullableCoder.of(StringUtf8Coder.of());
const TEST_VALUES = [
  '',
  'a',
  '13',
  'hello',
  null,
  'a longer string with spaces and all that',
  'a string with a \n newline',
  'スタリング',
];
const TEST_ENCODINGS = [
  'AQ',
  'AWE',
  'ATEz',
  'AWhlbGxv',
  'AA',
  'AWEgbG9uZ2VyIHN0cmluZyB3aXRoIHNwYWNlcyBhbmQgYWxsIHRoYXQ',
  'AWEgc3RyaW5nIHdpdGggYSAKIG5ld2xpbmU',
  'AeOCueOCv-ODquODs-OCsA',
];

test('NullableCoderTest.testDecodeEncodeContentsInSameOrder', () => {
  for (const value of TEST_VALUES) coderDecodeEncodeEqual(TEST_CODER, value);
});

test('NullableCoderTest.testWireFormatEncode', () => {
  coderEncodesBase64(TEST_CODER, TEST_VALUES, TEST_ENCODINGS);
});

test('NullableCoderTest.testEncodedSize', () => {
  const coder = NullableCoder.of(DoubleCoder.of());
  assert.is(CoderUtils.encodeToByteArray(coder, null).length, 1);
  assert.is(CoderUtils.encodeToByteArray(coder, 5.0).length, 9);
});

test('NullableCoderTest.testEncodedSizeNested', () => {
  const coder = NullableCoder.of(StringUtf8Coder.of());
  assert.is(CoderUtils.encodeToByteArray(coder, null, Context.NESTED).length, 1);
  assert.is(CoderUtils.encodeToByteArray(coder, 'spam', Context.NESTED).length, 6);
});

test('NullableCoderTest.testStructuralValueConsistentWithEquals', () => {
  structuralValueConsistentWithEquals(TEST_CODER, null, null);
});

test('NullableCoderTest.testDecodingError', () => {
  assert.throws(
    () => TEST_CODER.decode(new ByteReader(new Uint8Array([5])), Context.OUTER),
    (e: unknown) =>
      e instanceof CoderError &&
      /NullableCoder expects either a byte valued 0 \(null\) or 1 \(present\), got 5/.test(e.message),
  );
});

/** Beam's EntireStreamExpectingCoder: a coder that insists on the OUTER context. */
class EntireStreamExpectingCoder extends BaseCoder<string> {
  readonly urn = undefined;
  encode(value: string, writer: ByteWriter, context: Context): void {
    if (context !== Context.OUTER) throw new Error('Expected to get entire stream');
    StringUtf8Coder.of().encode(value, writer, context);
  }
  decode(reader: ByteReader, context: Context): string {
    if (context !== Context.OUTER) throw new Error('Expected to get entire stream');
    return StringUtf8Coder.of().decode(reader, context);
  }
}

test('NullableCoderTest.testSubcoderRecievesEntireStream', () => {
  const coder = NullableCoder.of(new EntireStreamExpectingCoder());
  for (const value of [null, 'foo']) {
    assert.is(
      CoderUtils.decodeFromByteArray(coder, CoderUtils.encodeToByteArray(coder, value, Context.OUTER), Context.OUTER),
      value,
    );
  }
});

test('NullableCoderTest.testNestedNullableCoder', () => {
  const coder = NullableCoder.of(DoubleCoder.of());
  assert.is(NullableCoder.of(coder), coder);
  // And so no second marker byte: Beam writes 01 + the double for NullableCoder.of(NullableCoder.of(DoubleCoder)).
  assert.is(CoderUtils.encodeToByteArray(NullableCoder.of(coder), 5.0).length, 9);
});

test('coders_test_common.test_nullable_coder', () => {
  const coder = NullableCoder.of(VarIntCoder.of());
  for (const value of [null, 2 * 64]) coderDecodeEncodeEqual(coder, value);
});

test('property: NullableCoder.of is idempotent and its bytes are one marker byte plus the value', () => {
  fc.assert(
    fc.property(fc.option(fc.maxSafeInteger(), { nil: null }), fc.integer({ min: 1, max: 4 }), (value, depth) => {
      let coder: Coder<number | bigint | null> = NullableCoder.of(VarLongCoder.of());
      for (let i = 1; i < depth; i++) coder = NullableCoder.of(coder);
      const bytes = CoderUtils.encodeToByteArray(coder, value);
      const inner = value === null ? 0 : CoderUtils.encodeToByteArray(VarLongCoder.of(), value).length;
      assert.is(bytes.length, 1 + inner);
      assert.is(CoderUtils.decodeFromByteArray(coder, bytes), value);
    }),
  );
});

test('NullableCoder of a GlobalWindowCoder round-trips (testCoderIsSerializableWithWellKnownCoderType, the coder part)', () => {
  coderDecodeEncodeEqual(NullableCoder.of(GlobalWindowCoder.of()), null);
});

test.run();
