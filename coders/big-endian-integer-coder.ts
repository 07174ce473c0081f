import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/** Beam Java's BigEndianIntegerCoder: a Java int (-2^31 .. 2^31-1) in 4 big-endian bytes. Deterministic. */
export class BigEndianIntegerCoder extends BaseCoder<number> {
  private static readonly INSTANCE = new BigEndianIntegerCoder();
  static of(): BigEndianIntegerCoder {
    return BigEndianIntegerCoder.INSTANCE;
  }
  readonly urn = undefined;

  encode(value: number, writer: ByteWriter, _context: Context): void {
    if ((value | 0) !== value)
      throw new CoderError(`BigEndianIntegerCoder: ${String(value)} is not a 32-bit signed integer`);
    writer.writeInt32BE(value);
  }

  decode(reader: ByteReader, _context: Context): number {
    return reader.readInt32BE();
  }

  override consistentWithEquals(): boolean {
    return true;
  }

  override structuralValue(value: number): unknown {
    return value;
  }

  override minEncodedBytes(): number {
    return 4;
  }
}
