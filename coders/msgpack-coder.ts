import { C1, Packr } from 'msgpackr';
import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import { Context } from './context.ts';
import { CoderError, NonDeterministicCoderError } from './stator-error.ts';

// One shared instance. Records (msgpackr's structure extension) are off: they make bytes depend on
// what the instance encoded before, which a wire format must never do. `moreTypes` keeps Set and
// typed arrays; `int64AsType: 'auto'` (supported by msgpackr 2.x, missing from its typings) gives
// VarLongCoder's number/bigint rule for 64-bit integers.
const options = { useRecords: false, moreTypes: true, int64AsType: 'auto' };
const packr = new Packr(options as unknown as ConstructorParameters<typeof Packr>[0]);

/**
 * Not a Beam coder: any value msgpackr can serialize (plain objects, arrays, strings, numbers,
 * bigints within 64 bits, booleans, null, undefined, Uint8Array and other typed arrays, Date, Set),
 * as MessagePack with msgpackr's extensions for the non-JSON types. A Map is written as a MessagePack
 * map and decodes as a plain object (keys become strings). OUTER writes the MessagePack
 * bytes alone; NESTED prefixes their length as a varint.
 *
 * Not deterministic: an object's bytes follow its key insertion order ({a, b} and {b, a} are equal
 * objects with different bytes), and likewise for Map and Set. Do not use it for keys or for Set/Map
 * state elements: build those from deterministic coders (StringUtf8Coder, VarLongCoder, KvCoder,
 * ListCoder...). Class instances lose their prototype, and msgpackr renames a `__proto__` key to
 * `__proto_` on decoding (its guard against prototype pollution).
 */
export class MsgpackCoder<T = unknown> extends BaseCoder<T> {
  private static readonly INSTANCE = new MsgpackCoder<unknown>();
  static of<T = unknown>(): MsgpackCoder<T> {
    return MsgpackCoder.INSTANCE as MsgpackCoder<T>;
  }
  readonly urn = undefined;

  encode(value: T, writer: ByteWriter, context: Context): void {
    let bytes: Uint8Array;
    try {
      bytes = packr.pack(value);
    } catch (cause) {
      throw new CoderError(`MsgpackCoder: cannot encode the value: ${(cause as Error).message}`, { cause });
    }
    if (context === Context.NESTED) writer.writeVarUint32(bytes.length);
    writer.writeBytes(bytes);
  }

  decode(reader: ByteReader, context: Context): T {
    const n = context === Context.NESTED ? reader.readLength('MessagePack length') : reader.remaining;
    const bytes = reader.readBytes(n);
    let value: unknown;
    try {
      value = packr.unpack(bytes);
    } catch (cause) {
      throw new CoderError(
        `MsgpackCoder: ${n} bytes are not one valid MessagePack value: ${(cause as Error).message}`,
        { cause },
      );
    }
    // msgpackr decodes the reserved byte 0xC1 to a marker object instead of failing. Only inputs
    // that contain the byte at all need the walk.
    if (bytes.includes(0xc1) && containsC1(value, 0)) {
      throw new CoderError(
        `MsgpackCoder: ${n} bytes contain the reserved MessagePack byte 0xC1 as a value: corrupt input`,
      );
    }
    return value as T;
  }

  override verifyDeterministic(): void {
    throw new NonDeterministicCoderError(this.toString(), [
      'MessagePack bytes of objects, Maps and Sets follow insertion order, so equal values can encode differently.',
    ]);
  }

  override minEncodedBytes(): number {
    return 1;
  }
}

function containsC1(value: unknown, depth: number): boolean {
  if (value === C1) return true;
  if (value === null || typeof value !== 'object' || depth > 1000 || ArrayBuffer.isView(value)) return false;
  if (Array.isArray(value) || value instanceof Set) {
    for (const v of value) if (containsC1(v, depth + 1)) return true;
    return false;
  }
  if (value instanceof Map) {
    for (const [k, v] of value) if (containsC1(k, depth + 1) || containsC1(v, depth + 1)) return true;
    return false;
  }
  for (const v of Object.values(value)) if (containsC1(v, depth + 1)) return true;
  return false;
}
