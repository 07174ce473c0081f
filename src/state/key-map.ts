/**
 * The most entries one V8 `Map` holds, with room to spare: V8 throws `RangeError: Map maximum size
 * exceeded` past 2^24 (16.7M), and a partition of a large job holds more keys than that.
 */
export const KEY_MAP_SHARD_ENTRIES = 2 ** 23;

interface Shard<V> {
  readonly map: Map<unknown, V>;
  /**
   * The next shard. An emptied shard is unlinked but keeps this pointer, so an iterator that is in
   * it still reaches the shards after it.
   */
  next: Shard<V> | undefined;
}

/**
 * A `Map` from keys to values that is not limited to one V8 `Map`'s 2^24 entries: a chain of maps
 * of at most `shardEntries` entries each. It behaves as one `Map`, including the order of iteration
 * (insertion order: a new key always goes into the last map) and iterators that see entries added
 * after they were made, which the CLOCK hand of a tiered backend relies on. The heap backend keeps
 * a plain `Map` until it is full and then hands it to a KeyMap, so a state of usual size pays
 * nothing for this on its hottest path.
 */
export class KeyMap<V> {
  private head: Shard<V>;
  private tail: Shard<V>;

  /** `first`, when given, becomes the first shard (taken over, not copied: its owner must drop it). */
  constructor(
    private readonly shardEntries = KEY_MAP_SHARD_ENTRIES,
    first: Map<unknown, V> = new Map(),
  ) {
    if (!Number.isInteger(shardEntries) || shardEntries < 1) {
      throw new RangeError(`a KeyMap shard must hold at least 1 entry, not ${shardEntries}`);
    }
    this.head = this.tail = { map: first, next: undefined };
  }

  get size(): number {
    let size = 0;
    for (let shard: Shard<V> | undefined = this.head; shard !== undefined; shard = shard.next) size += shard.map.size;
    return size;
  }

  get(key: unknown): V | undefined {
    const found = this.tail.map.get(key);
    if (found !== undefined || this.head === this.tail) return found;
    return this.shardOf(key)?.map.get(key);
  }

  has(key: unknown): boolean {
    return this.tail.map.has(key) || (this.head !== this.tail && this.shardOf(key) !== undefined);
  }

  set(key: unknown, value: V): this {
    const tail = this.tail.map;
    if (this.head === this.tail) {
      if (tail.size < this.shardEntries || tail.has(key)) {
        tail.set(key, value);
        return this;
      }
    } else {
      const holder = tail.has(key) ? this.tail : this.shardOf(key);
      if (holder !== undefined) {
        holder.map.set(key, value);
        return this;
      }
    }
    if (tail.size < this.shardEntries) {
      tail.set(key, value);
    } else {
      const shard: Shard<V> = { map: new Map([[key, value]]), next: undefined };
      this.tail.next = shard;
      this.tail = shard;
    }
    return this;
  }

  delete(key: unknown): boolean {
    if (this.head === this.tail) return this.head.map.delete(key);
    let before: Shard<V> | undefined = undefined;
    for (let shard: Shard<V> | undefined = this.head; shard !== undefined; before = shard, shard = shard.next) {
      if (!shard.map.delete(key)) continue;
      // An emptied shard other than the last leaves the chain; its `next` stays for iterators in it.
      if (shard.map.size === 0 && shard !== this.tail) {
        if (before === undefined) this.head = shard.next!;
        else before.next = shard.next;
      }
      return true;
    }
    return false;
  }

  *values(): IterableIterator<V> {
    for (let shard: Shard<V> | undefined = this.head; shard !== undefined; shard = shard.next)
      yield* shard.map.values();
  }

  *[Symbol.iterator](): IterableIterator<[unknown, V]> {
    for (let shard: Shard<V> | undefined = this.head; shard !== undefined; shard = shard.next) yield* shard.map;
  }

  /** The shard before the last that holds `key` (the last one was looked in already). */
  private shardOf(key: unknown): Shard<V> | undefined {
    for (let shard: Shard<V> | undefined = this.head; shard !== this.tail; shard = shard!.next) {
      if (shard!.map.has(key)) return shard;
    }
    return undefined;
  }
}
