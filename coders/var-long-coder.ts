import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';

/**
 * Beam's VarLongCoder (`beam:coder:varint:v1`): a signed 64-bit integer as a varint of its two's
 * complement, 7 bits a byte, low bits first (negative values take 10 bytes). Deterministic.
 *
 * The number/bigint rule: values that are safe integers (|v| <= 2^53 - 1) decode as `number`;
 * values beyond decode as `bigint`. Encoding accepts both (a number must be a safe integer; a bigint
 * must fit in 64 signed bits), so every int64 round-trips, and a bigint inside the safe range comes
 * back as a number with the same bytes.
 */
export class VarLongCoder extends BaseCoder<number | bigint> {
  static readonly URN = 'beam:coder:varint:v1';
  private static readonly INSTANCE = new VarLongCoder();
  static of(): VarLongCoder {
    return VarLongCoder.INSTANCE;
  }
  readonly urn = VarLongCoder.URN;

  encode(value: number | bigint, writer: ByteWriter, _context: Context): void {
    writer.writeVarLong(value);
  }

  decode(reader: ByteReader, _context: Context): number | bigint {
    return reader.readVarLong();
  }

  /** Numbers and bigints are distinct under SameValueZero (1 !== 1n), so equal values need not be the same key. */
  override consistentWithEquals(): boolean {
    return false;
  }

  /** The canonical form, which is a primitive: equal integers give the same Map key. */
  override structuralValue(value: number | bigint): unknown {
    return canonicalInt64(value);
  }

  override minEncodedBytes(): number {
    return 1;
  }

  /** A safe integer number (writeVarLong's own test); bigints are encoded to be checked. */
  override encodesWithoutTrying(value: unknown): boolean {
    return Number.isSafeInteger(value);
  }
}

/** An int64 by the number/bigint rule: a bigint inside the safe range becomes its number; -0 becomes 0. */
export function canonicalInt64(value: number | bigint): number | bigint {
  if (typeof value === 'bigint') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  return value === 0 ? 0 : value;
}
