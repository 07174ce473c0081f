import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BaseCoder,
  BigEndianIntegerCoder,
  BigEndianLongCoder,
  BigEndianShortCoder,
  BooleanCoder,
  ByteArrayCoder,
  ByteCoder,
  ByteReader,
  ByteWriter,
  CoderUtils,
  Context,
  DoubleCoder,
  DurationCoder,
  FloatCoder,
  GlobalWindow,
  GlobalWindowCoder,
  InstantCoder,
  IntervalWindow,
  IntervalWindowCoder,
  IterableCoder,
  JsonCoder,
  KvCoder,
  LengthPrefixCoder,
  ListCoder,
  MapCoder,
  MsgpackCoder,
  NullableCoder,
  SetCoder,
  StringUtf8Coder,
  TimestampedValue,
  TimestampedValueCoder,
  VarIntCoder,
  VarLongCoder,
  VarLongNumberCoder,
  VoidCoder,
  type Coder,
} from '../../coders/index.ts';
import { canonical, canonicalInt64 } from './support/canonical.ts';

// Round trips for every coder in both contexts, and self-delimiting NESTED encodings, by property.

const test = suite('coder round trips (properties)');

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const int64 = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.maxSafeInteger(),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.constantFrom(
    INT64_MIN,
    INT64_MAX,
    2n ** 53n,
    -(2n ** 53n),
    2 ** 53 - 1,
    -(2 ** 53 - 1),
    0x7fffffff,
    -0x80000000,
    0xffffffff,
  ),
);
const text = fc.string({ unit: 'binary', maxLength: 40 });
const longText = fc.string({ unit: 'binary', minLength: 40, maxLength: 300 });
const instant = fc.oneof(
  fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -9223372036854775n, max: 9223372036854775n }),
);
const intervalWindow = fc.tuple(instant, fc.oneof(fc.nat(100_000), fc.maxSafeNat())).map(([start, span]) => {
  const s = BigInt(start);
  const e = s + BigInt(span) > 9223372036854775n ? 9223372036854775n : s + BigInt(span);
  return new IntervalWindow(canonicalInt64(s), canonicalInt64(e));
});

interface Case {
  name: string;
  coder: Coder<unknown>;
  values: fc.Arbitrary<unknown>;
  /** The value decoding must give back, when not the input itself. */
  expected?: (v: unknown) => unknown;
}

const nullableVarLongs = fc.array(fc.option(int64, { nil: null }), { maxLength: 8 });
const asInt64 = (v: unknown): unknown => canonicalInt64(v as number | bigint);

const cases: Case[] = [
  { name: 'ByteArrayCoder', coder: ByteArrayCoder.of() as Coder<unknown>, values: fc.uint8Array({ maxLength: 300 }) },
  { name: 'StringUtf8Coder', coder: StringUtf8Coder.of() as Coder<unknown>, values: fc.oneof(text, longText) },
  { name: 'VarIntCoder', coder: VarIntCoder.of() as Coder<unknown>, values: fc.integer() },
  { name: 'VarLongCoder', coder: VarLongCoder.of() as Coder<unknown>, values: int64, expected: asInt64 },
  {
    name: 'BigEndianShortCoder',
    coder: BigEndianShortCoder.of() as Coder<unknown>,
    values: fc.integer({ min: -32768, max: 32767 }),
  },
  { name: 'BigEndianIntegerCoder', coder: BigEndianIntegerCoder.of() as Coder<unknown>, values: fc.integer() },
  { name: 'BigEndianLongCoder', coder: BigEndianLongCoder.of() as Coder<unknown>, values: int64, expected: asInt64 },
  { name: 'ByteCoder', coder: ByteCoder.of() as Coder<unknown>, values: fc.integer({ min: -128, max: 127 }) },
  { name: 'BooleanCoder', coder: BooleanCoder.of() as Coder<unknown>, values: fc.boolean() },
  { name: 'FloatCoder', coder: FloatCoder.of() as Coder<unknown>, values: fc.float() },
  { name: 'DoubleCoder', coder: DoubleCoder.of() as Coder<unknown>, values: fc.double() },
  { name: 'VoidCoder', coder: VoidCoder.of() as Coder<unknown>, values: fc.constant(null) },
  { name: 'InstantCoder', coder: InstantCoder.of() as Coder<unknown>, values: int64, expected: asInt64 },
  { name: 'DurationCoder', coder: DurationCoder.of() as Coder<unknown>, values: int64, expected: asInt64 },
  {
    name: 'KvCoder(StringUtf8Coder, VarLongCoder)',
    coder: KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of()) as Coder<unknown>,
    values: fc.record({ key: text, value: int64 }),
    expected: (v) => ({
      key: (v as { key: string }).key,
      value: canonicalInt64((v as { value: number | bigint }).value),
    }),
  },
  {
    name: 'KvCoder(StringUtf8Coder, ListCoder(NullableCoder(VarLongCoder)))',
    coder: KvCoder.of(StringUtf8Coder.of(), ListCoder.of(NullableCoder.of(VarLongCoder.of()))) as Coder<unknown>,
    values: fc.record({ key: text, value: nullableVarLongs }),
    expected: (v) => {
      const kv = v as { key: string; value: (number | bigint | null)[] };
      return { key: kv.key, value: kv.value.map((x) => (x === null ? null : canonicalInt64(x))) };
    },
  },
  {
    name: 'KvCoder(ByteArrayCoder, ByteArrayCoder)',
    coder: KvCoder.of(ByteArrayCoder.of(), ByteArrayCoder.of()) as Coder<unknown>,
    values: fc.record({ key: fc.uint8Array({ maxLength: 20 }), value: fc.uint8Array({ maxLength: 20 }) }),
  },
  {
    name: 'IterableCoder(StringUtf8Coder)',
    coder: IterableCoder.of(StringUtf8Coder.of()) as Coder<unknown>,
    values: fc.array(text, { maxLength: 10 }),
  },
  {
    name: 'IterableCoder(VarIntCoder) from a generator (block form)',
    coder: IterableCoder.of(VarIntCoder.of()) as Coder<unknown>,
    values: fc
      .array(fc.integer(), { maxLength: 10 })
      .map((xs) => ({ [Symbol.iterator]: () => xs[Symbol.iterator](), xs })),
    expected: (v) => (v as { xs: number[] }).xs,
  },
  {
    name: 'ListCoder(NullableCoder(VarLongCoder))',
    coder: ListCoder.of(NullableCoder.of(VarLongCoder.of())) as Coder<unknown>,
    values: nullableVarLongs,
    expected: (v) => (v as (number | bigint | null)[]).map((x) => (x === null ? null : canonicalInt64(x))),
  },
  {
    name: 'ListCoder(VoidCoder)',
    coder: ListCoder.of(VoidCoder.of()) as Coder<unknown>,
    values: fc.array(fc.constant(null), { maxLength: 50 }),
  },
  {
    name: 'SetCoder(StringUtf8Coder)',
    coder: SetCoder.of(StringUtf8Coder.of()) as Coder<unknown>,
    values: fc.uniqueArray(text, { maxLength: 10 }).map((xs) => new Set(xs)),
  },
  {
    name: 'MapCoder(StringUtf8Coder, StringUtf8Coder)',
    coder: MapCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()) as Coder<unknown>,
    values: fc.uniqueArray(fc.tuple(text, text), { maxLength: 8, selector: ([k]) => k }).map((es) => new Map(es)),
  },
  {
    name: 'MapCoder(VarIntCoder, ListCoder(DoubleCoder))',
    coder: MapCoder.of(VarIntCoder.of(), ListCoder.of(DoubleCoder.of())) as Coder<unknown>,
    values: fc
      .uniqueArray(fc.tuple(fc.integer(), fc.array(fc.double(), { maxLength: 3 })), {
        maxLength: 6,
        selector: ([k]) => k,
      })
      .map((es) => new Map(es)),
  },
  {
    name: 'NullableCoder(StringUtf8Coder)',
    coder: NullableCoder.of(StringUtf8Coder.of()) as Coder<unknown>,
    values: fc.option(text, { nil: null }),
  },
  {
    name: 'NullableCoder(ByteArrayCoder)',
    coder: NullableCoder.of(ByteArrayCoder.of()) as Coder<unknown>,
    values: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: null }),
  },
  {
    name: 'LengthPrefixCoder(StringUtf8Coder)',
    coder: LengthPrefixCoder.of(StringUtf8Coder.of()) as Coder<unknown>,
    values: fc.oneof(text, longText),
  },
  {
    name: 'LengthPrefixCoder(KvCoder(StringUtf8Coder, ByteArrayCoder))',
    coder: LengthPrefixCoder.of(KvCoder.of(StringUtf8Coder.of(), ByteArrayCoder.of())) as Coder<unknown>,
    values: fc.record({ key: text, value: fc.uint8Array({ maxLength: 200 }) }),
  },
  {
    name: 'GlobalWindowCoder',
    coder: GlobalWindowCoder.of() as Coder<unknown>,
    values: fc.constant(GlobalWindow.INSTANCE),
  },
  { name: 'IntervalWindowCoder', coder: IntervalWindowCoder.of() as Coder<unknown>, values: intervalWindow },
  {
    name: 'TimestampedValueCoder(StringUtf8Coder)',
    coder: TimestampedValueCoder.of(StringUtf8Coder.of()) as Coder<unknown>,
    values: fc.tuple(text, instant).map(([v, t]) => TimestampedValue.of(v, t)),
  },
  {
    name: 'MsgpackCoder',
    coder: MsgpackCoder.of() as Coder<unknown>,
    // msgpackr renames "__proto__" keys on decoding (a prototype-pollution guard), as documented.
    values: fc.oneof(
      fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')),
      fc.uint8Array({ maxLength: 10 }),
      fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
    ),
    expected: (v) => (typeof v === 'bigint' ? canonicalInt64(v) : normalizeJsonNumbers(v)),
  },
  {
    name: 'JsonCoder',
    coder: JsonCoder.of() as Coder<unknown>,
    values: fc.jsonValue(),
    expected: (v) => JSON.parse(JSON.stringify(v)),
  },
];

/** -0 survives neither JSON nor MessagePack integers; JSON.stringify gives the canonical form. */
function normalizeJsonNumbers(v: unknown): unknown {
  if (v instanceof Uint8Array) return v;
  return JSON.parse(JSON.stringify(v));
}

const NUM_RUNS = 150;

function isDeterministic(coder: Coder<unknown>): boolean {
  try {
    coder.verifyDeterministic();
    return true;
  } catch {
    return false;
  }
}

for (const c of cases) {
  const expected = c.expected ?? ((v: unknown) => v);
  for (const context of [Context.OUTER, Context.NESTED]) {
    test(`${c.name} ${context}: decode(encode(v)) gives v back`, () => {
      fc.assert(
        fc.property(c.values, (v) => {
          const bytes = CoderUtils.encodeToByteArray(c.coder, v, context);
          const back = CoderUtils.decodeFromByteArray(c.coder, bytes, context);
          assert.equal(canonical(back), canonical(expected(v)));
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }

  test(`${c.name}: NESTED encodings are self-delimiting (two concatenated values both decode)`, () => {
    fc.assert(
      fc.property(c.values, c.values, (a, b) => {
        const writer = new ByteWriter(16);
        c.coder.encode(a, writer, Context.NESTED);
        c.coder.encode(b, writer, Context.NESTED);
        const reader = new ByteReader(writer.toBytes());
        assert.equal(canonical(c.coder.decode(reader, Context.NESTED)), canonical(expected(a)));
        assert.equal(canonical(c.coder.decode(reader, Context.NESTED)), canonical(expected(b)));
        assert.ok(reader.isAtEnd(), 'bytes left after two values');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  // A non-deterministic coder may write an equal value differently (a generator in block form, a
  // bigint 0n as a 64-bit MessagePack int): there the property starts from a decoded value.
  const deterministic = isDeterministic(c.coder);
  test(`${c.name}: the structural value survives a round trip${deterministic ? '' : ' (from a decoded value)'}`, () => {
    fc.assert(
      fc.property(c.values, (input) => {
        const v = deterministic ? input : CoderUtils.clone(c.coder, input);
        const back = CoderUtils.clone(c.coder, v);
        const a = c.coder.structuralValue(v);
        const b = c.coder.structuralValue(back);
        assert.ok(a === b || (a !== a && b !== b), `${String(a)} vs ${String(b)}`);
      }),
      { numRuns: NUM_RUNS },
    );
  });
}

// State skips the encode of a written value when its coder says it certainly encodes: that answer
// must never be yes for a value encode refuses.
const anyValue = fc.oneof(
  fc.anything(),
  fc.double(),
  fc.bigInt(),
  fc.constantFrom(-0, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, -(2 ** 53), 0.5, NaN, Infinity, 2n ** 64n, '\uD800'),
);
const varLongNumber: Case = {
  name: 'VarLongNumberCoder',
  coder: VarLongNumberCoder.of() as Coder<unknown>,
  values: fc.maxSafeInteger(),
};
for (const c of [...cases, varLongNumber]) {
  test(`${c.name}: encodesWithoutTrying(v) only for values that encode, in both contexts`, () => {
    if (!(c.coder instanceof BaseCoder)) return;
    const coder = c.coder;
    fc.assert(
      fc.property(fc.oneof(c.values, anyValue), (v) => {
        if (!coder.encodesWithoutTrying(v)) return;
        CoderUtils.encodeToByteArray(coder, v, Context.OUTER);
        CoderUtils.encodeToByteArray(coder, v, Context.NESTED);
      }),
      { numRuns: NUM_RUNS * 4 },
    );
  });
}

test('encodesWithoutTrying answers for the common coders by the value type alone', () => {
  assert.ok(VarLongCoder.of().encodesWithoutTrying(-(2 ** 53 - 1)));
  assert.not.ok(VarLongCoder.of().encodesWithoutTrying(0.5));
  assert.not.ok(VarLongCoder.of().encodesWithoutTrying(1n)); // encoded to be checked
  assert.ok(VarLongNumberCoder.of().encodesWithoutTrying(7));
  assert.not.ok(VarLongNumberCoder.of().encodesWithoutTrying(2 ** 53));
  assert.ok(VarIntCoder.of().encodesWithoutTrying(-(2 ** 31)));
  assert.not.ok(VarIntCoder.of().encodesWithoutTrying(2 ** 31));
  assert.ok(StringUtf8Coder.of().encodesWithoutTrying('\uD800'));
  assert.not.ok(StringUtf8Coder.of().encodesWithoutTrying(null));
  assert.ok(DoubleCoder.of().encodesWithoutTrying(NaN));
  assert.ok(BooleanCoder.of().encodesWithoutTrying(false));
  assert.not.ok(BooleanCoder.of().encodesWithoutTrying(0));
  assert.not.ok(JsonCoder.of().encodesWithoutTrying({})); // not overridden: encoded to be checked
});

test('MsgpackCoder renames a "__proto__" key to "__proto_" rather than setting a prototype (msgpackr)', () => {
  const back = CoderUtils.clone(MsgpackCoder.of(), JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')) as Record<
    string,
    unknown
  >;
  assert.equal(Object.keys(back), ['__proto_', 'a']);
  assert.is(Object.getPrototypeOf(back), Object.prototype);
  assert.is(({} as Record<string, unknown>)['polluted'], undefined);
});

test('a value encoded into a reused writer gives the same bytes as a fresh one', () => {
  const coder = KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of());
  const writer = new ByteWriter(16);
  fc.assert(
    fc.property(fc.record({ key: fc.oneof(text, longText), value: int64 }), (kv) => {
      writer.reset();
      coder.encode(kv, writer, Context.OUTER);
      assert.equal(writer.toBytes(), CoderUtils.encodeToByteArray(coder, kv));
    }),
  );
});

test('a string starting with U+FEFF (a byte order mark) keeps it, alone and inside a map (found by a CI seed)', () => {
  for (const v of ['\uFEFF', '\uFEFFa', 'a\uFEFF']) {
    const coder = StringUtf8Coder.of();
    assert.is(CoderUtils.decodeFromByteArray(coder, CoderUtils.encodeToByteArray(coder, v)), v);
  }
  const map = MapCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of());
  assert.equal(
    CoderUtils.decodeFromByteArray(map, CoderUtils.encodeToByteArray(map, new Map([['', '\uFEFF']]))),
    new Map([['', '\uFEFF']]),
  );
});

test.run();
