import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { CoderError } from './stator-error.ts';
import { VarLongCoder } from './var-long-coder.ts';

/**
 * Beam's VarLongCoder (`beam:coder:varint:v1`, the same bytes) for JavaScript numbers: counters and
 * sums that stay within ±(2^53 - 1), read back as `number` with no `Number(...)` or bigint in sight.
 * Encoding a number that is not a safe integer, or decoding a varint beyond that range (written by
 * VarLongCoder or another SDK), throws CoderError: use VarLongCoder, which decodes those as bigint.
 * Deterministic.
 */
export class VarLongNumberCoder extends BaseCoder<number> {
  static readonly URN = VarLongCoder.URN;
  private static readonly INSTANCE = new VarLongNumberCoder();
  static of(): VarLongNumberCoder {
    return VarLongNumberCoder.INSTANCE;
  }
  readonly urn = VarLongNumberCoder.URN;

  encode(value: number, writer: ByteWriter, _context: Context): void {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw new CoderError(
        `VarLongNumberCoder: ${String(value)} is not a safe integer (|v| <= 2^53 - 1); use VarLongCoder with a bigint for larger values`,
      );
    }
    writer.writeVarLong(value);
  }

  decode(reader: ByteReader, _context: Context): number {
    const value = reader.readVarLong();
    if (typeof value === 'bigint') {
      throw new CoderError(
        `VarLongNumberCoder: decoded ${value}, beyond the safe integer range of a number; decode this state with VarLongCoder (number | bigint)`,
      );
    }
    return value;
  }

  /** Numbers compare by SameValueZero, under which -0 and 0 (which encode alike) are one key. */
  override consistentWithEquals(): boolean {
    return true;
  }

  /**
   * `VarLongCoder`: the name state signatures record, which is about the bytes. A tag can switch
   * between the two coders and still restore its checkpoints (a stored value beyond 2^53 then fails
   * the restore with this coder's error).
   */
  override toString(): string {
    return 'VarLongCoder';
  }

  override minEncodedBytes(): number {
    return 1;
  }

  override encodesWithoutTrying(value: unknown): boolean {
    return Number.isSafeInteger(value);
  }
}
