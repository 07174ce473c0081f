import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder, type Coder } from './coder.ts';
import type { Context } from './context.ts';
import { decodeIterable, encodeIterable } from './iterable-format.ts';
import { CoderError, NonDeterministicCoderError } from './stator-error.ts';

/**
 * Beam Java's SetCoder: a JS Set in IterableCoder's counted form, in iteration (insertion) order.
 * Decoding returns a Set.
 *
 * Not deterministic, as in Beam ("Ordering of elements in a set may be non-deterministic"): two
 * equal sets built in a different order encode differently.
 */
export class SetCoder<T> extends BaseCoder<Set<T>> {
  static of<T>(elementCoder: Coder<T>): SetCoder<T> {
    return new SetCoder(elementCoder);
  }
  readonly urn = undefined;

  private constructor(readonly elementCoder: Coder<T>) {
    super();
  }

  encode(value: Set<T>, writer: ByteWriter, _context: Context): void {
    if (!(value instanceof Set))
      throw new CoderError(`SetCoder: expected a Set, got ${value === null ? 'null' : typeof value}`);
    encodeIterable(this.elementCoder, value, writer, 'SetCoder');
  }

  decode(reader: ByteReader, _context: Context): Set<T> {
    const out = new Set<T>();
    decodeIterable(this.elementCoder, reader, 'SetCoder', (v) => out.add(v));
    return out;
  }

  override verifyDeterministic(): void {
    throw new NonDeterministicCoderError(this.toString(), ['Ordering of elements in a set may be non-deterministic.']);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.elementCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return 4;
  }
}
