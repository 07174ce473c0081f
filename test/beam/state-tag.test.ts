// A port of Apache Beam's runners-core StateTagTest, keeping Beam's test names. StateTag equality is
// Beam's: by id (and user/system origin), whatever the kind, coders or CombineFn.
//
// Max/Min.ofIntegers() are ./binary-combine-integer-fn.ts (Beam's BinaryCombineIntegerFns, with
// getAccumulatorCoder); CombineFnUtil.toFnWithContext is `toFnWithContext` below. Beam's last test is
// named testCombiningValueWithContextEqualityx (sic); the port keeps the name.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BigEndianIntegerCoder, CoderRegistry, StringUtf8Coder, VarIntCoder } from '../../coders/index.ts';
import {
  StateTags,
  TimestampCombiner,
  type CombineFn,
  type CombineFnWithContext,
  type CombiningState,
  type StateTag,
} from '../../src/state/index.ts';
import { Max, Min } from './binary-combine-integer-fn.ts';

const test = suite('StateTagTest');
const assertEquals = (a: StateTag<any>, b: StateTag<any>): void =>
  assert.ok(a.equals(b) && b.equals(a), `${String(a)} equals ${String(b)}`);
const assertNotEquals = (a: StateTag<any>, b: StateTag<any>): void =>
  assert.not.ok(a.equals(b) || b.equals(a), `${String(a)} differs from ${String(b)}`);

const toFnWithContext = <I, A, O>(fn: CombineFn<I, A, O>): CombineFnWithContext<I, A, O> => ({
  createAccumulator: () => fn.createAccumulator(),
  addInput: (a, x) => fn.addInput(a, x),
  mergeAccumulators: (accs) => fn.mergeAccumulators(accs),
  extractOutput: (a) => fn.extractOutput(a),
});

test('testValueEquality', () => {
  const fooVarInt1 = StateTags.value('foo', VarIntCoder.of());
  const fooVarInt2 = StateTags.value('foo', VarIntCoder.of());
  const fooBigEndian = StateTags.value('foo', BigEndianIntegerCoder.of());
  const barVarInt = StateTags.value('bar', VarIntCoder.of());

  assertEquals(fooVarInt1, fooVarInt2);
  assertEquals(fooVarInt1, fooBigEndian);
  assertNotEquals(fooVarInt1, barVarInt);
});

test('testBagEquality', () => {
  const fooVarInt1 = StateTags.bag('foo', VarIntCoder.of());
  const fooVarInt2 = StateTags.bag('foo', VarIntCoder.of());
  const fooBigEndian = StateTags.bag('foo', BigEndianIntegerCoder.of());
  const barVarInt = StateTags.bag('bar', VarIntCoder.of());

  assertEquals(fooVarInt1, fooVarInt2);
  assertEquals(fooVarInt1, fooBigEndian);
  assertNotEquals(fooVarInt1, barVarInt);
});

test('testSetEquality', () => {
  const fooVarInt1 = StateTags.set('foo', VarIntCoder.of());
  const fooVarInt2 = StateTags.set('foo', VarIntCoder.of());
  const fooBigEndian = StateTags.set('foo', BigEndianIntegerCoder.of());
  const barVarInt = StateTags.set('bar', VarIntCoder.of());

  assertEquals(fooVarInt1, fooVarInt2);
  assertEquals(fooVarInt1, fooBigEndian);
  assertNotEquals(fooVarInt1, barVarInt);
});

test('testMapEquality', () => {
  const fooStringVarInt1 = StateTags.map('foo', StringUtf8Coder.of(), VarIntCoder.of());
  const fooStringVarInt2 = StateTags.map('foo', StringUtf8Coder.of(), VarIntCoder.of());
  const fooStringBigEndian = StateTags.map('foo', StringUtf8Coder.of(), BigEndianIntegerCoder.of());
  const fooVarIntBigEndian = StateTags.map('foo', VarIntCoder.of(), BigEndianIntegerCoder.of());
  const barStringVarInt = StateTags.map('bar', StringUtf8Coder.of(), VarIntCoder.of());

  assertEquals(fooStringVarInt1, fooStringVarInt2);
  assertEquals(fooStringVarInt1, fooStringBigEndian);
  assertEquals(fooStringBigEndian, fooVarIntBigEndian);
  assertEquals(fooStringVarInt1, fooVarIntBigEndian);
  assertNotEquals(fooStringVarInt1, barStringVarInt);
});

test('testWatermarkBagEquality', () => {
  const foo1 = StateTags.watermarkStateInternal('foo', TimestampCombiner.EARLIEST);
  const foo2 = StateTags.watermarkStateInternal('foo', TimestampCombiner.EARLIEST);
  const bar = StateTags.watermarkStateInternal('bar', TimestampCombiner.EARLIEST);

  const bar2 = StateTags.watermarkStateInternal('bar', TimestampCombiner.LATEST);

  // Same id, same fn.
  assertEquals(foo1, foo2);
  // Different id, same fn.
  assertNotEquals(foo1, bar);
  // Same id, different fn.
  assertEquals(bar, bar2);
});

test('testCombiningValueEquality', () => {
  const maxFn = Max.ofIntegers();
  const input1 = VarIntCoder.of();
  const input2 = BigEndianIntegerCoder.of();
  const minFn = Min.ofIntegers();

  const fooCoder1Max1 = StateTags.combiningValueFromInputInternal('foo', input1, maxFn);
  const fooCoder1Max2 = StateTags.combiningValueFromInputInternal('foo', input1, maxFn);
  const fooCoder1Min = StateTags.combiningValueFromInputInternal('foo', input1, minFn);

  const fooCoder2Max = StateTags.combiningValueFromInputInternal('foo', input2, maxFn);
  const barCoder1Max = StateTags.combiningValueFromInputInternal('bar', input1, maxFn);

  const bag = (t: StateTag<CombiningState<number, number[], number>>) => StateTags.convertToBagTagInternal(t);

  // Same name, coder and combineFn
  assertEquals(fooCoder1Max1, fooCoder1Max2);
  assertEquals(bag(fooCoder1Max1), bag(fooCoder1Max2));

  // Different combineFn, but we treat them as equal since we only serialize the bits.
  assertEquals(fooCoder1Max1, fooCoder1Min);
  assertEquals(bag(fooCoder1Max1), bag(fooCoder1Min));

  // Different input coder coder.
  assertEquals(fooCoder1Max1, fooCoder2Max);
  assertEquals(bag(fooCoder1Max1), bag(fooCoder2Max));

  // These StateTags have different IDs.
  assertNotEquals(fooCoder1Max1, barCoder1Max);
  assertNotEquals(bag(fooCoder1Max1), bag(barCoder1Max));
});

test('testCombiningValueWithContextEqualityx', () => {
  const registry = CoderRegistry.withStandardCoders();

  const maxFn = Max.ofIntegers();
  const minFn = Min.ofIntegers();

  const accum1 = maxFn.getAccumulatorCoder!(registry, VarIntCoder.of());
  const accum2 = minFn.getAccumulatorCoder!(registry, BigEndianIntegerCoder.of());

  const fooCoder1Max1 = StateTags.combiningValueWithContext('foo', accum1, toFnWithContext(maxFn));
  const fooCoder1Max2 = StateTags.combiningValueWithContext('foo', accum1, toFnWithContext(maxFn));
  const fooCoder1Min = StateTags.combiningValueWithContext('foo', accum1, toFnWithContext(minFn));

  const fooCoder2Max = StateTags.combiningValueWithContext('foo', accum2, toFnWithContext(maxFn));
  const barCoder1Max = StateTags.combiningValueWithContext('bar', accum1, toFnWithContext(maxFn));

  const bag = (t: StateTag<CombiningState<number, number[], number>>) => StateTags.convertToBagTagInternal(t);

  // Same name, coder and combineFn
  assertEquals(fooCoder1Max1, fooCoder1Max2);
  assertEquals(bag(fooCoder1Max1), bag(fooCoder1Max2));
  // Different combineFn, but we treat them as equal since we only serialize the bits.
  assertEquals(fooCoder1Max1, fooCoder1Min);
  assertEquals(bag(fooCoder1Max1), bag(fooCoder1Min));

  // Different input coder coder.
  assertEquals(fooCoder1Max1, fooCoder2Max);
  assertEquals(bag(fooCoder1Max1), bag(fooCoder2Max));

  // These StateTags have different IDs.
  assertNotEquals(fooCoder1Max1, barCoder1Max);
  assertNotEquals(bag(fooCoder1Max1), bag(barCoder1Max));
});

test.run();
