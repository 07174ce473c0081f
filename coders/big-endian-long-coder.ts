import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { canonicalInt64 } from './var-long-coder.ts';

/**
 * Beam Java's BigEndianLongCoder: a Java long in 8 big-endian bytes (two's complement).
 * Deterministic. Same number/bigint rule as VarLongCoder: safe integers decode as numbers, the rest
 * of the signed 64-bit range as bigints; encoding accepts both.
 */
export class BigEndianLongCoder extends BaseCoder<number | bigint> {
  private static readonly INSTANCE = new BigEndianLongCoder();
  static of(): BigEndianLongCoder {
    return BigEndianLongCoder.INSTANCE;
  }
  readonly urn = undefined;

  encode(value: number | bigint, writer: ByteWriter, _context: Context): void {
    writer.writeInt64BE(value);
  }

  decode(reader: ByteReader, _context: Context): number | bigint {
    return reader.readInt64BE();
  }

  override structuralValue(value: number | bigint): unknown {
    return canonicalInt64(value);
  }

  override minEncodedBytes(): number {
    return 8;
  }
}
