import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteArrayCoder, CoderError, CoderUtils, IterableCoder, LengthPrefixCoder, ListCoder, VarIntCoder, VoidCoder, type Coder } from '../../coders/index.ts';
import { coderDecodeEncodeEqual, coderEncodesBase64, structuralValueConsistentWithEquals } from './support/coder-properties.ts';

// Ports of Beam Java's ListCoderTest, IterableCoderTest, LengthPrefixCoderTest and VoidCoderTest
// (sdks/java/core/.../coders), test names kept (Class.test), Beam's values and wire-format encodings.
// Java's LinkedList is an array; a null the element coder cannot encode is a CoderError. Not ported:
// Java serialization (testCoderSerializable...), type descriptors, byte-size observers and
// getEncodedElementByteSize, IterableCoder.getInstanceComponents (Java's cloud-object helper),
// ListCoderTest.testListWithNullsAndSerializableCoder (no SerializableCoder).

/** CoderProperties.coderDecodeEncodeContentsInSameOrder: the elements come back in the same order, in both contexts. */
function coderDecodeEncodeContentsInSameOrder<T>(coder: Coder<Iterable<T>>, value: Iterable<T>): void {
  coderDecodeEncodeEqual(coder as Coder<unknown>, [...value]);
}

function expectCoderError(run: () => unknown): void {
  try {
    run();
    assert.unreachable('expected a CoderError');
  } catch (err) {
    assert.instance(err, CoderError);
  }
}

const SEQUENCES = [[], [43], [1, 2, 3, 4], [7, 6, 5]];

const list = suite('ListCoderTest');
const LIST_CODER = ListCoder.of(VarIntCoder.of());
list('ListCoderTest.testDecodeEncodeContentsInSameOrder', () => {
  for (const value of SEQUENCES) coderDecodeEncodeContentsInSameOrder(LIST_CODER, value);
});
list('ListCoderTest.testEmptyList', () => {
  coderDecodeEncodeEqual(ListCoder.of(VarIntCoder.of()), []);
});
list('ListCoderTest.testWireFormatEncode', () => {
  coderEncodesBase64(LIST_CODER, SEQUENCES, ['AAAAAA', 'AAAAASs', 'AAAABAECAwQ', 'AAAAAwcGBQ']);
});
list('ListCoderTest.encodeNullThrowsCoderException', () => {
  expectCoderError(() => CoderUtils.encodeToByteArray(LIST_CODER as Coder<unknown>, null));
});
list('ListCoderTest.testListWithNullsAndVarIntCoderThrowsException', () => {
  expectCoderError(() => coderDecodeEncodeEqual(ListCoder.of(VarIntCoder.of()) as Coder<unknown>, [1, 2, 3, null, 4]));
});
list.run();

const iterable = suite('IterableCoderTest');
const ITERABLE_CODER = IterableCoder.of(VarIntCoder.of());
const ITERABLES = [[], [13], [1, 2, 3, 4], [7, 6, 5]];
iterable('IterableCoderTest.testDecodeEncodeContentsInSameOrder', () => {
  for (const value of ITERABLES) coderDecodeEncodeContentsInSameOrder(ITERABLE_CODER, value);
});
iterable('IterableCoderTest.testWireFormatEncode', () => {
  coderEncodesBase64(ITERABLE_CODER, ITERABLES, ['AAAAAA', 'AAAAAQ0', 'AAAABAECAwQ', 'AAAAAwcGBQ']);
});
iterable('IterableCoderTest.encodeNullThrowsCoderException', () => {
  expectCoderError(() => CoderUtils.encodeToByteArray(ITERABLE_CODER as Coder<unknown>, null));
});
iterable.run();

const lengthPrefix = suite('LengthPrefixCoderTest');
const LENGTH_PREFIX_CODER = LengthPrefixCoder.of(ByteArrayCoder.of());
const BYTE_ARRAYS = [new Uint8Array([0xa, 0xb, 0xc]), new Uint8Array([0xd, 0x3]), new Uint8Array([0xd, 0xe]), new Uint8Array([])];
lengthPrefix('LengthPrefixCoderTest.testDecodeEncodeEquals', () => {
  for (const value of BYTE_ARRAYS) coderDecodeEncodeEqual(LENGTH_PREFIX_CODER, value);
});
lengthPrefix('LengthPrefixCoderTest.testStructuralValueConsistentWithEquals', () => {
  for (const value1 of BYTE_ARRAYS) for (const value2 of BYTE_ARRAYS) structuralValueConsistentWithEquals(LENGTH_PREFIX_CODER, value1, value2);
});
lengthPrefix('LengthPrefixCoderTest.testWireFormatEncode', () => {
  coderEncodesBase64(LENGTH_PREFIX_CODER, BYTE_ARRAYS, ['AwoLDA', 'Ag0D', 'Ag0O', 'AA']);
});
lengthPrefix.run();

const voids = suite('VoidCoderTest');
voids('VoidCoderTest.testStructuralValueSharesSameObject', () => {
  const coder = VoidCoder.of();
  assert.equal(coder.structuralValue(null), coder.structuralValue(null));
  // This is a minor performance optimization to not encode and compare empty byte arrays.
  assert.ok(Object.is(coder.structuralValue(null), coder.structuralValue(null)));
});
voids.run();
