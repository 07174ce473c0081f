import type { ByteReader } from './byte-reader.ts';
import { ByteWriter } from './byte-writer.ts';
import { minEncodedBytes, type Coder } from './coder.ts';
import { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/**
 * The byte format Beam's IterableLikeCoder shares between iterables, lists and sets (and, with a
 * different element layout, MapCoder's count):
 *
 * - counted form, for a collection of known size: the count as a 4-byte big-endian int, then each
 *   element NESTED;
 * - block form, for an iterable of unknown length: the int -1, then blocks, each a varint count
 *   followed by that many elements, ended by a zero count.
 *
 * Both forms are self-delimiting, so the encoding does not depend on the context.
 */

/**
 * How many zero-width elements (VoidCoder, GlobalWindowCoder...) one collection may declare. Other
 * elements are bounded by the bytes left, since each takes at least one byte; zero-width ones are
 * not, so without a cap a 5-byte input could ask for 2^31 elements.
 */
export const MAX_ZERO_WIDTH_ELEMENTS = 1 << 20;

// Java's BufferedElementCountingOutputStream flushes a block every 64 KiB.
const BLOCK_BYTES = 64 * 1024;

/** Writes `values` in the counted form when the size is known (array, Set, Map), else the block form. */
export function encodeIterable<T>(coder: Coder<T>, values: Iterable<T>, writer: ByteWriter, who: string): void {
  if (Array.isArray(values)) {
    const n = values.length;
    writer.writeInt32BE(n);
    for (let i = 0; i < n; i++) coder.encode(values[i] as T, writer, Context.NESTED);
    return;
  }
  if (values instanceof Set || values instanceof Map) {
    writer.writeInt32BE(values.size);
    for (const v of values as Iterable<T>) coder.encode(v, writer, Context.NESTED);
    return;
  }
  if (values == null || typeof (values as Iterable<T>)[Symbol.iterator] !== 'function') {
    throw new CoderError(`${who}: expected an iterable, got ${values === null ? 'null' : typeof values}`);
  }
  writer.writeInt32BE(-1);
  const block = new ByteWriter(256);
  let count = 0;
  for (const v of values) {
    coder.encode(v, block, Context.NESTED);
    count++;
    if (block.length >= BLOCK_BYTES) {
      writer.writeVarLong(count);
      writer.writeBytes(block.view());
      block.reset();
      count = 0;
    }
  }
  if (count > 0) {
    writer.writeVarLong(count);
    writer.writeBytes(block.view());
  }
  writer.writeByte(0);
}

/**
 * Reads either form, calling `add` for each element. A count the remaining input cannot hold is a
 * CoderError before anything is allocated.
 */
export function decodeIterable<T>(coder: Coder<T>, reader: ByteReader, who: string, add: (value: T) => void): void {
  const minBytes = minEncodedBytes(coder as Coder<unknown>);
  const size = reader.readInt32BE();
  if (size >= 0) {
    checkCount(size, 0, minBytes, reader, who);
    for (let i = 0; i < size; i++) add(coder.decode(reader, Context.NESTED));
    return;
  }
  if (size !== -1) {
    throw new CoderError(
      `${who}: element count ${size} at offset ${reader.position - 4} is negative (only -1, for unknown length, is valid)`,
    );
  }
  let total = 0;
  for (;;) {
    const count = reader.readVarLong();
    if (count === 0) return;
    if (typeof count !== 'number' || count < 0) {
      throw new CoderError(`${who}: block count ${count} at offset ${reader.position} is not a valid element count`);
    }
    checkCount(count, total, minBytes, reader, who);
    total += count;
    for (let i = 0; i < count; i++) add(coder.decode(reader, Context.NESTED));
  }
}

/** Rejects `count` more elements (after `before`) that the remaining input cannot hold. */
export function checkCount(count: number, before: number, minBytes: number, reader: ByteReader, who: string): void {
  if (minBytes > 0) {
    if (count * minBytes > reader.remaining) {
      throw new CoderError(
        `${who}: ${count} elements of at least ${minBytes} bytes each cannot fit in the ${reader.remaining} bytes left: truncated or corrupt input`,
      );
    }
  } else if (before + count > MAX_ZERO_WIDTH_ELEMENTS) {
    throw new CoderError(
      `${who}: ${before + count} elements exceed the limit of ${MAX_ZERO_WIDTH_ELEMENTS} for elements that may encode to no bytes: corrupt input?`,
    );
  }
}
