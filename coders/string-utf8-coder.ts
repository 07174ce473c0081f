import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/**
 * Beam's StringUtf8Coder (`beam:coder:string_utf8:v1`): UTF-8 bytes; NESTED prefixes the byte
 * length as a varint, OUTER writes the bytes alone. Deterministic.
 */
export class StringUtf8Coder extends BaseCoder<string> {
  static readonly URN = 'beam:coder:string_utf8:v1';
  private static readonly INSTANCE = new StringUtf8Coder();
  static of(): StringUtf8Coder {
    return StringUtf8Coder.INSTANCE;
  }
  readonly urn = StringUtf8Coder.URN;

  encode(value: string, writer: ByteWriter, context: Context): void {
    if (typeof value !== 'string') throw new CoderError(`StringUtf8Coder: expected a string, got ${typeof value}`);
    writer.writeUtf8(value, context === Context.NESTED);
  }

  decode(reader: ByteReader, context: Context): string {
    const n = context === Context.NESTED ? reader.readLength('string length') : reader.remaining;
    return reader.readUtf8(n);
  }

  override consistentWithEquals(): boolean {
    return true;
  }

  override structuralValue(value: string): unknown {
    return value;
  }

  override encodesWithoutTrying(value: unknown): boolean {
    return typeof value === 'string';
  }
}
