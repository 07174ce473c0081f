import type { ByteReader } from './byte-reader.ts';
import { ByteWriter } from './byte-writer.ts';
import { BaseCoder, minEncodedBytes, type Coder } from './coder.ts';
import { Context } from './context.ts';
import { checkCount, encodeIterable } from './iterable-format.ts';
import { StateBackedIterable, type StateBackedIterableReader } from './state-backed-iterable.ts';
import { CoderError, NonDeterministicCoderError } from './stator-error.ts';

/** How a StateBackedIterableCoder reaches the store behind its tokens. */
export interface StateBackedIterableOptions<T> {
  /** Returns the stored elements for a token read from the bytes (Python's read_state). */
  readonly readState?: StateBackedIterableReader<T>;
  /** Stores the elements after the inline ones and returns their token (Python's write_state). */
  readonly writeState?: (elements: T[]) => Uint8Array;
  /**
   * With writeState: once more than this many bytes of elements are written inline, the rest goes
   * to writeState (Python's write_state_threshold).
   * @default 65536
   */
  readonly writeStateThreshold?: number;
}

const BLOCK_BYTES = 64 * 1024;

/**
 * Beam's `beam:coder:state_backed_iterable:v1` (Java's StateBackedIterable.Coder, Python's
 * StateBackedIterableCoder): an iterable in IterableCoder's format, except that the block form's
 * final varint 0 may be replaced by varint -1, varint len(token), token — the rest of the elements
 * is stored elsewhere under that token.
 *
 * Decoding gives an array when the bytes hold every element, else a StateBackedIterable of the
 * inline prefix and the token (iterated through `readState`). Encoding writes a StateBackedIterable
 * back with its token (as Java does); with `writeState`, elements beyond `writeStateThreshold` bytes
 * are stored and replaced by a token (as Python does); anything else is written as IterableCoder
 * writes it. Not deterministic, like every iterable coder in Beam.
 */
export class StateBackedIterableCoder<T> extends BaseCoder<Iterable<T>> {
  static readonly URN = 'beam:coder:state_backed_iterable:v1';
  static of<T>(elementCoder: Coder<T>, options: StateBackedIterableOptions<T> = {}): StateBackedIterableCoder<T> {
    const threshold = options.writeStateThreshold ?? BLOCK_BYTES;
    if (!Number.isSafeInteger(threshold) || threshold < 0) {
      throw new CoderError(
        `StateBackedIterableCoder: writeStateThreshold must be a non-negative integer of bytes, got ${threshold}`,
      );
    }
    return new StateBackedIterableCoder(elementCoder, options.readState, options.writeState, threshold);
  }
  readonly urn = StateBackedIterableCoder.URN;

  private constructor(
    readonly elementCoder: Coder<T>,
    private readonly readState: StateBackedIterableReader<T> | undefined,
    private readonly writeState: ((elements: T[]) => Uint8Array) | undefined,
    private readonly writeStateThreshold: number,
  ) {
    super();
  }

  encode(value: Iterable<T>, writer: ByteWriter, _context: Context): void {
    if (value instanceof StateBackedIterable) {
      writer.writeInt32BE(-1);
      this.writeBlocks(value.prefix, writer, Number.POSITIVE_INFINITY);
      writeToken(writer, value.token);
      return;
    }
    if (this.writeState === undefined) {
      encodeIterable(this.elementCoder, value, writer, 'StateBackedIterableCoder');
      return;
    }
    if (value == null || typeof (value as Iterable<T>)[Symbol.iterator] !== 'function') {
      throw new CoderError(
        `StateBackedIterableCoder: expected an iterable, got ${value === null ? 'null' : typeof value}`,
      );
    }
    writer.writeInt32BE(-1);
    const iterator = value[Symbol.iterator]();
    const spilled = this.writeBlocks({ [Symbol.iterator]: () => iterator }, writer, this.writeStateThreshold);
    if (!spilled) {
      writer.writeByte(0);
      return;
    }
    const rest: T[] = [];
    for (let next = iterator.next(); next.done !== true; next = iterator.next()) rest.push(next.value);
    const token = this.writeState(rest);
    if (!(token instanceof Uint8Array))
      throw new CoderError('StateBackedIterableCoder: writeState must return the token as a Uint8Array');
    writeToken(writer, token);
  }

  /**
   * Writes blocks of elements (a block closes once it holds more than min(64 KiB, threshold) bytes).
   * Returns true, leaving the iterator after the last element written, once more than `threshold`
   * bytes were written; false when the elements ran out first (no terminator written).
   */
  private writeBlocks(values: Iterable<T>, writer: ByteWriter, threshold: number): boolean {
    const target = Math.min(BLOCK_BYTES, threshold);
    const block = new ByteWriter(256);
    let count = 0;
    let written = 0;
    for (const v of values) {
      this.elementCoder.encode(v, block, Context.NESTED);
      count++;
      if (block.length > target) {
        writer.writeVarLong(count);
        writer.writeBytes(block.view());
        written += block.length;
        block.reset();
        count = 0;
        if (written > threshold) return true;
      }
    }
    if (count > 0) {
      writer.writeVarLong(count);
      writer.writeBytes(block.view());
    }
    return false;
  }

  decode(reader: ByteReader, _context: Context): Iterable<T> {
    const minBytes = minEncodedBytes(this.elementCoder as Coder<unknown>);
    const size = reader.readInt32BE();
    const prefix: T[] = [];
    if (size >= 0) {
      // The counted form never carries a token.
      checkCount(size, 0, minBytes, reader, 'StateBackedIterableCoder');
      for (let i = 0; i < size; i++) prefix.push(this.elementCoder.decode(reader, Context.NESTED));
      return prefix;
    }
    if (size !== -1) {
      throw new CoderError(
        `StateBackedIterableCoder: element count ${size} at offset ${reader.position - 4} is negative (only -1, for unknown length, is valid)`,
      );
    }
    for (;;) {
      const offset = reader.position;
      const count = reader.readVarLong();
      if (count === 0) return prefix;
      if (count === -1) {
        const token = reader.readBytes(reader.readLength('StateBackedIterableCoder token length'));
        return new StateBackedIterable(prefix, token, this.readState);
      }
      if (typeof count !== 'number' || count < 0) {
        throw new CoderError(
          `StateBackedIterableCoder: block count ${count} at offset ${offset} is not an element count, 0 or -1 (a state token follows)`,
        );
      }
      checkCount(count, prefix.length, minBytes, reader, 'StateBackedIterableCoder');
      for (let i = 0; i < count; i++) prefix.push(this.elementCoder.decode(reader, Context.NESTED));
    }
  }

  override verifyDeterministic(): void {
    throw new NonDeterministicCoderError(this.toString(), [
      'IterableLikeCoder can not guarantee deterministic ordering.',
    ]);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.elementCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return 4;
  }
}

function writeToken(writer: ByteWriter, token: Uint8Array): void {
  writer.writeVarLong(-1);
  writer.writeVarLong(token.length);
  writer.writeBytes(token);
}
