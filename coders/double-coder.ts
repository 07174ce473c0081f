import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { CoderError, NonDeterministicCoderError } from './stator-error.ts';

/**
 * Beam's DoubleCoder (`beam:coder:double:v1`): IEEE 754 double precision in 8 big-endian bytes;
 * NaN is written as Java's canonical NaN (0x7ff8000000000000).
 *
 * Not deterministic, as in Beam Java ("Floating point encodings are not guaranteed to be
 * deterministic"). Not consistent with equals in JavaScript either: Map and Set treat 0 and -0 as
 * the same key although they encode differently, so the structural value of -0 is distinct.
 */
export class DoubleCoder extends BaseCoder<number> {
  static readonly URN = 'beam:coder:double:v1';
  private static readonly INSTANCE = new DoubleCoder();
  static of(): DoubleCoder {
    return DoubleCoder.INSTANCE;
  }
  readonly urn = DoubleCoder.URN;

  encode(value: number, writer: ByteWriter, _context: Context): void {
    if (typeof value !== 'number') throw new CoderError(`DoubleCoder: expected a number, got ${typeof value}`);
    writer.writeFloat64BE(value);
  }

  decode(reader: ByteReader, _context: Context): number {
    return reader.readFloat64BE();
  }

  override verifyDeterministic(): void {
    throw new NonDeterministicCoderError(this.toString(), [
      'Floating point encodings are not guaranteed to be deterministic.',
    ]);
  }

  override structuralValue(value: number): unknown {
    return floatStructuralValue(value);
  }

  override minEncodedBytes(): number {
    return 8;
  }

  override encodesWithoutTrying(value: unknown): boolean {
    return typeof value === 'number';
  }
}

// -0 encodes differently from 0 but is the same Map key; a string can never equal a number, so it
// keeps -0 apart. NaN needs nothing: SameValueZero treats NaN as equal to itself, and all NaNs
// encode to the same canonical bytes.
const NEGATIVE_ZERO_KEY = '-0';

/** The structural value of a float or double: the number itself, except -0. */
export function floatStructuralValue(value: number): unknown {
  return Object.is(value, -0) ? NEGATIVE_ZERO_KEY : value;
}
