import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BigEndianIntegerCoder,
  BigEndianLongCoder,
  BigEndianShortCoder,
  BooleanCoder,
  ByteArrayCoder,
  ByteCoder,
  DoubleCoder,
  DurationCoder,
  FloatCoder,
  GlobalWindowCoder,
  InstantCoder,
  IntervalWindowCoder,
  IterableCoder,
  JsonCoder,
  KvCoder,
  LengthPrefixCoder,
  ListCoder,
  MapCoder,
  MsgpackCoder,
  NonDeterministicCoderError,
  NullableCoder,
  SetCoder,
  StringUtf8Coder,
  TimestampedValueCoder,
  VarIntCoder,
  VarLongCoder,
  VoidCoder,
  type Coder,
} from '../../coders/index.ts';

// verifyDeterministic follows Beam Java's rules coder by coder; composites propagate their components'.

const test = suite('verifyDeterministic');

function reasonOf(coder: Coder<unknown>): string | undefined {
  try {
    coder.verifyDeterministic();
    return undefined;
  } catch (err) {
    assert.instance(err, NonDeterministicCoderError);
    const e = err as NonDeterministicCoderError;
    assert.is(e.code, 'NON_DETERMINISTIC_CODER');
    assert.ok(e.message.startsWith(coder.toString()), `message names the coder: ${e.message}`);
    return e.message;
  }
}

const deterministic: Coder<unknown>[] = [
  ByteArrayCoder.of(),
  StringUtf8Coder.of(),
  VarIntCoder.of(),
  VarLongCoder.of(),
  BigEndianShortCoder.of(),
  BigEndianIntegerCoder.of(),
  BigEndianLongCoder.of(),
  ByteCoder.of(),
  BooleanCoder.of(),
  VoidCoder.of(),
  InstantCoder.of(),
  DurationCoder.of(),
  GlobalWindowCoder.of(),
  IntervalWindowCoder.of(),
  KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of()),
  ListCoder.of(KvCoder.of(ByteArrayCoder.of(), BooleanCoder.of())),
  NullableCoder.of(StringUtf8Coder.of()),
  LengthPrefixCoder.of(VarLongCoder.of()),
  TimestampedValueCoder.of(StringUtf8Coder.of()),
  KvCoder.of(StringUtf8Coder.of(), ListCoder.of(NullableCoder.of(VarLongCoder.of()))),
] as Coder<unknown>[];

for (const coder of deterministic) {
  test(`${coder.toString()} is deterministic`, () => {
    assert.is(reasonOf(coder), undefined);
  });
}

const never: [Coder<unknown>, RegExp][] = [
  [FloatCoder.of() as Coder<unknown>, /Floating point encodings are not guaranteed to be deterministic/],
  [DoubleCoder.of() as Coder<unknown>, /Floating point encodings are not guaranteed to be deterministic/],
  [IterableCoder.of(VarLongCoder.of()) as Coder<unknown>, /IterableLikeCoder can not guarantee deterministic ordering/],
  [SetCoder.of(StringUtf8Coder.of()) as Coder<unknown>, /Ordering of elements in a set may be non-deterministic/],
  [
    MapCoder.of(StringUtf8Coder.of(), VarLongCoder.of()) as Coder<unknown>,
    /Ordering of entries in a Map may be non-deterministic/,
  ],
  [MsgpackCoder.of() as Coder<unknown>, /insertion order/],
  [JsonCoder.of() as Coder<unknown>, /insertion order/],
];

for (const [coder, why] of never) {
  test(`${coder.toString()} is never deterministic, and says why`, () => {
    assert.match(reasonOf(coder) ?? '', why);
  });
}

const propagated: [Coder<unknown>, RegExp][] = [
  [
    KvCoder.of(DoubleCoder.of(), StringUtf8Coder.of()) as Coder<unknown>,
    /Key coder must be deterministic.*DoubleCoder is not deterministic/,
  ],
  [
    KvCoder.of(StringUtf8Coder.of(), MsgpackCoder.of()) as Coder<unknown>,
    /Value coder must be deterministic.*MsgpackCoder/,
  ],
  [ListCoder.of(FloatCoder.of()) as Coder<unknown>, /ListCoder.elemCoder must be deterministic/],
  [NullableCoder.of(SetCoder.of(VarIntCoder.of())) as Coder<unknown>, /Value coder must be deterministic.*SetCoder/],
  [LengthPrefixCoder.of(JsonCoder.of()) as Coder<unknown>, /Value coder must be deterministic.*JsonCoder/],
  [
    TimestampedValueCoder.of(DoubleCoder.of()) as Coder<unknown>,
    /TimestampedValueCoder requires a deterministic valueCoder/,
  ],
  [
    KvCoder.of(StringUtf8Coder.of(), ListCoder.of(NullableCoder.of(DoubleCoder.of()))) as Coder<unknown>,
    /KvCoder.*ListCoder.*NullableCoder.*DoubleCoder.*Floating point/,
  ],
];

for (const [coder, why] of propagated) {
  test(`${coder.toString()} is not deterministic because a component is not`, () => {
    assert.match(reasonOf(coder) ?? '', why);
  });
}

test('consistentWithEquals holds only where JavaScript equality matches the bytes', () => {
  for (const c of [
    StringUtf8Coder.of(),
    VarIntCoder.of(),
    BooleanCoder.of(),
    VoidCoder.of(),
    ByteCoder.of(),
    NullableCoder.of(StringUtf8Coder.of()),
  ] as Coder<unknown>[]) {
    assert.ok(c.consistentWithEquals(), c.toString());
  }
  for (const c of [
    VarLongCoder.of(),
    DoubleCoder.of(),
    FloatCoder.of(),
    ByteArrayCoder.of(),
    KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()),
    ListCoder.of(StringUtf8Coder.of()),
  ] as Coder<unknown>[]) {
    assert.not.ok(c.consistentWithEquals(), c.toString());
  }
});

test('structural values: equal values share a key, distinct ones do not', () => {
  assert.is(VarLongCoder.of().structuralValue(5n), VarLongCoder.of().structuralValue(5));
  assert.is.not(DoubleCoder.of().structuralValue(-0), DoubleCoder.of().structuralValue(0));
  const bytes = ByteArrayCoder.of();
  assert.is(bytes.structuralValue(new Uint8Array([1, 2])), bytes.structuralValue(new Uint8Array([1, 2])));
  assert.is.not(bytes.structuralValue(new Uint8Array([1, 2])), bytes.structuralValue(new Uint8Array([1, 3])));
  const kv = KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of());
  assert.is(kv.structuralValue({ key: 'a', value: 1 }), kv.structuralValue({ key: 'a', value: 1n }));
});

test.run();
