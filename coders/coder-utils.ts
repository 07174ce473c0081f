import { ByteReader } from './byte-reader.ts';
import { ByteWriter } from './byte-writer.ts';
import type { Coder } from './coder.ts';
import { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/** Beam's CoderUtils: whole values to and from byte arrays. */
export const CoderUtils = {
  /** The encoding of `value` as a fresh byte array. */
  encodeToByteArray<T>(coder: Coder<T>, value: T, context: Context = Context.OUTER): Uint8Array {
    const writer = new ByteWriter(64);
    coder.encode(value, writer, context);
    return writer.toBytes();
  },

  /**
   * Decodes one value that must use every byte.
   * @throws CoderError when bytes are truncated, malformed, or left over.
   */
  decodeFromByteArray<T>(coder: Coder<T>, bytes: Uint8Array, context: Context = Context.OUTER): T {
    const reader = new ByteReader(bytes);
    const value = coder.decode(reader, context);
    if (!reader.isAtEnd()) {
      throw new CoderError(`${coder.toString()}: ${reader.remaining} trailing bytes after the value (${bytes.length} bytes in all)`);
    }
    return value;
  },

  /** A deep copy made by encoding and decoding. */
  clone<T>(coder: Coder<T>, value: T): T {
    return CoderUtils.decodeFromByteArray(coder, CoderUtils.encodeToByteArray(coder, value));
  },
};
