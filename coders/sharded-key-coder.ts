import type { ByteReader } from './byte-reader.ts';
import type { ByteWriter } from './byte-writer.ts';
import { BaseCoder, minEncodedBytes, type Coder } from './coder.ts';
import { Context } from './context.ts';
import { ShardedKey } from './sharded-key.ts';
import { CoderError } from './stator-error.ts';

/**
 * Beam's ShardedKey.Coder (`beam:coder:sharded_key:v1`): the shard id as NESTED bytes (varint
 * length + bytes), then the user key NESTED, in either context (Beam's Java and Python coders both
 * nest the key; the YAML vectors are the same in both contexts). Deterministic when the key coder is.
 */
export class ShardedKeyCoder<K> extends BaseCoder<ShardedKey<K>> {
  static readonly URN = 'beam:coder:sharded_key:v1';
  static of<K>(keyCoder: Coder<K>): ShardedKeyCoder<K> {
    return new ShardedKeyCoder(keyCoder);
  }
  readonly urn = ShardedKeyCoder.URN;

  private constructor(readonly keyCoder: Coder<K>) {
    super();
  }

  encode(value: ShardedKey<K>, writer: ByteWriter, _context: Context): void {
    if (!(value instanceof ShardedKey))
      throw new CoderError('ShardedKeyCoder: expected a ShardedKey (ShardedKey.of(key, shardId))');
    const shard = value.shardId;
    writer.writeVarLong(shard.length);
    writer.writeBytes(shard);
    this.keyCoder.encode(value.key, writer, Context.NESTED);
  }

  decode(reader: ByteReader, _context: Context): ShardedKey<K> {
    const shard = reader.readBytes(reader.readLength('ShardedKeyCoder shard id'));
    return ShardedKey.of(this.keyCoder.decode(reader, Context.NESTED), shard);
  }

  override verifyDeterministic(): void {
    this.verifyComponentsDeterministic('ShardedKey.Coder requires a deterministic key coder', [
      this.keyCoder as Coder<unknown>,
    ]);
  }

  override getCoderArguments(): readonly Coder<unknown>[] {
    return [this.keyCoder as Coder<unknown>];
  }

  override minEncodedBytes(): number {
    return 1 + minEncodedBytes(this.keyCoder as Coder<unknown>);
  }
}
