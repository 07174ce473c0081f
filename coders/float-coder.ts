import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { CoderError, NonDeterministicCoderError } from './stator-error.ts';
import { floatStructuralValue } from './double-coder.ts';

/**
 * Beam Java's FloatCoder: a Java float, IEEE 754 single precision, 4 big-endian bytes. A number is
 * rounded to single precision (Math.fround) on encoding; NaN is written as Java's canonical NaN.
 *
 * Not deterministic, as in Beam ("Floating point encodings are not guaranteed to be
 * deterministic"): floating-point arithmetic can give different bits for the same computation.
 */
export class FloatCoder extends BaseCoder<number> {
  private static readonly INSTANCE = new FloatCoder();
  static of(): FloatCoder {
    return FloatCoder.INSTANCE;
  }
  readonly urn = undefined;

  encode(value: number, writer: ByteWriter, _context: Context): void {
    if (typeof value !== 'number') throw new CoderError(`FloatCoder: expected a number, got ${typeof value}`);
    writer.writeFloat32BE(value);
  }

  decode(reader: ByteReader, _context: Context): number {
    return reader.readFloat32BE();
  }

  override verifyDeterministic(): void {
    throw new NonDeterministicCoderError(this.toString(), [
      'Floating point encodings are not guaranteed to be deterministic.',
    ]);
  }

  override structuralValue(value: number): unknown {
    return floatStructuralValue(Math.fround(value));
  }

  override minEncodedBytes(): number {
    return 4;
  }
}
