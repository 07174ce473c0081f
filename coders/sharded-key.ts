import { CoderError } from './stator-error.ts';
import { valueEquals } from './value-equals.ts';

/**
 * A user key with an opaque shard id (Beam's ShardedKey), the value of `beam:coder:sharded_key:v1`.
 * Runners use it to spread one hot key over several shards (GroupIntoBatches.withShardedKey).
 */
export class ShardedKey<K> {
  private constructor(
    readonly key: K,
    private readonly shard: Uint8Array,
  ) {}

  /** @throws CoderError when `shardId` is not a Uint8Array. The bytes are copied. */
  static of<K>(key: K, shardId: Uint8Array): ShardedKey<K> {
    if (!(shardId instanceof Uint8Array))
      throw new CoderError('ShardedKey: the shard id must be a Uint8Array (an empty one for no shard)');
    return new ShardedKey(key, shardId.slice());
  }

  /** The shard id (a copy). */
  get shardId(): Uint8Array {
    return this.shard.slice();
  }

  /** Equal keys (see valueEquals) and equal shard bytes. */
  equals(other: unknown): boolean {
    return other instanceof ShardedKey && valueEquals(this.key, other.key) && valueEquals(this.shard, other.shard);
  }

  toString(): string {
    return `ShardedKey{key=${String(this.key)}, shardId=${Buffer.from(this.shard).toString('hex')}}`;
  }
}
