import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BigEndianLongCoder,
  BooleanCoder,
  ByteArrayCoder,
  CoderError,
  CoderUtils,
  Context,
  DoubleCoder,
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
  TimestampedValueCoder,
  VarIntCoder,
  VarLongCoder,
  VoidCoder,
  GlobalWindowCoder,
  InstantCoder,
  PaneInfo,
  ParamWindowedValueCoder,
  ShardedKeyCoder,
  StateBackedIterableCoder,
  TimerCoder,
  TimestampPrefixingWindowCoder,
  WindowedValueCoder,
  type Coder,
} from '../../coders/index.ts';

// Bad bytes always give a typed CoderError: never a wrong value, a hang, or a huge allocation.

const test = suite('malformed input');

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs);

function decodeFails(coder: Coder<unknown>, input: Uint8Array, context: Context, message?: RegExp): void {
  let value: unknown;
  try {
    value = CoderUtils.decodeFromByteArray(coder, input, context);
  } catch (err) {
    assert.instance(err, CoderError, `threw ${String(err)}`);
    assert.is((err as CoderError).code, 'CODER_ERROR');
    if (message) assert.match((err as Error).message, message);
    return;
  }
  assert.unreachable(`${coder.toString()} decoded ${Buffer.from(input).toString('hex')} to ${String(value)}`);
}

const nestedCoders: [Coder<unknown>, fc.Arbitrary<unknown>][] = [
  [StringUtf8Coder.of() as Coder<unknown>, fc.string({ unit: 'binary', maxLength: 30 })],
  [ByteArrayCoder.of() as Coder<unknown>, fc.uint8Array({ maxLength: 30 })],
  [
    VarLongCoder.of() as Coder<unknown>,
    fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })),
  ],
  [
    KvCoder.of(StringUtf8Coder.of(), ListCoder.of(NullableCoder.of(VarLongCoder.of()))) as Coder<unknown>,
    fc.record({ key: fc.string(), value: fc.array(fc.option(fc.integer(), { nil: null }), { maxLength: 5 }) }),
  ],
  [
    MapCoder.of(StringUtf8Coder.of(), DoubleCoder.of()) as Coder<unknown>,
    fc.array(fc.tuple(fc.string(), fc.double()), { maxLength: 5 }).map((es) => new Map(es)),
  ],
  [
    TimestampedValueCoder.of(StringUtf8Coder.of()) as Coder<unknown>,
    fc.tuple(fc.string(), fc.maxSafeInteger()).map(([v, t]) => ({ value: v, timestamp: t })),
  ],
  [LengthPrefixCoder.of(MsgpackCoder.of()) as Coder<unknown>, fc.jsonValue()],
  [JsonCoder.of() as Coder<unknown>, fc.jsonValue()],
];

for (const [coder, values] of nestedCoders) {
  test(`${coder.toString()}: every truncation of a NESTED encoding is a CoderError`, () => {
    fc.assert(
      fc.property(values, (v) => {
        let value = v;
        if (coder instanceof TimestampedValueCoder) {
          const { value: x, timestamp } = v as { value: string; timestamp: number };
          value = CoderUtils.clone(coder, CoderUtils.decodeFromByteArray(coder, encodeTimestamped(x, timestamp)));
        }
        const full = CoderUtils.encodeToByteArray(coder, value, Context.NESTED);
        for (let n = 0; n < full.length; n++) decodeFails(coder, full.subarray(0, n), Context.NESTED);
      }),
      { numRuns: 60 },
    );
  });

  test(`${coder.toString()}: trailing bytes after a NESTED value are a CoderError`, () => {
    fc.assert(
      fc.property(values, fc.uint8Array({ minLength: 1, maxLength: 4 }), (v, extra) => {
        if (coder instanceof TimestampedValueCoder) return;
        const full = CoderUtils.encodeToByteArray(coder, v, Context.NESTED);
        decodeFails(coder, Buffer.concat([full, extra]), Context.NESTED, /trailing bytes/);
      }),
      { numRuns: 60 },
    );
  });
}

function encodeTimestamped(value: string, timestamp: number): Uint8Array {
  const s = CoderUtils.encodeToByteArray(StringUtf8Coder.of(), value, Context.NESTED);
  const t = CoderUtils.encodeToByteArray(InstantCoder.of(), timestamp);
  return Buffer.concat([s, t]);
}

test('fixed-width values with bytes missing or left over are CoderErrors in the OUTER context', () => {
  decodeFails(DoubleCoder.of() as Coder<unknown>, bytes(0, 0, 0, 0, 0, 0, 0), Context.OUTER, /truncated/);
  decodeFails(DoubleCoder.of() as Coder<unknown>, bytes(0, 0, 0, 0, 0, 0, 0, 0, 0), Context.OUTER, /trailing/);
  decodeFails(BigEndianLongCoder.of() as Coder<unknown>, bytes(1, 2, 3), Context.OUTER, /truncated/);
  decodeFails(VarLongCoder.of() as Coder<unknown>, bytes(0x80), Context.OUTER, /truncated/);
  decodeFails(VarLongCoder.of() as Coder<unknown>, bytes(), Context.OUTER, /truncated/);
  decodeFails(VoidCoder.of() as Coder<unknown>, bytes(0), Context.OUTER, /trailing/);
  decodeFails(GlobalWindowCoder.of() as Coder<unknown>, bytes(0), Context.OUTER, /trailing/);
});

test('a varint longer than 10 bytes, or one beyond 64 bits, is a CoderError', () => {
  const eleven = bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
  decodeFails(VarLongCoder.of() as Coder<unknown>, eleven, Context.OUTER, /more than 10 bytes/);
  const tooBig = bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02);
  decodeFails(VarLongCoder.of() as Coder<unknown>, tooBig, Context.OUTER, /exceeds 64 bits/);
  const endless = new Uint8Array(1000).fill(0xff);
  decodeFails(VarLongCoder.of() as Coder<unknown>, endless, Context.OUTER, /more than 10 bytes|exceeds 64 bits/);
});

test('VarIntCoder rejects varints outside 32 bits instead of truncating them', () => {
  decodeFails(
    VarIntCoder.of() as Coder<unknown>,
    CoderUtils.encodeToByteArray(VarLongCoder.of(), 2 ** 32),
    Context.OUTER,
    /32 bits/,
  );
  decodeFails(
    VarIntCoder.of() as Coder<unknown>,
    CoderUtils.encodeToByteArray(VarLongCoder.of(), -1),
    Context.OUTER,
    /32 bits/,
  );
  assert.is(CoderUtils.decodeFromByteArray(VarIntCoder.of(), bytes(0xff, 0xff, 0xff, 0xff, 0x0f)), -1);
});

test('invalid UTF-8 is a CoderError, never replacement characters', () => {
  const s = StringUtf8Coder.of() as Coder<unknown>;
  decodeFails(s, bytes(0xff), Context.OUTER, /invalid UTF-8/);
  decodeFails(s, bytes(0x61, 0xc0, 0x80), Context.OUTER, /invalid UTF-8/); // overlong NUL
  decodeFails(s, bytes(0xed, 0xa0, 0x80), Context.OUTER, /invalid UTF-8/); // a UTF-16 surrogate
  decodeFails(s, bytes(0x02, 0xe2, 0x82), Context.NESTED, /invalid UTF-8/); // cut mid-character
  decodeFails(s, Buffer.concat([Buffer.from('x'.repeat(100)), bytes(0x80)]), Context.OUTER, /invalid UTF-8/);
});

test('a negative length is a CoderError', () => {
  const minusOne = CoderUtils.encodeToByteArray(VarLongCoder.of(), -1);
  decodeFails(ByteArrayCoder.of() as Coder<unknown>, Buffer.concat([minusOne, bytes(1, 2)]), Context.NESTED, /length/);
  decodeFails(StringUtf8Coder.of() as Coder<unknown>, Buffer.concat([minusOne, bytes(0x61)]), Context.NESTED, /length/);
  decodeFails(LengthPrefixCoder.of(StringUtf8Coder.of()) as Coder<unknown>, minusOne, Context.OUTER, /length/);
  decodeFails(
    MapCoder.of(VoidCoder.of(), VoidCoder.of()) as Coder<unknown>,
    bytes(0xff, 0xff, 0xff, 0xfe),
    Context.OUTER,
    /negative/,
  );
  decodeFails(
    IterableCoder.of(VoidCoder.of()) as Coder<unknown>,
    bytes(0xff, 0xff, 0xff, 0xfe),
    Context.OUTER,
    /negative/,
  );
});

test('a length larger than the input is a CoderError before anything is allocated', () => {
  const before = process.memoryUsage().arrayBuffers;
  const huge = CoderUtils.encodeToByteArray(VarLongCoder.of(), 2 ** 52);
  decodeFails(
    ByteArrayCoder.of() as Coder<unknown>,
    Buffer.concat([huge, bytes(1, 2, 3)]),
    Context.NESTED,
    /truncated/,
  );
  decodeFails(StringUtf8Coder.of() as Coder<unknown>, Buffer.concat([huge, bytes(0x61)]), Context.NESTED, /truncated/);
  decodeFails(MsgpackCoder.of() as Coder<unknown>, Buffer.concat([huge, bytes(0xc0)]), Context.NESTED, /truncated/);
  const bigInt64 = CoderUtils.encodeToByteArray(VarLongCoder.of(), 1n << 62n);
  decodeFails(ByteArrayCoder.of() as Coder<unknown>, Buffer.concat([bigInt64, bytes(1)]), Context.NESTED, /length/);
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'no large buffer was allocated');
});

test('a huge iterable count is a CoderError, for elements of any width', () => {
  const count = bytes(0x7f, 0xff, 0xff, 0xff);
  decodeFails(
    IterableCoder.of(VarLongCoder.of()) as Coder<unknown>,
    Buffer.concat([count, bytes(1, 2, 3)]),
    Context.OUTER,
    /cannot fit/,
  );
  decodeFails(ListCoder.of(VoidCoder.of()) as Coder<unknown>, count, Context.OUTER, /exceed the limit/);
  decodeFails(SetCoder.of(GlobalWindowCoder.of()) as Coder<unknown>, count, Context.OUTER, /exceed the limit/);
  decodeFails(
    MapCoder.of(VarLongCoder.of(), VarLongCoder.of()) as Coder<unknown>,
    Buffer.concat([count, bytes(1, 2)]),
    Context.OUTER,
    /cannot fit/,
  );
  // Block form: -1, then a block claiming 2^62 elements.
  const block = Buffer.concat([
    bytes(0xff, 0xff, 0xff, 0xff),
    CoderUtils.encodeToByteArray(VarLongCoder.of(), 2 ** 50),
    bytes(0),
  ]);
  decodeFails(IterableCoder.of(VarLongCoder.of()) as Coder<unknown>, block, Context.OUTER, /cannot fit/);
  decodeFails(IterableCoder.of(VoidCoder.of()) as Coder<unknown>, block, Context.OUTER, /exceed the limit/);
  // Many small blocks of zero-width elements add up to the same limit.
  const blocks: number[] = [0xff, 0xff, 0xff, 0xff];
  for (let i = 0; i < 20; i++) blocks.push(0x80, 0x80, 0x08); // 2^17 each
  blocks.push(0);
  decodeFails(
    IterableCoder.of(VoidCoder.of()) as Coder<unknown>,
    new Uint8Array(blocks),
    Context.OUTER,
    /exceed the limit/,
  );
});

test('bytes that are not a valid marker or flag are CoderErrors', () => {
  decodeFails(BooleanCoder.of() as Coder<unknown>, bytes(2), Context.OUTER, /neither 0/);
  decodeFails(
    NullableCoder.of(VarLongCoder.of()) as Coder<unknown>,
    bytes(2, 1),
    Context.OUTER,
    /either a byte valued 0/,
  );
  // A negative span is a valid window (end before start, as in Beam); a start beyond int64 is not.
  const startBeyondInt64 = Buffer.concat([
    CoderUtils.encodeToByteArray(InstantCoder.of(), -(1n << 63n)),
    CoderUtils.encodeToByteArray(VarLongCoder.of(), 5),
  ]);
  decodeFails(IntervalWindowCoder.of() as Coder<unknown>, startBeyondInt64, Context.OUTER, /outside the signed 64-bit/);
  decodeFails(JsonCoder.of() as Coder<unknown>, Buffer.from('{"a":'), Context.OUTER, /not valid JSON/);
  decodeFails(MsgpackCoder.of() as Coder<unknown>, bytes(0xc1), Context.OUTER, /MessagePack/);
  decodeFails(MsgpackCoder.of() as Coder<unknown>, bytes(0x92, 0x01, 0xc1), Context.OUTER, /MessagePack/);
  decodeFails(
    LengthPrefixCoder.of(VarLongCoder.of()) as Coder<unknown>,
    bytes(2, 1, 1),
    Context.OUTER,
    /left after decoding/,
  );
});

test('random bytes never decode to anything but a value or a CoderError', () => {
  const coders = [
    KvCoder.of(StringUtf8Coder.of(), ListCoder.of(NullableCoder.of(VarLongCoder.of()))),
    MapCoder.of(StringUtf8Coder.of(), IterableCoder.of(DoubleCoder.of())),
    IntervalWindowCoder.of(),
    TimestampedValueCoder.of(SetCoder.of(ByteArrayCoder.of())),
    LengthPrefixCoder.of(JsonCoder.of()),
    MsgpackCoder.of(),
    WindowedValueCoder.of(StringUtf8Coder.of(), IntervalWindowCoder.of()),
    TimerCoder.of(VarLongCoder.of(), GlobalWindowCoder.of()),
    ShardedKeyCoder.of(StringUtf8Coder.of()),
    TimestampPrefixingWindowCoder.of(IntervalWindowCoder.of()),
    StateBackedIterableCoder.of(VoidCoder.of()),
    ParamWindowedValueCoder.withParams(ByteArrayCoder.of(), GlobalWindowCoder.of(), 0, [], PaneInfo.NO_FIRING),
  ] as Coder<unknown>[];
  fc.assert(
    fc.property(
      fc.constantFrom(...coders),
      fc.uint8Array({ maxLength: 64 }),
      fc.constantFrom(Context.OUTER, Context.NESTED),
      (coder, input, context) => {
        try {
          CoderUtils.decodeFromByteArray(coder, input, context);
        } catch (err) {
          if (!(err instanceof CoderError)) throw err;
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('values a coder cannot encode are CoderErrors that say what to do', () => {
  const fails = (coder: Coder<unknown>, value: unknown, message: RegExp) => {
    assert.throws(
      () => CoderUtils.encodeToByteArray(coder, value),
      (err: unknown) => err instanceof CoderError && message.test((err as Error).message),
    );
  };
  fails(VarLongCoder.of() as Coder<unknown>, 2 ** 60, /pass a bigint/);
  fails(VarLongCoder.of() as Coder<unknown>, 1n << 63n, /64-bit/);
  fails(VarLongCoder.of() as Coder<unknown>, 1.5, /safe integer/);
  fails(VarIntCoder.of() as Coder<unknown>, 2 ** 31, /VarLongCoder/);
  fails(StringUtf8Coder.of() as Coder<unknown>, 42, /expected a string/);
  fails(ByteArrayCoder.of() as Coder<unknown>, 'abc', /Uint8Array/);
  fails(InstantCoder.of() as Coder<unknown>, 1.5, /milliseconds/);
  fails(JsonCoder.of() as Coder<unknown>, undefined, /no JSON form/);
  fails(ListCoder.of(VarLongCoder.of()) as Coder<unknown>, new Set([1]), /expected an array/);
});

test.run();
