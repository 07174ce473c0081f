import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import type { Context } from './context.ts';
import { checkInstant, normalizeInstant, type Instant } from './instant.ts';

const TWO_32 = 0x1_0000_0000;
const SIGN_BIT = 1n << 63n;

/**
 * Beam Java's InstantCoder: epoch milliseconds as a 64-bit big-endian integer with the sign bit
 * flipped (millis - Long.MIN_VALUE), so that the bytes sort in time order. Used inside Beam's
 * windowed values, timers and IntervalWindowCoder. Deterministic.
 *
 * Times follow the Instant rule: a number when a safe integer, else a bigint (Beam's
 * TIMESTAMP_MIN_VALUE / TIMESTAMP_MAX_VALUE and GlobalWindow's max timestamp are bigints).
 */
export class InstantCoder extends BaseCoder<Instant> {
  private static readonly INSTANCE = new InstantCoder();
  static of(): InstantCoder {
    return InstantCoder.INSTANCE;
  }
  readonly urn = undefined;

  encode(value: Instant, writer: ByteWriter, _context: Context): void {
    writeInstant(writer, value);
  }

  decode(reader: ByteReader, _context: Context): Instant {
    return readInstant(reader);
  }

  override structuralValue(value: Instant): unknown {
    return normalizeInstant(value);
  }

  override minEncodedBytes(): number {
    return 8;
  }
}

/** Writes `t` in InstantCoder's format: 8 big-endian bytes of millis with the sign bit flipped. */
export function writeInstant(writer: ByteWriter, t: Instant): void {
  checkInstant(t, 'InstantCoder');
  if (typeof t === 'number') {
    // Flipping the sign bit of the two's complement is adding 2^31 to the signed high word.
    const hi = Math.floor(t / TWO_32);
    writer.writeUint32BE((hi + 0x8000_0000) >>> 0);
    writer.writeUint32BE(t >>> 0);
    return;
  }
  writer.writeInt64BE(BigInt.asIntN(64, t ^ SIGN_BIT));
}

/** Reads InstantCoder's format. */
export function readInstant(reader: ByteReader): Instant {
  const hi = (reader.readUint32BE() - 0x8000_0000) | 0;
  const lo = reader.readUint32BE();
  const t = hi * TWO_32 + lo;
  if (Number.isSafeInteger(t)) return t;
  return (BigInt(hi) << 32n) | BigInt(lo);
}
