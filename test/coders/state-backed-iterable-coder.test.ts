import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CoderError,
  CoderUtils,
  IterableCoder,
  KvCoder,
  NonDeterministicCoderError,
  StateBackedIterable,
  StateBackedIterableCoder,
  StringUtf8Coder,
  VarIntCoder,
  VarLongCoder,
} from '../../coders/index.ts';

// Port of Python's coders_test_common.py test_state_backed_iterable_coder (a dict as the state
// store, write_state_threshold=1), plus the Java coder's own behaviour: a decoded
// StateBackedIterable is written back with its token (StateBackedIterable.Coder.encode). Beam Java's
// StateBackedIterableTest is not ported: it drives the Fn API state client and its cache.

const test = suite('StateBackedIterableCoder (coders_test_common)');

function store(): { state: Map<string, Uint8Array[]>; coder: StateBackedIterableCoder<number> } {
  const state = new Map<string, Uint8Array[]>();
  const elem = VarIntCoder.of();
  const coder = StateBackedIterableCoder.of<number>(elem, {
    writeState: (values) => {
      const token = `state_token_${state.size}`;
      state.set(
        token,
        values.map((v) => CoderUtils.encodeToByteArray(elem, v)),
      );
      return new TextEncoder().encode(token);
    },
    readState: (token) =>
      state.get(new TextDecoder().decode(token))!.map((b) => CoderUtils.decodeFromByteArray(elem, b) as number),
    writeStateThreshold: 1,
  });
  return { state, coder };
}

test('coders_test_common.test_state_backed_iterable_coder', () => {
  const { state, coder } = store();
  assert.equal([...CoderUtils.decodeFromByteArray(coder, CoderUtils.encodeToByteArray(coder, [1, 2, 3]))], [1, 2, 3]);
  assert.ok(state.size > 0, 'Ensure that state was actually used.');
  const tuple = KvCoder.of(coder, coder);
  const back = CoderUtils.decodeFromByteArray(tuple, CoderUtils.encodeToByteArray(tuple, { key: [1], value: [2, 3] }));
  assert.equal([[...back.key], [...back.value]], [[1], [2, 3]]);
});

test('the spilled form: -1, inline blocks, then varint -1, the token length and the token', () => {
  const { coder } = store();
  const bytes = CoderUtils.encodeToByteArray(coder, [1, 2, 3]);
  // Python's IterableCoderImpl with threshold 1: a block of two elements (2 bytes > 1), then the tail to state.
  assert.is(
    Buffer.from(bytes).toString('hex'),
    'ffffffff' + '020102' + 'ffffffffffffffffff01' + '0d' + Buffer.from('state_token_0').toString('hex'),
  );
  const decoded = CoderUtils.decodeFromByteArray(coder, bytes);
  assert.ok(decoded instanceof StateBackedIterable);
  assert.equal((decoded as StateBackedIterable<number>).prefix, [1, 2]);
});

test('a decoded state-backed iterable is written back with the same token (as Java does)', () => {
  const { coder } = store();
  const bytes = CoderUtils.encodeToByteArray(coder, [1, 2, 3, 4]);
  const decoded = CoderUtils.decodeFromByteArray(coder, bytes);
  assert.equal(CoderUtils.encodeToByteArray(coder, decoded), bytes);
});

test('without readState, iterating past the prefix is a CoderError that says what to do', () => {
  const { coder } = store();
  const bytes = CoderUtils.encodeToByteArray(coder, [1, 2, 3]);
  const plain = StateBackedIterableCoder.of(VarLongCoder.of());
  const decoded = CoderUtils.decodeFromByteArray(plain, bytes) as StateBackedIterable<number>;
  assert.equal(decoded.prefix, [1, 2]);
  assert.throws(
    () => [...decoded],
    (e: unknown) => e instanceof CoderError && /readState/.test(e.message),
  );
});

test('without writeState it writes exactly what IterableCoder writes, and is not deterministic', () => {
  const plain = StateBackedIterableCoder.of(StringUtf8Coder.of());
  for (const v of [[], ['a'], ['a', 'bc']])
    assert.equal(
      CoderUtils.encodeToByteArray(plain, v),
      CoderUtils.encodeToByteArray(IterableCoder.of(StringUtf8Coder.of()), v),
    );
  assert.throws(
    () => plain.verifyDeterministic(),
    (e: unknown) => e instanceof NonDeterministicCoderError,
  );
});

test('property: any elements and threshold round-trip through the state store', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1e6, max: 1e6 }), { maxLength: 60 }), fc.nat(64), (values, threshold) => {
      const state = new Map<string, number[]>();
      const coder = StateBackedIterableCoder.of<number>(VarIntCoder.of(), {
        writeState: (rest) => {
          const token = new Uint8Array([state.size]);
          state.set(String(state.size), rest);
          return token;
        },
        readState: (token) => state.get(String(token[0]))!,
        writeStateThreshold: threshold,
      });
      assert.equal([...CoderUtils.decodeFromByteArray(coder, CoderUtils.encodeToByteArray(coder, values))], values);
    }),
  );
});

test('a block count below -1 is a CoderError', () => {
  const bad = Uint8Array.from([0xff, 0xff, 0xff, 0xff, ...CoderUtils.encodeToByteArray(VarLongCoder.of(), -2)]);
  assert.throws(
    () => CoderUtils.decodeFromByteArray(StateBackedIterableCoder.of(VarLongCoder.of()), bad),
    (e: unknown) => e instanceof CoderError,
  );
});

test.run();
