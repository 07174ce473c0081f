import { FLAG_STATE, FLAG_STATE_EAGER, FLAG_TOMBSTONE, PartCursor, type PartSections } from './key-group-part.ts';
import type { RestoreStore, StoredKeyGroup } from './key-group-restore.ts';
import { StatePartCorruptError } from './state-errors.ts';

/**
 * Copies restored key groups of a tiered backend into its local store in one pass, in store-key
 * order (storeKey: the key's length, then its bytes), each key's newest record only.
 *
 * A key group's keys are spread over the whole store (the store key is not led by the key group),
 * so copying groups one at a time rewrites pages all over the B-tree once per group; in store-key
 * order the writes walk the tree once, and into an empty store they append. Each part's lazy
 * records are sorted on their own (4 bytes per record kept: where it starts), then the parts of
 * every group are merged; where parts of a chain hold the same key, the newest part's record is the
 * one written (a put, or a delete for a tombstone), as copying the parts oldest first would leave it;
 * a key whose newest record has timers or holds is in memory already (StoredKeyGroup.restore) and
 * none of its records is written. Every part is checked whole before anything is written.
 * @throws StatePartCorruptError
 */
export function copyStoredGroups(groups: readonly StoredKeyGroup<unknown>[], store: RestoreStore): void {
  const runs: SortedRun[] = [];
  for (const group of groups) {
    try {
      group.parts.forEach((part, age) => {
        const run = new SortedRun(group, age, part);
        if (run.advance()) runs.push(run);
      });
    } catch (cause) {
      if (cause instanceof StatePartCorruptError) throw cause;
      throw new StatePartCorruptError(`the records of key group ${group.keyGroup} are malformed`, { cause });
    }
  }
  const heap = new RunHeap(runs);
  let lastBytes: Uint8Array | undefined;
  let lastStart = 0;
  let lastLength = 0;
  for (let run = heap.top(); run !== undefined; run = heap.top()) {
    const { bytes, keyStart, keyLength, cursor, group } = run;
    // Equal keys come newest part first: an older part's record of the key written just now is skipped.
    const older =
      lastBytes !== undefined && compareKeys(lastBytes, lastStart, lastLength, bytes, keyStart, keyLength) === 0;
    if (!older) {
      lastBytes = bytes;
      lastStart = keyStart;
      lastLength = keyLength;
      const keyBytes = bytes.subarray(keyStart, keyStart + keyLength);
      if (!group.skips(keyBytes)) {
        const flag = cursor.byte();
        if (!store.accepts(keyLength)) {
          if (flag !== FLAG_TOMBSTONE) {
            cursor.pos = run.recordStart;
            group.restoreInMemory(cursor.record());
          }
        } else if (flag === FLAG_TOMBSTONE) {
          store.delete(keyBytes);
        } else {
          const cellsStart = cursor.skipCells();
          store.put(keyBytes, bytes.subarray(cellsStart, cursor.pos));
        }
      }
    }
    if (run.advance()) heap.replaceTop();
    else heap.removeTop();
  }
}

/**
 * The store-key order of two keys (a negative number, 0 or a positive one): the shorter first,
 * then by their bytes.
 */
function compareKeys(a: Uint8Array, aStart: number, aLength: number, b: Uint8Array, bStart: number, bLength: number) {
  if (aLength !== bLength) return aLength - bLength;
  for (let i = 0; i < aLength; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Key lengths from this one on share a prefix's length field (see keyPrefix). */
const PREFIX_LENGTH_CAP = 31;

/**
 * A number in store-key order for the first bytes of a key (its length up to PREFIX_LENGTH_CAP, then
 * its first 6 bytes, below 2^53): keys whose prefixes differ compare as their prefixes do; equal
 * prefixes need compareKeys.
 */
function keyPrefix(bytes: Uint8Array, start: number, length: number): number {
  let prefix = Math.min(length, PREFIX_LENGTH_CAP);
  for (let i = 0; i < 6; i++) prefix = prefix * 256 + (i < length ? bytes[start + i]! : 0);
  return prefix;
}

/** One part's lazy records in store-key order, read one at a time. */
class SortedRun {
  readonly bytes: Uint8Array;
  readonly cursor: PartCursor;
  /** Where each record starts, in store-key order. */
  private readonly order: Uint32Array;
  private next = 0;
  /** The current record (advance): where it starts, its key. */
  recordStart = 0;
  keyStart = 0;
  keyLength = 0;
  prefix = 0;

  constructor(
    readonly group: StoredKeyGroup<unknown>,
    /** The part's place in its chain: of two records of one key, the one of the higher age is newer. */
    readonly age: number,
    part: PartSections,
  ) {
    this.bytes = part.bytes;
    this.cursor = new PartCursor(part.bytes, part.lazyStart, part.lazyEnd);
    this.order = sortedRecords(part);
  }

  /** Moves to the next record, leaving the cursor after its key; false at the end. */
  advance(): boolean {
    if (this.next === this.order.length) return false;
    const cursor = this.cursor;
    cursor.pos = this.recordStart = this.order[this.next++]!;
    this.keyLength = cursor.length();
    this.keyStart = cursor.skip(this.keyLength);
    this.prefix = keyPrefix(this.bytes, this.keyStart, this.keyLength);
    return true;
  }
}

/**
 * Where each of a part's lazy records starts, in the store-key order of their keys; checks every
 * record on the way (a damaged part fails before anything is written).
 */
function sortedRecords(part: PartSections): Uint32Array {
  const { bytes, lazyCount: n } = part;
  const starts = new Uint32Array(n);
  const keyStarts = new Uint32Array(n);
  const keyLengths = new Uint32Array(n);
  const prefixes = new Float64Array(n);
  const cursor = new PartCursor(bytes, part.lazyStart, part.lazyEnd);
  for (let i = 0; i < n; i++) {
    starts[i] = cursor.pos;
    const length = cursor.length();
    const keyStart = cursor.skip(length);
    keyStarts[i] = keyStart;
    keyLengths[i] = length;
    prefixes[i] = keyPrefix(bytes, keyStart, length);
    const flag = cursor.byte();
    if (flag === FLAG_STATE) cursor.skipCells();
    else if (flag === FLAG_STATE_EAGER)
      throw new StatePartCorruptError('a record with timers or holds outside the eager section');
    else if (flag !== FLAG_TOMBSTONE) throw new StatePartCorruptError(`unknown record flag ${flag}`);
  }
  if (!cursor.atEnd())
    throw new StatePartCorruptError(
      `${part.lazyEnd - cursor.pos} unexpected bytes after the records of key group ${part.keyGroup}`,
    );
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort(
    (a, b) =>
      prefixes[a]! - prefixes[b]! ||
      compareKeys(bytes, keyStarts[a]!, keyLengths[a]!, bytes, keyStarts[b]!, keyLengths[b]!),
  );
  for (let i = 0; i < n; i++) order[i] = starts[order[i]!]!;
  return order;
}

/** Whether run `a`'s record comes before run `b`'s: store-key order, the newer part first for one key. */
function before(a: SortedRun, b: SortedRun): boolean {
  if (a.prefix !== b.prefix) return a.prefix < b.prefix;
  const c = compareKeys(a.bytes, a.keyStart, a.keyLength, b.bytes, b.keyStart, b.keyLength);
  return c !== 0 ? c < 0 : a.age > b.age;
}

/** A binary min-heap of runs by their current records (see `before`). */
class RunHeap {
  private readonly runs: SortedRun[];

  constructor(runs: SortedRun[]) {
    this.runs = runs;
    for (let i = (runs.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  top(): SortedRun | undefined {
    return this.runs[0];
  }

  /** The top run moved to its next record: puts it back in place. */
  replaceTop(): void {
    this.down(0);
  }

  /** The top run ended. */
  removeTop(): void {
    const lastRun = this.runs.pop()!;
    if (this.runs.length === 0) return;
    this.runs[0] = lastRun;
    this.down(0);
  }

  private down(i: number): void {
    const runs = this.runs;
    const n = runs.length;
    const run = runs[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(runs[child + 1]!, runs[child]!)) child++;
      if (!before(runs[child]!, run)) break;
      runs[i] = runs[child]!;
      i = child;
    }
    runs[i] = run;
  }
}
