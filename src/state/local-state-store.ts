/**
 * CONTRACT of the local tier under a tiered keyed state backend: a synchronous, ordered byte store
 * (an embedded key-value store on local disk) holding the keys the heap cache evicted. It is a
 * working copy, never the source of truth: checkpoints are. Anything it holds can be thrown away
 * and rebuilt from the latest checkpoint.
 *
 * Keys are `storeKey(keyGroup, keyBytes)` (the key group first, big-endian, so one key group's keys
 * are one range); values are a record's cells section in the local form (see LocalCellFormat: each
 * cell's head is a number in a dictionary of cell heads the store keeps too). Which keys were
 * evicted with changes the next checkpoint must include is the backend's business (its spill log
 * keeps their records), not the store's.
 *
 * Reads are synchronous (state reads are: `ValueState.read()` returns the value), so the store must
 * serve a read from the calling thread; a write batch is visible to the next read.
 */
export interface LocalStateStore {
  /** The value of `key`, or undefined. The bytes are the caller's (not reused by the store). */
  get(key: Uint8Array): Uint8Array | undefined;
  /**
   * Applies one batch atomically: every put (value) or delete (undefined), and the cell heads
   * numbered since the last write (ids `heads.from`, `heads.from + 1`...), which its values may use.
   */
  write(batch: readonly LocalStoreWrite[], heads?: LocalStoreHeads): void;
  /** Every cell head written (by id, from 1): the dictionary of the values it holds. */
  heads(): Uint8Array[];
  /**
   * Keeps the records of keys with timers or watermark holds (a record's eager section length, the
   * eager section, then its cells), apart from the others: they are restored eagerly from a warm
   * copy (takeEager) while the others are read at their first use.
   */
  writeEager(records: readonly { readonly key: Uint8Array; readonly value: Uint8Array }[]): void;
  /** Every record writeEager kept, removed from the store. */
  takeEager(): { key: Uint8Array; value: Uint8Array }[];
  /** Every key held, in key order. */
  keys(): Iterable<Uint8Array>;
  /** How many keys it holds. */
  readonly size: number;
  /** Drops everything (a fresh working copy before a restore). */
  clear(): void;
  /** Releases the store; idempotent. */
  close(): Promise<void>;
}

/** Cell heads a LocalStateStore batch adds to the store's dictionary, from id `from` on. */
export interface LocalStoreHeads {
  readonly from: number;
  readonly heads: readonly Uint8Array[];
}

/** One write of a LocalStateStore batch. */
export interface LocalStoreWrite {
  readonly key: Uint8Array;
  /** The new value; undefined deletes the key. */
  readonly value: Uint8Array | undefined;
}

/** The store key of a key: its key group (2 bytes, big-endian), then its key-coder bytes. */
export function storeKey(keyGroup: number, keyBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + keyBytes.length);
  out[0] = keyGroup >>> 8;
  out[1] = keyGroup & 0xff;
  out.set(keyBytes, 2);
  return out;
}

/** The key group of a store key. */
export function storeKeyGroup(key: Uint8Array): number {
  return (key[0]! << 8) | key[1]!;
}
