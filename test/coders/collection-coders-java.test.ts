import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BigEndianLongCoder,
  ByteArrayCoder,
  CoderError,
  CoderUtils,
  IterableCoder,
  KV,
  KvCoder,
  LengthPrefixCoder,
  ListCoder,
  MapCoder,
  SetCoder,
  StringUtf8Coder,
  VarIntCoder,
  VarLongCoder,
  VoidCoder,
  type Coder,
} from '../../coders/index.ts';
import {
  coderDecodeEncodeEqual,
  coderEncodesBase64,
  structuralValueConsistentWithEquals,
  structuralValueDecodeEncodeEqual,
} from './support/coder-properties.ts';

// Ports of Beam Java's ListCoderTest, IterableCoderTest, LengthPrefixCoderTest, VoidCoderTest,
// KvCoderTest, SetCoderTest and MapCoderTest (sdks/java/core/.../coders), test names kept
// (Class.test), Beam's values and wire-format encodings. Java's LinkedList is an array, its
// TreeSet/TreeMap a Set/Map built in the tree's (sorted) order, Long.MAX/MIN bigints; a null the element coder cannot
// encode is a CoderError. Not ported: Java serialization (testCoderSerializable...), type descriptors,
// byte-size observers and
// getEncodedElementByteSize, Iterable/MapCoder.getInstanceComponents (Java's cloud-object helper),
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
const BYTE_ARRAYS = [
  new Uint8Array([0xa, 0xb, 0xc]),
  new Uint8Array([0xd, 0x3]),
  new Uint8Array([0xd, 0xe]),
  new Uint8Array([]),
];
lengthPrefix('LengthPrefixCoderTest.testDecodeEncodeEquals', () => {
  for (const value of BYTE_ARRAYS) coderDecodeEncodeEqual(LENGTH_PREFIX_CODER, value);
});
lengthPrefix('LengthPrefixCoderTest.testStructuralValueConsistentWithEquals', () => {
  for (const value1 of BYTE_ARRAYS)
    for (const value2 of BYTE_ARRAYS) structuralValueConsistentWithEquals(LENGTH_PREFIX_CODER, value1, value2);
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

const kv = suite('KvCoderTest');
const KV_TEST_DATA: [Coder<any>, unknown[]][] = [
  [VarIntCoder.of(), [-1, 0, 1, 13, 2147483647, -2147483648]],
  [BigEndianLongCoder.of(), [-1, 0, 1, 13, 9223372036854775807n, -9223372036854775808n]],
  [StringUtf8Coder.of(), ['', 'hello', 'goodbye', '1']],
  [KvCoder.of(StringUtf8Coder.of(), VarIntCoder.of()), [KV('', -1), KV('hello', 0), KV('goodbye', 2147483647)]],
  [ListCoder.of(VarLongCoder.of()), [[1, 2, 3], []]],
];
kv('KvCoderTest.testDecodeEncodeEqual', () => {
  for (const [keyCoder, keys] of KV_TEST_DATA) {
    for (const key of keys) {
      for (const [valueCoder, values] of KV_TEST_DATA) {
        for (const value of values) coderDecodeEncodeEqual(KvCoder.of(keyCoder, valueCoder), KV(key, value));
      }
    }
  }
});
kv('KvCoderTest.testWireFormatEncode', () => {
  coderEncodesBase64(
    KvCoder.of(StringUtf8Coder.of(), VarIntCoder.of()),
    [KV('', -1), KV('hello', 0), KV('goodbye', 2147483647)],
    ['AP____8P', 'BWhlbGxvAA', 'B2dvb2RieWX_____Bw'],
  );
});
kv('KvCoderTest.encodeNullThrowsCoderException', () => {
  expectCoderError(() =>
    CoderUtils.encodeToByteArray(KvCoder.of(StringUtf8Coder.of(), VarIntCoder.of()) as Coder<unknown>, null),
  );
});
kv.run();

const set = suite('SetCoderTest');
const SET_CODER = SetCoder.of(VarIntCoder.of());
const SETS = [new Set<number>(), new Set([13]), new Set([-5, 31, 83])];
set('SetCoderTest.testDecodeEncodeContentsEqual', () => {
  for (const value of SETS) coderDecodeEncodeEqual(SET_CODER, value);
});
set('SetCoderTest.testWireFormatEncode', () => {
  coderEncodesBase64(SET_CODER, SETS, ['AAAAAA', 'AAAAAQ0', 'AAAAA_v___8PH1M']);
});
set('SetCoderTest.encodeNullThrowsCoderException', () => {
  expectCoderError(() => CoderUtils.encodeToByteArray(SET_CODER as Coder<unknown>, null));
});
set.run();

const map = suite('MapCoderTest');
const MAP_CODER = MapCoder.of(VarIntCoder.of(), StringUtf8Coder.of());
const MAPS = [
  new Map<number, string>(),
  new Map([
    [-1, 'foo'],
    [1, 'hello'],
  ]),
];
map('MapCoderTest.testDecodeEncodeContentsInSameOrder', () => {
  for (const value of MAPS) coderDecodeEncodeEqual(MAP_CODER, value);
});
map('MapCoderTest.testWireFormatEncode', () => {
  coderEncodesBase64(MAP_CODER, MAPS, ['AAAAAA', 'AAAAAv____8PA2ZvbwFoZWxsbw']);
});
map('MapCoderTest.encodeNullThrowsCoderException', () => {
  expectCoderError(() => CoderUtils.encodeToByteArray(MAP_CODER as Coder<unknown>, null));
});
map('MapCoderTest.testStructuralValueDecodeEncodeEqual', () => {
  const coder = MapCoder.of(ByteArrayCoder.of(), VarIntCoder.of());
  structuralValueDecodeEncodeEqual(coder, new Map([[new Uint8Array([1, 2, 3, 4]), 1]]));
});
map('MapCoderTest.testNotConsistentWithEquals', () => {
  assert.is(MapCoder.of(VarIntCoder.of(), ByteArrayCoder.of()).consistentWithEquals(), false);
});
// Deliberate difference: Beam's MapCoder of consistent coders is consistent with Java's Map.equals;
// here consistentWithEquals means JavaScript's SameValueZero, which compares Map objects by identity.
map('MapCoderTest.testConsistentWithEquals', () => {
  assert.is(MapCoder.of(VarIntCoder.of(), VarIntCoder.of()).consistentWithEquals(), false);
});
map.run();
