/**
 * Heap a cached key costs besides its record's bytes: its KeyEntry (15 fields and a header, 8 bytes
 * each on Node's 64-bit heap) and its slot in the key map (docs/performance.md, memory.bytesPerKey).
 */
export const ENTRY_BYTES = 200;
/** Decoded state takes more heap than its encoding (objects, headers): the record's bytes count this many times. */
const DECODED_FACTOR = 2;

/**
 * The memory budget of a tiered backend's heap cache, in bytes, turned into how many keys it may
 * hold: budget / (ENTRY_BYTES + DECODED_FACTOR × the mean record size, key included). The mean
 * follows the records the backend encodes (at capture and eviction), so a job whose keys hold big
 * bags caches fewer of them than one counting words. An estimate: V8 gives no cheap size of an
 * object graph, and measuring each key would cost more than caching it.
 */
export class HeapCacheBudget {
  private meanRecord = 32;

  constructor(readonly bytes: number) {}

  /** Takes the size of one encoded record (key field included) into the mean. */
  observe(recordBytes: number): void {
    this.meanRecord += (recordBytes - this.meanRecord) / 256;
  }

  /** Estimated heap bytes per cached key. */
  get bytesPerKey(): number {
    return ENTRY_BYTES + DECODED_FACTOR * this.meanRecord;
  }

  /** Keys the cache may hold (at least one). */
  get keyLimit(): number {
    return Math.max(1, Math.floor(this.bytes / this.bytesPerKey));
  }
}
