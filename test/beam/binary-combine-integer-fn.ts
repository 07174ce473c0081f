// Beam's Combine.BinaryCombineIntegerFn and the Sum/Max/Min.ofIntegers() the ported suites use: an
// int[1] accumulator whose coder (getAccumulatorCoder) delegates to the input coder, as Beam's
// DelegateCoder.of(inputCoder, accumulator -> accumulator[0], value -> [value]) does, so the
// accumulator's bytes are the input coder's bytes of the one int.
import { BaseCoder, type ByteReader, type ByteWriter, type Coder, type Context } from '../../coders/index.ts';
import type { CombineFn } from '../../src/state/index.ts';

/** Beam's DelegateCoder for an int[1] accumulator over an Integer coder. */
class IntArrayDelegateCoder extends BaseCoder<number[]> {
  readonly urn = undefined;
  constructor(private readonly inputCoder: Coder<number>) {
    super();
  }
  encode(accumulator: number[], writer: ByteWriter, context: Context): void {
    this.inputCoder.encode(accumulator[0]!, writer, context);
  }
  decode(reader: ByteReader, context: Context): number[] {
    return [this.inputCoder.decode(reader, context)];
  }
  override verifyDeterministic(): void {
    this.inputCoder.verifyDeterministic();
  }
  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.inputCoder as Coder<unknown>];
  }
  override toString(): string {
    return `DelegateCoder(${this.inputCoder.toString()})`;
  }
}

/** Beam's BinaryCombineIntegerFn: `apply` folds ints (Java int arithmetic), from `identity`. */
export function binaryCombineIntegerFn(
  identity: number,
  apply: (left: number, right: number) => number,
): CombineFn<number, number[], number> {
  return {
    createAccumulator: () => [identity],
    addInput: (accumulator, input) => {
      accumulator[0] = apply(accumulator[0]!, input);
      return accumulator;
    },
    mergeAccumulators: (accumulators) => {
      const it = accumulators[Symbol.iterator]();
      const first = it.next();
      if (first.done === true) return [identity];
      const running = first.value;
      for (let r = it.next(); r.done !== true; r = it.next()) running[0] = apply(running[0]!, r.value[0]!);
      return running;
    },
    extractOutput: (accumulator) => accumulator[0]!,
    getAccumulatorCoder: (_registry, inputCoder) => new IntArrayDelegateCoder(inputCoder),
  };
}

const INT_MIN = -0x80000000;
const INT_MAX = 0x7fffffff;

/** Beam's Sum.ofIntegers(), Max.ofIntegers(), Min.ofIntegers(). */
export const Sum = { ofIntegers: () => binaryCombineIntegerFn(0, (a, b) => (a + b) | 0) };
export const Max = { ofIntegers: () => binaryCombineIntegerFn(INT_MIN, Math.max) };
export const Min = { ofIntegers: () => binaryCombineIntegerFn(INT_MAX, Math.min) };
