import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  BaseCoder,
  CannotProvideCoderError,
  CoderRegistry,
  KvCoder,
  StringUtf8Coder,
  VarLongCoder,
  type ByteReader,
  type ByteWriter,
  type Coder,
  type Context,
} from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  InMemoryStateInternals,
  StateNamespaces,
  StateTagConflictError,
  StateTags,
  TimestampCombiner,
  type CombineFn,
} from '../../src/state/index.ts';

const g = StateNamespaces.global();

test('tags - a tag is identified by its id, not by the object', () => {
  const s = InMemoryStateInternals.forKey('k');
  s.state(g, StateTags.value('x', VarLongCoder.of())).write(7);
  assert.is(s.state(g, StateTags.value('x', VarLongCoder.of())).read(), 7);
});

test('tags - binding one id to another kind is a typed error naming the tag', () => {
  const s = InMemoryStateInternals.forKey('k');
  s.state(g, StateTags.value('x', VarLongCoder.of()));
  try {
    s.state(g, StateTags.bag('x', VarLongCoder.of()));
    assert.unreachable('expected a conflict');
  } catch (err) {
    assert.instance(err, StateTagConflictError);
    assert.is((err as StateTagConflictError).code, 'STATE_TAG_CONFLICT');
    assert.match((err as Error).message, /'x'/);
    assert.match((err as Error).message, /value\(VarLongCoder\)/);
  }
});

test('tags - binding one id with other coders is an error in a backend too', () => {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  b.boundState(g, StateTags.map('m', StringUtf8Coder.of(), VarLongCoder.of()));
  assert.throws(
    () => b.boundState(g, StateTags.map('m', StringUtf8Coder.of(), StringUtf8Coder.of())),
    (e: unknown) => e instanceof StateTagConflictError,
  );
  // Same coders from other instances agree.
  b.boundState(g, StateTags.map('m', StringUtf8Coder.of(), VarLongCoder.of()));
  const kv = () => KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of());
  b.boundState(g, StateTags.value('kv', kv()));
  b.boundState(g, StateTags.value('kv', kv()));
});

test('tags - watermark holds with another combiner conflict', () => {
  const s = InMemoryStateInternals.forKey('k');
  s.state(g, StateTags.watermarkStateInternal('h', TimestampCombiner.EARLIEST));
  assert.throws(
    () => s.state(g, StateTags.watermarkStateInternal('h', TimestampCombiner.LATEST)),
    (e: unknown) => e instanceof StateTagConflictError,
  );
});

test('tags - a system tag never collides with the user tag of the same id', () => {
  const s = InMemoryStateInternals.forKey('k');
  const user = StateTags.value('x', VarLongCoder.of());
  const system = StateTags.makeSystemTagInternal(StateTags.bag('x', StringUtf8Coder.of()));
  assert.is(system.id, 'x');
  assert.is(system.origin, 'system');
  s.state(g, user).write(1);
  s.state(g, system).add('a');
  assert.is(s.state(g, user).read(), 1);
  assert.equal([...s.state(g, system).read()], ['a']);
});

test('tags - set and map tags reject a non-deterministic element or key coder', () => {
  const nonDeterministic = Object.assign(Object.create(StringUtf8Coder.of()), {
    verifyDeterministic() {
      throw new Error('not deterministic');
    },
  });
  assert.throws(() => StateTags.set('s', nonDeterministic), /not deterministic/);
  assert.throws(() => StateTags.map('m', nonDeterministic, VarLongCoder.of()), /not deterministic/);
});

/** A sum whose accumulator coder is the input coder itself (accumulator = the running sum). */
const sumWithCoder = (
  seen: { registry?: CoderRegistry; input?: Coder<number> } = {},
): CombineFn<number, number, number> => ({
  createAccumulator: () => 0,
  addInput: (a, x) => a + x,
  mergeAccumulators: (accs) => [...accs].reduce((t, a) => t + a, 0),
  extractOutput: (a) => a,
  getAccumulatorCoder: (registry, input) => {
    seen.registry = registry;
    seen.input = input;
    return input;
  },
});

test('combiningValueFromInputInternal - the CombineFn derives the accumulator coder from the input coder, with the standard registry', () => {
  const seen: { registry?: CoderRegistry; input?: Coder<number> } = {};
  const input = VarLongCoder.of() as unknown as Coder<number>;
  const tag = StateTags.combiningValueFromInputInternal('sum', input, sumWithCoder(seen));
  assert.is(seen.input, input);
  assert.instance(seen.registry, CoderRegistry);
  assert.ok(seen.registry!.has('beam:coder:varint:v1'));
  assert.ok(tag.spec.kind === 'combining' && tag.spec.accumCoder === input && !tag.spec.withContext);
  // Same cell as combiningValue with the derived coder.
  const s = InMemoryStateInternals.forKey('k');
  s.state(g, tag).add(5);
  assert.is(s.state(g, StateTags.combiningValue('sum', input, sumWithCoder())).read(), 5);
});

test('combiningValueFromInputInternal - a CombineFn without getAccumulatorCoder, or whose getAccumulatorCoder throws, is a typed error saying what to do', () => {
  const plain: CombineFn<number, number, number> = {
    createAccumulator: () => 0,
    addInput: (a, x) => a + x,
    mergeAccumulators: (accs) => [...accs].reduce((t, a) => t + a, 0),
    extractOutput: (a) => a,
  };
  try {
    StateTags.combiningValueFromInputInternal('sum', VarLongCoder.of() as unknown as Coder<number>, plain);
    assert.unreachable('expected CannotProvideCoderError');
  } catch (err) {
    assert.instance(err, CannotProvideCoderError);
    assert.is((err as CannotProvideCoderError).code, 'CANNOT_PROVIDE_CODER');
    assert.match(
      (err as Error).message,
      /VarLongCoder.*getAccumulatorCoder.*StateTags\.combiningValue\(id, accumCoder, combineFn\)/,
    );
  }
  const cause = new Error('no coder for this input');
  try {
    StateTags.combiningValueFromInputInternal('sum', StringUtf8Coder.of(), {
      ...plain,
      getAccumulatorCoder: () => {
        throw cause;
      },
    } as unknown as CombineFn<string, number, number>);
    assert.unreachable('expected CannotProvideCoderError');
  } catch (err) {
    assert.instance(err, CannotProvideCoderError);
    assert.is((err as Error).cause, cause);
    assert.match((err as Error).message, /no coder for this input/);
  }
});

/** An int[1] accumulator over the input coder, as Beam's BinaryCombineIntegerFn.getAccumulatorCoder. */
class BoxedCoder extends BaseCoder<number[]> {
  readonly urn = undefined;
  constructor(private readonly inner: Coder<bigint | number>) {
    super();
  }
  encode(value: number[], writer: ByteWriter, context: Context): void {
    this.inner.encode(value[0]!, writer, context);
  }
  decode(reader: ByteReader, context: Context): number[] {
    return [Number(this.inner.decode(reader, context))];
  }
}

test('combiningValueFromInputInternal - property: the derived-coder cell sums like a fold, and its accumulator survives a checkpoint and restore', () => {
  const boxedSum: CombineFn<number, number[], number> = {
    createAccumulator: () => [0],
    addInput: (a, x) => [a[0]! + x],
    mergeAccumulators: (accs) => [[...accs].reduce((t, a) => t + a[0]!, 0)],
    extractOutput: (a) => a[0]!,
    getAccumulatorCoder: (_registry, input) => new BoxedCoder(input as unknown as Coder<bigint | number>),
  };
  const tag = StateTags.combiningValueFromInputInternal('sum', VarLongCoder.of() as unknown as Coder<number>, boxedSum);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1_000_000, max: 1_000_000 }), { maxLength: 40 }), (inputs) => {
      const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
      const cell = backend.stateInternalsForKey('k').state(g, tag);
      for (const x of inputs) cell.add(x);
      const expected = inputs.reduce((t, x) => t + x, 0);
      assert.is(cell.read(), expected);
      const captured = backend.captureChanges();
      const restored = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
      for (const kg of captured.keyGroups) restored.restoreKeyGroup(kg, [captured.encodeKeyGroup(kg)]);
      assert.is(restored.stateInternalsForKey('k').state(g, tag).read(), expected);
    }),
  );
});

test.run();
