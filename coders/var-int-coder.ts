import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/**
 * Beam Java's VarIntCoder: a Java int (-2^31 .. 2^31-1) as an unsigned 32-bit varint. Negative
 * values are zero-extended (two's complement as unsigned), so they take 5 bytes, not 10 as in
 * VarLongCoder. No standard URN (Beam's `beam:coder:varint:v1` is VarLongCoder). Deterministic.
 */
export class VarIntCoder extends BaseCoder<number> {
  private static readonly INSTANCE = new VarIntCoder();
  static of(): VarIntCoder {
    return VarIntCoder.INSTANCE;
  }
  readonly urn = undefined;

  encode(value: number, writer: ByteWriter, _context: Context): void {
    if ((value | 0) !== value) {
      throw new CoderError(
        `VarIntCoder: ${String(value)} is not a 32-bit signed integer; use VarLongCoder for larger values`,
      );
    }
    writer.writeVarUint32(value);
  }

  decode(reader: ByteReader, _context: Context): number {
    return reader.readVarInt32();
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

  override encodesWithoutTrying(value: unknown): boolean {
    return typeof value === 'number' && (value | 0) === value;
  }
}
