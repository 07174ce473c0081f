import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder, type Coder } from './coder.ts';
import type { Context } from './context.ts';
import { decodeIterable, encodeIterable } from './iterable-format.ts';
import { CoderError } from './stator-error.ts';

/**
 * Beam Java's ListCoder: an array in IterableCoder's counted form (4-byte big-endian count, then the
 * elements NESTED). Decoding also accepts the block form. Deterministic when the element coder is.
 */
export class ListCoder<T> extends BaseCoder<T[]> {
  static of<T>(elementCoder: Coder<T>): ListCoder<T> {
    return new ListCoder(elementCoder);
  }
  readonly urn = undefined;

  private constructor(readonly elementCoder: Coder<T>) {
    super();
  }

  encode(value: T[], writer: ByteWriter, _context: Context): void {
    if (!Array.isArray(value))
      throw new CoderError(`ListCoder: expected an array, got ${value === null ? 'null' : typeof value}`);
    encodeIterable(this.elementCoder, value, writer, 'ListCoder');
  }

  decode(reader: ByteReader, _context: Context): T[] {
    const out: T[] = [];
    decodeIterable(this.elementCoder, reader, 'ListCoder', (v) => out.push(v));
    return out;
  }

  override verifyDeterministic(): void {
    this.verifyComponentsDeterministic('ListCoder.elemCoder must be deterministic', [
      this.elementCoder as Coder<unknown>,
    ]);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.elementCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return 4;
  }
}
