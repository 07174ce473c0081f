import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder } from './coder.ts';
import { Context } from './context.ts';
import { CoderError, NonDeterministicCoderError } from './stator-error.ts';

/**
 * Not a Beam coder: a JSON value (object, array, string, finite number, boolean, null) as the UTF-8
 * of JSON.stringify. OUTER writes the text alone; NESTED prefixes its byte length as a varint.
 * JSON's own losses apply: undefined properties vanish, NaN and ±Infinity become null, Dates become
 * strings, bigints are rejected. Prefer MsgpackCoder for speed and binary data; JsonCoder is for
 * bytes that humans and other languages read.
 *
 * Not deterministic: object keys are written in insertion order, so equal objects can have
 * different bytes.
 */
export class JsonCoder<T = unknown> extends BaseCoder<T> {
  private static readonly INSTANCE = new JsonCoder<unknown>();
  static of<T = unknown>(): JsonCoder<T> {
    return JsonCoder.INSTANCE as JsonCoder<T>;
  }
  readonly urn = undefined;

  encode(value: T, writer: ByteWriter, context: Context): void {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (cause) {
      throw new CoderError(`JsonCoder: cannot encode the value as JSON: ${(cause as Error).message}`, { cause });
    }
    if (text === undefined) throw new CoderError(`JsonCoder: a ${typeof value} has no JSON form; encode null instead`);
    writer.writeUtf8(text, context === Context.NESTED);
  }

  decode(reader: ByteReader, context: Context): T {
    const n = context === Context.NESTED ? reader.readLength('JSON length') : reader.remaining;
    const text = reader.readUtf8(n);
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new CoderError(`JsonCoder: ${n} bytes are not valid JSON: ${(cause as Error).message}`, { cause });
    }
  }

  override verifyDeterministic(): void {
    throw new NonDeterministicCoderError(this.toString(), [
      'JSON object keys are written in insertion order, so equal objects can encode differently.',
    ]);
  }

  override minEncodedBytes(): number {
    return 1;
  }
}
