import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder, type Coder } from './coder.ts';
import type { Context } from './context.ts';
import { decodeIterable, encodeIterable } from './iterable-format.ts';
import { NonDeterministicCoderError } from './stator-error.ts';

/**
 * Beam's IterableCoder (`beam:coder:iterable:v1`). Arrays, Sets and Maps are written in the counted
 * form (4-byte big-endian count, then the elements NESTED); other iterables (generators...) in
 * Beam's block form for unknown lengths (count -1, then varint-counted blocks, then 0). Decoding
 * accepts both and returns an array.
 *
 * Not deterministic, as in Beam ("IterableLikeCoder can not guarantee deterministic ordering"):
 * the same elements may be written in either form. Use ListCoder for a deterministic sequence.
 */
export class IterableCoder<T> extends BaseCoder<Iterable<T>> {
  static readonly URN = 'beam:coder:iterable:v1';
  static of<T>(elementCoder: Coder<T>): IterableCoder<T> {
    return new IterableCoder(elementCoder);
  }
  readonly urn = IterableCoder.URN;

  private constructor(readonly elementCoder: Coder<T>) {
    super();
  }

  encode(value: Iterable<T>, writer: ByteWriter, _context: Context): void {
    encodeIterable(this.elementCoder, value, writer, 'IterableCoder');
  }

  decode(reader: ByteReader, _context: Context): T[] {
    const out: T[] = [];
    decodeIterable(this.elementCoder, reader, 'IterableCoder', (v) => out.push(v));
    return out;
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
