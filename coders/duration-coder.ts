import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { canonicalInt64 } from './var-long-coder.ts';

/**
 * Beam Java's DurationCoder: a duration in milliseconds as a VarLongCoder varint. Deterministic.
 * Same number/bigint rule as VarLongCoder.
 */
export class DurationCoder extends BaseCoder<number | bigint> {
  private static readonly INSTANCE = new DurationCoder();
  static of(): DurationCoder {
    return DurationCoder.INSTANCE;
  }
  readonly urn = undefined;

  encode(value: number | bigint, writer: ByteWriter, _context: Context): void {
    writer.writeVarLong(value);
  }

  decode(reader: ByteReader, _context: Context): number | bigint {
    return reader.readVarLong();
  }

  override structuralValue(value: number | bigint): unknown {
    return canonicalInt64(value);
  }

  override minEncodedBytes(): number {
    return 1;
  }
}
