import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder, minEncodedBytes, type Coder } from './coder.ts';
import { Context } from './context.ts';
import { CoderError } from './stator-error.ts';

/** A key and a value, as Beam's KV. */
export interface KV<K, V> {
  readonly key: K;
  readonly value: V;
}

/** Makes a KV. */
export function KV<K, V>(key: K, value: V): KV<K, V> {
  return { key, value };
}

/**
 * Beam's KvCoder (`beam:coder:kv:v1`): the key NESTED, then the value in the outer context.
 * Deterministic when both components are.
 */
export class KvCoder<K, V> extends BaseCoder<KV<K, V>> {
  static readonly URN = 'beam:coder:kv:v1';
  static of<K, V>(keyCoder: Coder<K>, valueCoder: Coder<V>): KvCoder<K, V> {
    return new KvCoder(keyCoder, valueCoder);
  }
  readonly urn = KvCoder.URN;

  private constructor(
    readonly keyCoder: Coder<K>,
    readonly valueCoder: Coder<V>,
  ) {
    super();
  }

  encode(value: KV<K, V>, writer: ByteWriter, context: Context): void {
    // A typed error, not a TypeError from reading `.key` of null (Beam: "cannot encode a null KV").
    if (typeof value !== 'object' || value === null)
      throw new CoderError(`KvCoder: expected a KV ({ key, value }), got ${value === null ? 'null' : typeof value}`);
    this.keyCoder.encode(value.key, writer, Context.NESTED);
    this.valueCoder.encode(value.value, writer, context);
  }

  decode(reader: ByteReader, context: Context): KV<K, V> {
    const key = this.keyCoder.decode(reader, Context.NESTED);
    const value = this.valueCoder.decode(reader, context);
    return { key, value };
  }

  override verifyDeterministic(): void {
    this.verifyComponentsDeterministic('Key coder must be deterministic', [this.keyCoder as Coder<unknown>]);
    this.verifyComponentsDeterministic('Value coder must be deterministic', [this.valueCoder as Coder<unknown>]);
  }

  override minEncodedBytes(): number {
    return minEncodedBytes(this.keyCoder as Coder<unknown>) + minEncodedBytes(this.valueCoder as Coder<unknown>);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.keyCoder as Coder<unknown>, this.valueCoder as Coder<unknown>];
  }
}
