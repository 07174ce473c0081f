import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/**
 * Beam's ByteArrayCoder (`beam:coder:bytes:v1`): NESTED writes the length as a varint, then the
 * bytes; OUTER writes the bytes alone. Deterministic. Decoding returns a copy, never a view on
 * the input.
 */
export class ByteArrayCoder extends BaseCoder<Uint8Array> {
  static readonly URN = 'beam:coder:bytes:v1';
  private static readonly INSTANCE = new ByteArrayCoder();
  static of(): ByteArrayCoder {
    return ByteArrayCoder.INSTANCE;
  }
  readonly urn = ByteArrayCoder.URN;

  encode(value: Uint8Array, writer: ByteWriter, context: Context): void {
    if (!(value instanceof Uint8Array))
      throw new CoderError(`ByteArrayCoder: expected a Uint8Array, got ${describe(value)}`);
    if (context === Context.NESTED) writer.writeVarUint32(value.length);
    writer.writeBytes(value);
  }

  decode(reader: ByteReader, context: Context): Uint8Array {
    const n = context === Context.NESTED ? reader.readLength('byte array length') : reader.remaining;
    return reader.readBytes(n);
  }

  override minEncodedBytes(): number {
    return 1;
  }
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
}
