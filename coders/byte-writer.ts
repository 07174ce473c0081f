import { CoderError } from './stator-error.ts';

const TWO_32 = 0x1_0000_0000;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MASK = (1n << 64n) - 1n;
/** Ranges up to this many bytes are copied by a loop: a subarray view for set() costs more. */
const SHORT_COPY = 64;

/**
 * A growable byte buffer that coders write into. One writer can be reused across many values
 * (`reset()`), which keeps the per-value cost to the bytes themselves.
 */
export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** Bytes the writer can hold before it grows. */
  get capacity(): number {
    return this.buf.length;
  }

  /** Forgets what was written; the capacity is kept. */
  reset(): void {
    this.pos = 0;
  }

  /** A copy of the bytes written, safe to keep after the writer is reused. */
  toBytes(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.pos));
  }

  /** The bytes written as a Latin-1 string (one char per byte): a compact Map key. */
  latin1(): string {
    return this.buf.toString('latin1', 0, this.pos);
  }

  /** A view on the bytes written; valid only until the next write or reset. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  writeByte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b & 0xff;
  }

  /** Writes `bytes`, or [start, end) of them: a short range is copied without a subarray view. */
  writeBytes(bytes: Uint8Array, start = 0, end = bytes.length): void {
    if (start === 0 && end === bytes.length) {
      this.ensure(bytes.length);
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
      return;
    }
    if (!(start >= 0 && start <= end && end <= bytes.length))
      throw new CoderError(`writeBytes: [${start}, ${end}) is not a range of ${bytes.length} bytes`);
    const n = end - start;
    this.ensure(n);
    if (n > SHORT_COPY) {
      this.buf.set(bytes.subarray(start, end), this.pos);
      this.pos += n;
      return;
    }
    const buf = this.buf;
    let pos = this.pos;
    for (let i = start; i < end; i++) buf[pos++] = bytes[i]!;
    this.pos = pos;
  }

  /**
   * Writes what `other` holds, its length (varint) first: a nested value encoded in a scratch
   * writer, without the view `writeBytes(other.view())` would make.
   */
  writeLengthPrefixed(other: ByteWriter): void {
    this.writeVarUint32(other.pos);
    this.writeBytes(other.buf, 0, other.pos);
  }

  /**
   * Beam's varint (`beam:coder:varint:v1`): the two's complement 64-bit value, 7 bits a byte, low
   * bits first, high bit set on every byte but the last. Negative values take 10 bytes.
   * Numbers must be safe integers; bigints must fit in a signed 64-bit integer.
   */
  writeVarLong(value: number | bigint): void {
    if (typeof value === 'number') {
      if (value >= 0 && value <= 0x7fffffff && (value | 0) === value) {
        this.writeVarUint32(value);
        return;
      }
      if (!Number.isSafeInteger(value)) {
        throw new CoderError(`varint: ${value} is not a safe integer; pass a bigint for values beyond ±2^53`);
      }
      // Two's complement halves without a bigint: ToUint32 (>>> 0) is exact modulo 2^32 for any safe
      // integer, and floor division gives the (negative, for negative values) high word.
      this.writeVarUint64Parts(Math.floor(value / TWO_32) >>> 0, value >>> 0);
      return;
    }
    if (typeof value !== 'bigint') throw new CoderError(`varint: expected a number or bigint, got ${typeof value}`);
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new CoderError(`varint: ${value} does not fit in a signed 64-bit integer`);
    }
    this.writeVarUint64Big(value & UINT64_MASK);
  }

  /** An unsigned 32-bit varint (at most 5 bytes): Beam's VarInt for a Java int, negative ints zero-extended. */
  writeVarUint32(value: number): void {
    this.ensure(5);
    let v = value >>> 0;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  private writeVarUint64Parts(hi: number, lo: number): void {
    this.ensure(10);
    // 28 low bits first, in 4 bytes, while higher bits remain.
    while (hi !== 0 || lo >= 0x80) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
  }

  private writeVarUint64Big(unsigned: bigint): void {
    this.writeVarUint64Parts(Number(unsigned >> 32n), Number(unsigned & 0xffffffffn));
  }

  writeInt16BE(value: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(value, this.pos);
    this.pos += 2;
  }

  writeUint16BE(value: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(value, this.pos);
    this.pos += 2;
  }

  writeInt32BE(value: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(value, this.pos);
    this.pos += 4;
  }

  writeUint32BE(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(value, this.pos);
    this.pos += 4;
  }

  /**
   * A signed 64-bit big-endian integer (Java's DataOutput.writeLong). Numbers must be safe integers;
   * bigints must fit in 64 signed bits.
   */
  writeInt64BE(value: number | bigint): void {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) {
        throw new CoderError(`int64: ${value} is not a safe integer; pass a bigint for values beyond ±2^53`);
      }
      this.ensure(8);
      this.buf.writeUInt32BE(Math.floor(value / TWO_32) >>> 0, this.pos);
      this.buf.writeUInt32BE(value >>> 0, this.pos + 4);
      this.pos += 8;
      return;
    }
    if (typeof value !== 'bigint') throw new CoderError(`int64: expected a number or bigint, got ${typeof value}`);
    if (value < INT64_MIN || value > INT64_MAX)
      throw new CoderError(`int64: ${value} does not fit in a signed 64-bit integer`);
    this.ensure(8);
    this.buf.writeBigInt64BE(value, this.pos);
    this.pos += 8;
  }

  /** IEEE 754 single precision; NaN is written as Java's canonical 0x7fc00000 (floatToIntBits). */
  writeFloat32BE(value: number): void {
    this.ensure(4);
    if (value !== value) {
      this.buf.writeUInt32BE(0x7fc00000, this.pos);
      this.pos += 4;
      return;
    }
    this.buf.writeFloatBE(value, this.pos);
    this.pos += 4;
  }

  /** IEEE 754 double precision; NaN is written as Java's canonical 0x7ff8000000000000 (doubleToLongBits). */
  writeFloat64BE(value: number): void {
    this.ensure(8);
    if (value !== value) {
      this.buf.writeUInt32BE(0x7ff80000, this.pos);
      this.buf.writeUInt32BE(0, this.pos + 4);
      this.pos += 8;
      return;
    }
    this.buf.writeDoubleBE(value, this.pos);
    this.pos += 8;
  }

  /**
   * Writes `value` as UTF-8, prefixed by its byte length as a varint when `lengthPrefixed`.
   * Short strings take a single pass: their length prefix fits one byte, so it is reserved and
   * filled in after encoding. Lone surrogates are written as U+FFFD (Node's encoder).
   */
  writeUtf8(value: string, lengthPrefixed: boolean): void {
    const n = value.length;
    if (lengthPrefixed && n < 43) {
      // At most 3 UTF-8 bytes per UTF-16 unit: 42 units encode to < 128 bytes, a one-byte varint.
      this.ensure(1 + n * 3);
      const lengthAt = this.pos++;
      const written = this.writeUtf8Raw(value);
      this.buf[lengthAt] = written;
      return;
    }
    if (lengthPrefixed) {
      const byteLength = Buffer.byteLength(value, 'utf8');
      this.writeVarUint32(byteLength);
      this.ensure(byteLength);
      this.pos += this.buf.write(value, this.pos, byteLength, 'utf8');
      return;
    }
    this.ensure(n * 3);
    this.writeUtf8Raw(value);
  }

  private writeUtf8Raw(value: string): number {
    const n = value.length;
    const start = this.pos;
    if (n < 64) {
      // A hand loop beats the native call for short ASCII strings, the common case for keys.
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[this.pos++] = c;
      }
      if (i === n) return n;
      this.pos = start;
    }
    const written = this.buf.write(value, start, this.buf.length - start, 'utf8');
    this.pos = start + written;
    return written;
  }
}
