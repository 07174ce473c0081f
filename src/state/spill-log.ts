import { ByteWriter } from '../../coders/index.ts';
import { FLAG_STATE, FLAG_TOMBSTONE, keyId, PartCursor } from './key-group-part.ts';
import { KeyFilter } from './key-filter.ts';

/**
 * The records of keys a tiered backend evicted with changes since the last capture, as eviction
 * encoded them (the record format of key-group-part.ts: key field, then the cells or a tombstone),
 * back to back in one buffer: the next capture takes the whole log at its cut, O(1), instead of
 * reading those keys back from the local store while intake is paused.
 *
 * A key evicted, read back and evicted again between two captures has two records here, and a key
 * read back and changed in the cache has a newer one in the capture's entries: a part must hold
 * one record per key, so `resolve` drops the older ones. Only keys read back since they were
 * logged can have them, and the log keeps a Bloom filter of its keys (`mayHold`, a KeyFilter:
 * never false for a logged key) so that the backend can tell which reads back those are.
 */
export class SpillLog {
  readonly bytes = new ByteWriter(4096);
  private ends: Int32Array = new Int32Array(1024);
  private groups: Int32Array = new Int32Array(1024);
  private hashes: Int32Array = new Int32Array(1024);
  private count = 0;
  private readonly filter = new KeyFilter();

  /** Number of records. */
  get length(): number {
    return this.count;
  }

  /**
   * Appends a key's record: `cells` is its cells section, undefined for a tombstone. `hash` is
   * murmur3 of the key bytes (keyHash), `keyGroup` the key's group.
   */
  append(hash: number, keyGroup: number, keyBytes: Uint8Array, cells: Uint8Array | undefined): void {
    const out = this.bytes;
    out.writeVarLong(keyBytes.length);
    out.writeBytes(keyBytes);
    if (cells === undefined) {
      out.writeByte(FLAG_TOMBSTONE);
    } else {
      out.writeByte(FLAG_STATE);
      out.writeBytes(cells);
    }
    this.push(out.length, keyGroup, hash);
  }

  /** Indexes the record just written into `bytes`, ending at `end`. */
  private push(end: number, keyGroup: number, hash: number): void {
    if (this.count === this.ends.length) {
      this.ends = grow(this.ends);
      this.groups = grow(this.groups);
      this.hashes = grow(this.hashes);
    }
    this.ends[this.count] = end;
    this.groups[this.count] = keyGroup;
    this.hashes[this.count] = hash;
    this.count++;
    this.filter.add(hash);
  }

  /** Whether the log may hold a record of the key with this hash: false only when it holds none. */
  mayHold(hash: number): boolean {
    return this.filter.mayHold(hash);
  }

  /** Where record i ends in `bytes` (it starts where record i - 1 ended, or at 0). */
  end(i: number): number {
    return this.ends[i]!;
  }

  /** Record i's key group, or -1 once `resolve` dropped it. */
  group(i: number): number {
    return this.groups[i]!;
  }

  /** The key bytes of record i (a view of `bytes`). */
  keyBytes(i: number): Uint8Array {
    const view = this.bytes.view();
    const cursor = new PartCursor(view, i === 0 ? 0 : this.ends[i - 1]!, this.ends[i]!);
    const length = cursor.length();
    const from = cursor.skip(length);
    return view.subarray(from, from + length);
  }

  /**
   * Drops every record that is not its key's newest: of the records whose key hash is in
   * `candidates` (every record when 'all'), those of a key in `superseded` (keyId of the key
   * bytes: the capture's entries hold the key's newest record) and all but the last of each other
   * key. Dropped records get key group -1. Returns how many were dropped.
   */
  resolve(candidates: ReadonlySet<number> | 'all', superseded: ReadonlySet<string>): number {
    const seen = new Set<string>(superseded);
    let dropped = 0;
    for (let i = this.count - 1; i >= 0; i--) {
      if (candidates !== 'all' && !candidates.has(this.hashes[i]!)) continue;
      const id = keyId(this.keyBytes(i));
      if (seen.has(id)) {
        this.groups[i] = -1;
        dropped++;
      } else {
        seen.add(id);
      }
    }
    return dropped;
  }

  /**
   * A log of this log's records followed by `newer`'s, in that order (a capture that failed gives
   * its log back to the next one).
   */
  concat(newer: SpillLog): SpillLog {
    const merged = new SpillLog();
    for (const log of [this, newer]) {
      const view = log.bytes.view();
      for (let i = 0; i < log.count; i++) {
        const start = i === 0 ? 0 : log.ends[i - 1]!;
        if (log.groups[i]! < 0) continue;
        merged.bytes.writeBytes(view.subarray(start, log.ends[i]!));
        merged.push(merged.bytes.length, log.groups[i]!, log.hashes[i]!);
      }
    }
    return merged;
  }
}

function grow(array: Int32Array): Int32Array {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
