import { ByteReader } from './byte-reader.ts';
import { ByteWriter } from './byte-writer.ts';
import type { Coder } from './coder.ts';
import { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

const MAX_KEPT_SCRATCH_BYTES = 1 << 20;
let scratch = new ByteWriter(1024);
let scratchBusy = false;

/** Beam's CoderUtils: whole values to and from byte arrays. */
export const CoderUtils = {
  /** The encoding of `value` as a fresh byte array. */
  encodeToByteArray<T>(coder: Coder<T>, value: T, context: Context = Context.OUTER): Uint8Array {
    // A shared scratch writer, since the result is a copy anyway; a re-entrant call (a coder
    // that encodes a part through CoderUtils) gets a writer of its own.
    if (scratchBusy) {
      const own = new ByteWriter(64);
      coder.encode(value, own, context);
      return own.toBytes();
    }
    scratchBusy = true;
    try {
      scratch.reset();
      coder.encode(value, scratch, context);
      return scratch.toBytes();
    } finally {
      scratchBusy = false;
      // Do not keep a buffer grown by one huge value alive for the life of the process.
      if (scratch.capacity > MAX_KEPT_SCRATCH_BYTES) scratch = new ByteWriter(1024);
    }
  },

  /**
   * Decodes one value that must use every byte.
   * @throws CoderError when bytes are truncated, malformed, or left over.
   */
  decodeFromByteArray<T>(coder: Coder<T>, bytes: Uint8Array, context: Context = Context.OUTER): T {
    const reader = new ByteReader(bytes);
    const value = coder.decode(reader, context);
    if (!reader.isAtEnd()) {
      throw new CoderError(
        `${coder.toString()}: ${reader.remaining} trailing bytes after the value (${bytes.length} bytes in all)`,
      );
    }
    return value;
  },

  /** A deep copy made by encoding and decoding. */
  clone<T>(coder: Coder<T>, value: T): T {
    return CoderUtils.decodeFromByteArray(coder, CoderUtils.encodeToByteArray(coder, value));
  },
};
