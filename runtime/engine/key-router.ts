import { ByteWriter, Context } from '../../coders/index.ts';
import type { Coder } from '../../coders/index.ts';
import { EntryKind } from './mailbox.ts';
import type { DeadLetterReceiver, Outlet } from './outlet.ts';

/** What a keyed exchange delivers to: one partition's actor. */
export interface PartitionInbox {
  /** Appends an entry to the partition's mailbox and schedules the actor. */
  enqueue(kind: EntryKind, key: unknown, value: unknown, timestamp: number, position: number): void;
  isFull(): boolean;
  whenWritable(): Promise<void>;
}

/** How keys become key groups and key groups partitions (src/state's functions). */
export interface KeyGrouping {
  readonly maxKeyGroups: number;
  keyGroupFor(keyBytes: Uint8Array, maxKeyGroups: number): number;
  partitionForKeyGroup(keyGroup: number, maxKeyGroups: number, parallelism: number): number;
}

// Primitive keys (strings, numbers) are cached key → key group, so a hot key is hashed once; the
// cache is cleared when it grows past this many keys, bounding its memory.
const KEY_GROUP_CACHE_LIMIT = 100_000;

/**
 * A keyed exchange: computes each message's key, its key group (a stable hash of the key coder's
 * bytes) and the partition owning that key group, and appends the message to that partition's
 * mailbox. Watermarks and idleness are broadcast to every partition.
 */
export class KeyRouter implements Outlet {
  private readonly partitionOfGroup: Int32Array;
  private readonly writer = new ByteWriter(64);
  private readonly cache: Map<unknown, number> | undefined;
  private full = false;

  constructor(
    private readonly stepName: string,
    private readonly keyFn: (value: unknown) => unknown,
    private readonly keyCoder: Coder<unknown>,
    private readonly grouping: KeyGrouping,
    private readonly partitions: readonly PartitionInbox[],
    private readonly deadLetter: DeadLetterReceiver,
  ) {
    const { maxKeyGroups } = grouping;
    this.partitionOfGroup = new Int32Array(maxKeyGroups);
    for (let kg = 0; kg < maxKeyGroups; kg++) {
      this.partitionOfGroup[kg] = grouping.partitionForKeyGroup(kg, maxKeyGroups, partitions.length);
    }
    this.cache = keyCoder.consistentWithEquals() ? new Map() : undefined;
  }

  /** The key group of `key`. */
  keyGroupOf(key: unknown): number {
    const cache = this.cache;
    if (cache !== undefined) {
      const cached = cache.get(key);
      if (cached !== undefined) return cached;
    }
    this.writer.reset();
    this.keyCoder.encode(key, this.writer, Context.OUTER);
    const keyGroup = this.grouping.keyGroupFor(this.writer.view(), this.grouping.maxKeyGroups);
    if (cache !== undefined) {
      if (cache.size >= KEY_GROUP_CACHE_LIMIT) cache.clear();
      cache.set(key, keyGroup);
    }
    return keyGroup;
  }

  data(value: unknown, timestamp: number, position: number): void {
    let key: unknown;
    let keyGroup: number;
    try {
      key = this.keyFn(value);
      keyGroup = this.keyGroupOf(key);
    } catch (error) {
      this.deadLetter({ stage: this.stepName, position, error, attempts: 1, value });
      return;
    }
    const inbox = this.partitions[this.partitionOfGroup[keyGroup]!]!;
    inbox.enqueue(EntryKind.DATA, key, value, timestamp, position);
    if (!this.full && inbox.isFull()) this.full = true;
  }

  watermark(from: number, watermark: number, position: number): void {
    for (const inbox of this.partitions) inbox.enqueue(EntryKind.WATERMARK, from, undefined, watermark, position);
  }

  idle(from: number): void {
    for (const inbox of this.partitions) inbox.enqueue(EntryKind.IDLE, from, undefined, 0, -1);
  }

  // `full` is set by producers only, so it may be stale-true after consumers drained: harmless, as
  // whenUncongested then resolves at once and recomputes it.
  get congested(): boolean {
    return this.full;
  }

  async whenUncongested(): Promise<void> {
    for (;;) {
      const full = this.partitions.find((p) => p.isFull());
      if (full === undefined) break;
      await full.whenWritable();
    }
    this.full = false;
  }
}
