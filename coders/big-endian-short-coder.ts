import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/** Beam Java's BigEndianShortCoder: a Java short (-32768 .. 32767) in 2 big-endian bytes. Deterministic. */
export class BigEndianShortCoder extends BaseCoder<number> {
  private static readonly INSTANCE = new BigEndianShortCoder();
  static of(): BigEndianShortCoder {
    return BigEndianShortCoder.INSTANCE;
  }
  readonly urn = undefined;

  encode(value: number, writer: ByteWriter, _context: Context): void {
    if (!Number.isInteger(value) || value < -0x8000 || value > 0x7fff) {
      throw new CoderError(`BigEndianShortCoder: ${String(value)} is not a 16-bit signed integer`);
    }
    writer.writeInt16BE(value);
  }

  decode(reader: ByteReader, _context: Context): number {
    return reader.readInt16BE();
  }

  override consistentWithEquals(): boolean {
    return true;
  }

  override structuralValue(value: number): unknown {
    return value;
  }

  override minEncodedBytes(): number {
    return 2;
  }
}
