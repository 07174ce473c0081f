import { CoderError } from './stator-error.ts';

const TWO_32 = 0x1_0000_0000;
// ignoreBOM: a leading U+FEFF is part of the string (the default would drop it, so "\uFEFF" would not round trip).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads coder bytes with bounds checks. Every read past the end, malformed varint or invalid UTF-8
 * throws a CoderError; a declared length is checked against the bytes left before anything is
 * allocated, so a hostile length can never cause a huge allocation.
 */
export class ByteReader {
  private readonly bytes: Uint8Array;
  // Made on first use: most values (varints, strings) never need it, and a DataView per reader is
  // a measurable part of decoding a small value.
  private dataView: DataView | undefined;
  private pos: number;
  private readonly end: number;

  /** @throws CoderError when [start, end) is not a range inside `bytes`. */
  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    if (!(bytes instanceof Uint8Array)) throw new CoderError(`ByteReader: expected a Uint8Array, got ${typeof bytes}`);
    if (!(start >= 0 && start <= end && end <= bytes.length)) {
      throw new CoderError(`ByteReader: range [${start}, ${end}) is outside the ${bytes.length} input bytes`);
    }
    this.bytes = bytes;
    this.dataView = undefined;
    this.pos = start;
    this.end = end;
  }

  private get view(): DataView {
    return (this.dataView ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength));
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.end - this.pos;
  }

  get position(): number {
    return this.pos;
  }

  isAtEnd(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number, what: string): void {
    if (!(n >= 0 && this.pos + n <= this.end)) {
      throw new CoderError(
        `truncated input: ${what} needs ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`,
      );
    }
  }

  readByte(): number {
    if (this.pos >= this.end) throw new CoderError(`truncated input: expected a byte at offset ${this.pos}`);
    return this.bytes[this.pos++]!;
  }

  /** A copy of the next `n` bytes. */
  readBytes(n: number): Uint8Array {
    this.need(n, 'byte string');
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The rest of the input, copied. */
  readRemaining(): Uint8Array {
    return this.readBytes(this.end - this.pos);
  }

  /** A reader over the next `n` bytes, advancing this one past them (for length-prefixed values). */
  subReader(n: number): ByteReader {
    this.need(n, 'length-prefixed value');
    const sub = new ByteReader(this.bytes, this.pos, this.pos + n);
    this.pos += n;
    return sub;
  }

  /**
   * Beam's varint as a signed 64-bit value: a number when it is a safe integer, else a bigint.
   * More than 10 bytes, or a 10th byte carrying bits beyond 64, is malformed.
   */
  readVarLong(): number | bigint {
    // Fast path: up to 4 bytes (28 bits) is always a small non-negative number.
    let b = this.readByte();
    if (b < 0x80) return b;
    let lo = b & 0x7f;
    b = this.readByte();
    lo |= (b & 0x7f) << 7;
    if (b < 0x80) return lo;
    b = this.readByte();
    lo |= (b & 0x7f) << 14;
    if (b < 0x80) return lo;
    b = this.readByte();
    lo |= (b & 0x7f) << 21;
    if (b < 0x80) return lo;
    // 28 bits read; byte 5 holds 4 more low bits and 3 high bits.
    b = this.readByte();
    lo = (lo | ((b & 0x0f) << 28)) >>> 0;
    let hi = (b & 0x7f) >>> 4;
    let shift = 3;
    let count = 5;
    while (b >= 0x80) {
      if (count === 10) throw new CoderError(`malformed varint: more than 10 bytes at offset ${this.pos - count}`);
      b = this.readByte();
      count++;
      if (count === 10 && (b & 0x7e) !== 0) {
        throw new CoderError(`malformed varint: value exceeds 64 bits at offset ${this.pos - count}`);
      }
      hi = (hi | ((b & 0x7f) << shift)) >>> 0;
      shift += 7;
    }
    if (hi <= 0x1fffff) return hi * TWO_32 + lo; // < 2^53
    const unsigned = (BigInt(hi) << 32n) | BigInt(lo);
    const signed = BigInt.asIntN(64, unsigned);
    const asNumber = Number(signed);
    return Number.isSafeInteger(asNumber) ? asNumber : signed;
  }

  /** A varint that must be a non-negative safe integer, e.g. a length or a count. */
  readLength(what: string): number {
    const value = this.readVarLong();
    if (typeof value !== 'number' || value < 0) {
      throw new CoderError(`malformed input: ${what} is ${value} at offset ${this.pos}`);
    }
    return value;
  }

  /**
   * A varint decoded as a Java int, as Beam's VarInt.decodeInt: the unsigned 32-bit value
   * reinterpreted as signed. A varint outside [0, 2^32) is malformed, as in Beam.
   */
  readVarInt32(): number {
    const value = this.readVarLong();
    if (typeof value === 'bigint' || value < 0 || value > 0xffffffff) {
      throw new CoderError(
        `malformed varint: ${value} does not fit in 32 bits at offset ${this.pos}; was it written by a VarLongCoder?`,
      );
    }
    return value | 0;
  }

  /**
   * A signed 64-bit big-endian integer (Java's DataOutput.writeLong), by the number/bigint rule:
   * a number when it is a safe integer, else a bigint.
   */
  readInt64BE(): number | bigint {
    this.need(8, 'int64');
    const view = this.view;
    const hi = view.getInt32(this.pos);
    const lo = view.getUint32(this.pos + 4);
    this.pos += 8;
    const value = hi * 0x1_0000_0000 + lo;
    // The double sum is exact whenever the true value is a safe integer.
    if (Number.isSafeInteger(value)) return value;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  readInt16BE(): number {
    this.need(2, 'int16');
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }

  readUint16BE(): number {
    this.need(2, 'uint16');
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  readInt32BE(): number {
    this.need(4, 'int32');
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }

  readUint32BE(): number {
    this.need(4, 'uint32');
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  readBigInt64BE(): bigint {
    this.need(8, 'int64');
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  readFloat32BE(): number {
    this.need(4, 'float');
    const v = this.view.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }

  readFloat64BE(): number {
    this.need(8, 'double');
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  /** `n` bytes of UTF-8; invalid UTF-8 is a CoderError, never replacement characters. */
  readUtf8(n: number): string {
    this.need(n, 'string');
    const start = this.pos;
    const end = start + n;
    this.pos = end;
    if (n <= 16) {
      // ASCII fast path: short keys and words skip the TextDecoder call, which costs more than
      // building the string by hand at these lengths.
      const bytes = this.bytes;
      let out = '';
      for (let i = start; i < end; i++) {
        const c = bytes[i]!;
        if (c >= 0x80) return this.decodeUtf8(start, end);
        out += String.fromCharCode(c);
      }
      return out;
    }
    return this.decodeUtf8(start, end);
  }

  private decodeUtf8(start: number, end: number): string {
    try {
      return utf8.decode(this.bytes.subarray(start, end));
    } catch (cause) {
      throw new CoderError(`invalid UTF-8 in ${end - start} bytes at offset ${start}`, { cause });
    }
  }
}
