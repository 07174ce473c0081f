/**
 * CONTRACT of the local tier under a tiered keyed state backend: a synchronous, ordered byte store
 * (an embedded key-value store on local disk) holding the keys the heap cache evicted. It is a
 * working copy, never the source of truth: checkpoints are. Anything it holds can be thrown away
 * and rebuilt from the latest checkpoint.
 *
 * Keys are `storeKey(keyBytes)` (the key's length, then its key-coder bytes); values are a
 * record's cells section in the local form (see LocalCellFormat: each cell's head is a number in a
 * dictionary of cell heads the store keeps too). Which keys were evicted with changes the next
 * checkpoint must include is the backend's business (its spill log keeps their records), not the
 * store's.
 *
 * Reads are synchronous (state reads are: `ValueState.read()` returns the value), so the store must
 * serve a read from the calling thread; a write batch is visible to the next read.
 */
export interface LocalStateStore {
  /** The value of `key`, or undefined. The bytes are the caller's (not reused by the store). */
  get(key: Uint8Array): Uint8Array | undefined;
  /**
   * The value of `key` without a copy, or undefined: a view whose `length` is the value's, valid
   * only until the store's next call (the store may reuse its memory). Optional: without it, the
   * backend reads with `get`.
   */
  peek?(key: Uint8Array): Uint8Array | undefined;
  /**
   * Applies one batch in order: every put (value) or delete (undefined), and the cell heads
   * numbered since the last write (ids `heads.from`, `heads.from + 1`...), which its values may use,
   * with its first writes. A large batch may be committed in several transactions: the store is
   * not trusted after a failure or a crash anyway (a working copy, see above). A store that fails
   * throws LocalStateStoreError, then the same error from every later call: the job fails (a rerun
   * restores from the checkpoints) rather than read state the store may have lost.
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

/** Key lengths from this one on take 3 bytes in a store key (LONG_KEY, then the length, big-endian). */
const LONG_KEY = 0xff;

/**
 * The store key of a key: its length (one byte below 255; else 255 and two bytes, big-endian), then
 * its key-coder bytes. Shorter keys sort first, so keys that grow in length as they grow in value
 * (numbered ids: `key-9`, `key-10`) and fixed-length ids arrive in order when they are made in order:
 * each goes last on its B-tree page, where LMDB splits a full page so the old one stays full (a key
 * inserted mid-page splits it in halves that later inserts elsewhere leave half full). The key
 * group is not part of it: no store operation takes a key group's range, and keyGroupFor finds it
 * from the key bytes.
 */
export function storeKey(keyBytes: Uint8Array): Uint8Array {
  const n = keyBytes.length;
  const out = new Uint8Array(storeKeyHeadLength(n) + n);
  out.set(keyBytes, writeStoreKeyHead(out, 0, n));
  return out;
}

/** Bytes storeKey puts before a key of `n` bytes. */
export function storeKeyHeadLength(n: number): number {
  return n < LONG_KEY ? 1 : 3;
}

/** Writes the head of a store key (see storeKey) for `n` key bytes at `at`; returns where the key bytes go. */
export function writeStoreKeyHead(out: Uint8Array, at: number, n: number): number {
  if (n < LONG_KEY) {
    out[at] = n;
    return at + 1;
  }
  out[at] = LONG_KEY;
  out[at + 1] = n >>> 8;
  out[at + 2] = n & 0xff;
  return at + 3;
}

/** The key-coder bytes of a store key (a view). */
export function storeKeyBytes(key: Uint8Array): Uint8Array {
  return key.subarray(key[0] === LONG_KEY ? 3 : 1);
}
