import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BigEndianIntegerCoder,
  BigEndianLongCoder,
  BooleanCoder,
  ByteArrayCoder,
  ByteCoder,
  CoderError,
  CoderUtils,
  DoubleCoder,
  DurationCoder,
  FloatCoder,
  InstantCoder,
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

// Ports of Beam Java's tests of the atomic coders (sdks/java/core/.../coders): VarIntCoderTest,
// VarLongCoderTest, StringUtf8CoderTest, InstantCoderTest, BigEndianIntegerCoderTest,
// BigEndianLongCoderTest, DoubleCoderTest, FloatCoderTest, ByteCoderTest, DurationCoderTest,
// BooleanCoderTest, ByteArrayCoderTest, test names kept (Class.test). Their
// values and wire-format encodings (PrintBase64Encodings' unpadded base64url) are Beam's.
// Adapted: Java's Long/Instant/Duration beyond ±2^53 are bigints, Java floats are Math.fround values;
// encodeNullThrowsCoderException expects a CoderError saying what was expected (not Java's "cannot encode a null
// Integer"). Not ported:
// testEncodingId (older Beam only), testEncodedTypeDescriptor (Java type tokens),
// ByteArrayCoderTest.testRegisterByteSizeObserver and testEncodeAndOwn (Java streams).

const LONG_MAX = 9223372036854775807n;
const LONG_MIN = -9223372036854775808n;
const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

function encodeNullThrowsCoderException(coder: Coder<unknown>): void {
  try {
    CoderUtils.encodeToByteArray(coder, null);
    assert.unreachable(`${coder} encoded null`);
  } catch (err) {
    assert.instance(err, CoderError);
    assert.match((err as Error).message, /expected|null/);
  }
}

/** Suites of the common shape: testDecodeEncodeEqual, testWireFormatEncode, encodeNullThrowsCoderException. */
function atomicCoderTest<T>(
  name: string,
  coder: Coder<T>,
  values: readonly T[],
  encodings: readonly string[],
  decodeEncodeName = 'testDecodeEncodeEqual',
): ReturnType<typeof suite> {
  const test = suite(name);
  test(`${name}.${decodeEncodeName}`, () => {
    for (const value of values) coderDecodeEncodeEqual(coder, value);
  });
  test(`${name}.testWireFormatEncode`, () => {
    coderEncodesBase64(coder, values, encodings);
  });
  test(`${name}.encodeNullThrowsCoderException`, () => {
    encodeNullThrowsCoderException(coder as Coder<unknown>);
  });
  return test;
}

atomicCoderTest(
  'VarIntCoderTest',
  VarIntCoder.of(),
  [-11, -3, -1, 0, 1, 5, 13, 29, INT_MAX, INT_MIN],
  ['9f___w8', '_f___w8', '_____w8', 'AA', 'AQ', 'BQ', 'DQ', 'HQ', '_____wc', 'gICAgAg'],
).run();

atomicCoderTest<number | bigint>(
  'VarLongCoderTest',
  VarLongCoder.of(),
  [-11, -3, -1, 0, 1, 5, 13, 29, INT_MAX + 131, INT_MIN - 29, LONG_MAX, LONG_MIN],
  [
    '9f__________AQ',
    '_f__________AQ',
    '____________AQ',
    'AA',
    'AQ',
    'BQ',
    'DQ',
    'HQ',
    'goGAgAg',
    '4_____f_____AQ',
    '__________9_',
    'gICAgICAgICAAQ',
  ],
).run();

atomicCoderTest(
  'StringUtf8CoderTest',
  StringUtf8Coder.of(),
  ['', 'a', '13', 'hello', 'a longer string with spaces and all that', 'a string with a \n newline', 'スタリング'],
  [
    '',
    'YQ',
    'MTM',
    'aGVsbG8',
    'YSBsb25nZXIgc3RyaW5nIHdpdGggc3BhY2VzIGFuZCBhbGwgdGhhdA',
    'YSBzdHJpbmcgd2l0aCBhIAogbmV3bGluZQ',
    '44K544K_44Oq44Oz44Kw',
  ],
).run();

atomicCoderTest(
  'BigEndianIntegerCoderTest',
  BigEndianIntegerCoder.of(),
  [-11, -3, -1, 0, 1, 5, 13, 29, INT_MAX, INT_MIN],
  ['____9Q', '_____Q', '_____w', 'AAAAAA', 'AAAAAQ', 'AAAABQ', 'AAAADQ', 'AAAAHQ', 'f____w', 'gAAAAA'],
).run();

atomicCoderTest<number | bigint>(
  'BigEndianLongCoderTest',
  BigEndianLongCoder.of(),
  [-11, -3, -1, 0, 1, 5, 13, 29, INT_MAX + 131, INT_MIN - 29, LONG_MAX, LONG_MIN],
  [
    '__________U',
    '__________0',
    '__________8',
    'AAAAAAAAAAA',
    'AAAAAAAAAAE',
    'AAAAAAAAAAU',
    'AAAAAAAAAA0',
    'AAAAAAAAAB0',
    'AAAAAIAAAII',
    '_____3___-M',
    'f_________8',
    'gAAAAAAAAAA',
  ],
).run();

atomicCoderTest(
  'DoubleCoderTest',
  DoubleCoder.of(),
  [0.0, -0.5, 0.5, 0.3, -0.3, 1.0, -43.8956874, 3.14159, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, NaN],
  [
    'AAAAAAAAAAA',
    'v-AAAAAAAAA',
    'P-AAAAAAAAA',
    'P9MzMzMzMzM',
    'v9MzMzMzMzM',
    'P_AAAAAAAAA',
    'wEXypeJ9ODo',
    'QAkh-fAbhm4',
    'f-________8',
    'AAAAAAAAAAE',
    'f_AAAAAAAAA',
    '__AAAAAAAAA',
    'f_gAAAAAAAA',
  ],
).run();

// InstantCoderTest: TEST_TIMESTAMPS 0, 1, -1, -255, 256, Long.MIN_VALUE, Long.MAX_VALUE.
const INSTANT_TIMESTAMPS: (number | bigint)[] = [0, 1, -1, -255, 256, LONG_MIN, LONG_MAX];
const instants = atomicCoderTest(
  'InstantCoderTest',
  InstantCoder.of(),
  INSTANT_TIMESTAMPS,
  ['gAAAAAAAAAA', 'gAAAAAAAAAE', 'f_________8', 'f________wE', 'gAAAAAAAAQA', 'AAAAAAAAAAA', '__________8'],
  'testBasicEncoding',
);
instants('InstantCoderTest.testOrderedEncoding', () => {
  const sortedTimestamps = [...INSTANT_TIMESTAMPS].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const encodings = sortedTimestamps.map((t) => Buffer.from(CoderUtils.encodeToByteArray(InstantCoder.of(), t)));
  // The encodings are already sorted, since they were generated in the timestamps' order.
  assert.equal([...encodings].sort(Buffer.compare), encodings);
});
instants.run();

const TEST_BYTE_ARRAYS = [
  new Uint8Array([0xa, 0xb, 0xc]),
  new Uint8Array([0xd, 0x3]),
  new Uint8Array([0xd, 0xe]),
  new Uint8Array([]),
];
const byteArrays = atomicCoderTest(
  'ByteArrayCoderTest',
  ByteArrayCoder.of(),
  TEST_BYTE_ARRAYS,
  ['CgsM', 'DQM', 'DQ4', ''],
  'testDecodeEncodeEquals',
);
byteArrays('ByteArrayCoderTest.testStructuralValueConsistentWithEquals', () => {
  for (const value1 of TEST_BYTE_ARRAYS)
    for (const value2 of TEST_BYTE_ARRAYS) structuralValueConsistentWithEquals(ByteArrayCoder.of(), value1, value2);
});
byteArrays('ByteArrayCoderTest.testEncodeThenMutate', () => {
  const input = new Uint8Array([0x7, 0x3, 0xa, 0xf]);
  const encoded = CoderUtils.encodeToByteArray(ByteArrayCoder.of(), input);
  input[1] = 0x9;
  const decoded = CoderUtils.decodeFromByteArray(ByteArrayCoder.of(), encoded);
  // now that I have mutated the input, the output should NOT match
  assert.not.equal([...input], [...decoded]);
});
byteArrays.run();

atomicCoderTest(
  'FloatCoderTest',
  FloatCoder.of(),
  [
    0.0,
    -0.5,
    0.5,
    0.3,
    -0.3,
    1.0,
    -43.895687,
    Math.PI,
    3.4028234663852886e38,
    1.401298464324817e-45,
    Infinity,
    -Infinity,
    NaN,
  ].map(Math.fround),
  [
    'AAAAAA',
    'vwAAAA',
    'PwAAAA',
    'PpmZmg',
    'vpmZmg',
    'P4AAAA',
    'wi-VLw',
    'QEkP2w',
    'f3___w',
    'AAAAAQ',
    'f4AAAA',
    '_4AAAA',
    'f8AAAA',
  ],
).run();

atomicCoderTest(
  'ByteCoderTest',
  ByteCoder.of(),
  [1, 4, 6, 50, 124, 127, -128],
  ['AQ', 'BA', 'Bg', 'Mg', 'fA', 'fw', 'gA'],
).run();

atomicCoderTest<number | bigint>(
  'DurationCoderTest',
  DurationCoder.of(),
  [0, 1, -1, -255, 256, LONG_MIN, LONG_MAX],
  ['AA', 'AQ', '____________AQ', 'gf7_________AQ', 'gAI', 'gICAgICAgICAAQ', '__________9_'],
  'testBasicEncoding',
).run();

const booleans = suite('BooleanCoderTest');
booleans('BooleanCoderTest.testStructuralValueReturnTheSameValue', () => {
  const expected = true;
  assert.is(BooleanCoder.of().structuralValue(expected), expected);
});
booleans.run();
