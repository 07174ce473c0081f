import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/** Beam Java's ByteCoder: a Java byte, signed (-128 .. 127), in one byte. Deterministic. */
export class ByteCoder extends BaseCoder<number> {
  private static readonly INSTANCE = new ByteCoder();
  static of(): ByteCoder {
    return ByteCoder.INSTANCE;
  }
  readonly urn = undefined;

  encode(value: number, writer: ByteWriter, _context: Context): void {
    if (!Number.isInteger(value) || value < -128 || value > 127) {
      throw new CoderError(`ByteCoder: ${String(value)} is not a signed byte (-128 .. 127)`);
    }
    writer.writeByte(value);
  }

  decode(reader: ByteReader, _context: Context): number {
    return (reader.readByte() << 24) >> 24;
  }

  override consistentWithEquals(): boolean {
    return true;
  }

  override structuralValue(value: number): unknown {
    return value;
  }

  override minEncodedBytes(): number {
    return 1;
  }
}
