import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder, minEncodedBytes, type Coder } from './coder.ts';
import { Context } from './context.ts';
import { checkCount } from './iterable-format.ts';
import { CoderError, NonDeterministicCoderError } from './stator-error.ts';

/**
 * Beam Java's MapCoder: a JS Map as the entry count (4-byte big-endian int), then each key and
 * value, in iteration (insertion) order. As in Beam, every key and every value but the last is
 * NESTED; the last value is written in the coder's own context. Decoding returns a Map.
 *
 * Not deterministic, as in Beam ("Ordering of entries in a Map may be non-deterministic").
 */
export class MapCoder<K, V> extends BaseCoder<Map<K, V>> {
  static of<K, V>(keyCoder: Coder<K>, valueCoder: Coder<V>): MapCoder<K, V> {
    return new MapCoder(keyCoder, valueCoder);
  }
  readonly urn = undefined;

  private constructor(
    readonly keyCoder: Coder<K>,
    readonly valueCoder: Coder<V>,
  ) {
    super();
  }

  encode(value: Map<K, V>, writer: ByteWriter, context: Context): void {
    if (!(value instanceof Map))
      throw new CoderError(`MapCoder: expected a Map, got ${value === null ? 'null' : typeof value}`);
    const size = value.size;
    writer.writeInt32BE(size);
    let i = 0;
    for (const [k, v] of value) {
      this.keyCoder.encode(k, writer, Context.NESTED);
      this.valueCoder.encode(v, writer, ++i === size ? context : Context.NESTED);
    }
  }

  decode(reader: ByteReader, context: Context): Map<K, V> {
    const size = reader.readInt32BE();
    if (size < 0) throw new CoderError(`MapCoder: entry count ${size} at offset ${reader.position - 4} is negative`);
    const keyMin = minEncodedBytes(this.keyCoder as Coder<unknown>);
    const valueMin = minEncodedBytes(this.valueCoder as Coder<unknown>);
    // In the OUTER context the last value may be shorter than a NESTED one (an empty string is no
    // bytes), so the bound counts it as a key alone.
    if (size > 0) checkCount(size - 1, 0, keyMin + valueMin, reader, 'MapCoder');
    checkCount(size > 0 ? 1 : 0, size, keyMin, reader, 'MapCoder');
    const out = new Map<K, V>();
    for (let i = 1; i <= size; i++) {
      const k = this.keyCoder.decode(reader, Context.NESTED);
      out.set(k, this.valueCoder.decode(reader, i === size ? context : Context.NESTED));
    }
    return out;
  }

  override verifyDeterministic(): void {
    throw new NonDeterministicCoderError(this.toString(), ['Ordering of entries in a Map may be non-deterministic.']);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.keyCoder as Coder<unknown>, this.valueCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return 4;
  }
}
