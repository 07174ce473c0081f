import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { lmdb } from '../deferred-packages.ts';
import { freeBytes, growthPages, LmdbFileGrowth, sumWrites, tallyWrites, treePages } from './lmdb-file-growth.ts';
import type { TransactionWrites, TreeStats } from './lmdb-file-growth.ts';
import { LocalStateStoreError, StatePartCorruptError } from '../../src/state/index.ts';
import type { LocalStateStore, LocalStoreHeads, LocalStoreWrite } from '../../src/state/index.ts';

/**
 * The warm-copy marker, next to LMDB's files: present only while the environment, synced to disk,
 * holds exactly the state of the checkpoint partition it names (see markWarm).
 */
const MARKER = 'reflects.json';
/**
 * 4: keys in storeKey's length-first form, values in the local cell form (LocalCellFormat) with its
 * one-cell form. A copy marked 3 (every value with a cell count and lengths), 2 (keys after their
 * key group) or 1 (checkpoint-form cells too) is rebuilt, never misread.
 */
const MARKER_FORMAT = 4;
/**
 * Pages a write transaction should change at most (2 MiB). LMDB copies each page a transaction
 * changes into memory it mallocs, and keeps the copies for reuse until the environment closes: the
 * largest transaction's pages stay in the process's RSS. And the pages a transaction frees can be
 * reused only by the transaction after next (the one between may still be read), so the file holds
 * the tree plus about two transactions' pages, all of it mapped once read. Parts of 512 pages
 * instead of 2,048 took 17 MiB off the RSS at 20M spread keys (file and malloc'd copies), for no
 * more CPU: the parts together change the same leaves (keyRangeParts).
 */
export const TRANSACTION_PAGES = 512;
/** Keys sampled per part to split a batch into key ranges (see keyRangeParts). */
const SAMPLES_PER_PART = 32;
/** The LMDB map of one partition's environment (see the constructor); 2,048 of them fit a 47-bit address space. */
const MAP_BYTES = 64 * 2 ** 30;

/**
 * A LocalStateStore in an LMDB environment (lmdb-js): reads are synchronous memory-mapped lookups
 * on the calling thread, which state reads need (`ValueState.read()` returns the value); writes come
 * in synchronous batches (one transaction per eviction batch). The environment is a working copy,
 * written without fsync: a crash may leave it anywhere, so it is trusted only through its marker
 * (a warm copy, see markWarm), and otherwise removed and made afresh.
 */
export class LmdbStateStore implements LocalStateStore {
  private readonly root: RootDatabase<Uint8Array, Uint8Array>;
  private readonly records: Database<Uint8Array, Uint8Array>;
  private readonly eager: Database<Uint8Array, Uint8Array>;
  /** The cell heads the records' values number (LocalCellFormat), by id as 4 bytes big-endian. */
  private readonly cellHeads: Database<Uint8Array, Uint8Array>;
  private closed: Promise<void> | undefined = undefined;
  /** The first failed write: every later call throws it (see LocalStateStoreError). */
  private failure: LocalStateStoreError | undefined = undefined;
  /** Room for each transaction's new pages, made before it runs (see lmdb-file-growth.ts). */
  private readonly growth: LmdbFileGrowth;
  private readonly pageBytes: number;
  /**
   * Pages of the eager and heads trees, which change only through this store: read again after each
   * transaction that writes them, not before every one.
   */
  private smallTreePages = 0;

  private constructor(readonly path: string) {
    // LMDB makes its files and first pages at open, before any reserve (lmdb-file-growth.ts) can run.
    const free = freeBytes(path);
    if (free !== undefined && free < OPEN_FREE_BYTES)
      throw new LocalStateStoreError(
        path,
        'open',
        ` (${Math.floor(free / 1024)} KiB free on its file system; it needs ${OPEN_FREE_BYTES / 1024} KiB to start)`,
      );
    try {
      const env = openEnvironment(path);
      ({ root: this.root, records: this.records, eager: this.eager, cellHeads: this.cellHeads } = env);
      this.growth = new LmdbFileGrowth(join(path, 'data.mdb'));
      this.pageBytes = (this.root.getStats() as EnvStats).pageSize;
      this.countSmallTrees();
    } catch (error) {
      throw new LocalStateStoreError(path, 'open', freeDetail(path), { cause: error });
    }
  }

  /** Opens a fresh (empty) store in `path`, removing whatever was there. */
  static openFresh(path: string): LmdbStateStore {
    rmSync(path, { recursive: true, force: true });
    // State is the user's data: private directories, as the rest of --state-dir (LMDB's files inside
    // follow the umask, but nobody else can reach them).
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return new LmdbStateStore(path);
  }

  /**
   * The digest of the checkpoint state the copy in `path` holds (written by markWarm), or undefined
   * when it has no valid marker. Reads the marker only: nothing is opened or changed.
   */
  static warmDigest(path: string): string | undefined {
    let text: string;
    try {
      text = readFileSync(join(path, MARKER), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const marker = JSON.parse(text) as { format?: unknown; digest?: unknown };
      return marker.format === MARKER_FORMAT && typeof marker.digest === 'string' ? marker.digest : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Opens the warm copy in `path` for use, after its marker (see markWarm) matched the checkpoint
   * being restored. The marker is removed durably first: from the first write on, the copy holds
   * state after the checkpoint, and a crash must leave it unmarked (the next run then rebuilds it).
   */
  static openWarm(path: string): LmdbStateStore {
    rmSync(join(path, MARKER), { force: true });
    syncDirectory(path);
    return new LmdbStateStore(path);
  }

  /**
   * Marks the copy as holding exactly the checkpoint state named by `digest`: syncs the environment
   * to disk, then writes the marker (temp file, fsync, rename, directory fsync). Call only when the
   * store alone holds that state and nothing writes to it afterwards (the backend's writeBack, then
   * close).
   */
  async markWarm(digest: string): Promise<void> {
    this.throwIfFailed();
    await new Promise<void>((resolve, reject) => {
      // lmdb-js's env.sync (mdb_env_sync, forced), missing from its type declarations.
      (this.root as unknown as { sync(done: (error?: unknown) => void): void }).sync((error) =>
        error ? reject(error as Error) : resolve(),
      );
    });
    const temp = join(this.path, `${MARKER}.tmp`);
    writeFileSync(temp, JSON.stringify({ format: MARKER_FORMAT, digest }), { mode: 0o600 });
    const fd = openSync(temp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, join(this.path, MARKER));
    syncDirectory(this.path);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.throwIfFailed();
    return this.records.getBinary(key);
  }

  peek(key: Uint8Array): Uint8Array | undefined {
    this.throwIfFailed();
    // lmdb-js's reused read buffer: its `length` is set to the value's.
    return this.records.getBinaryFast(key);
  }

  write(batch: readonly LocalStoreWrite[], heads?: LocalStoreHeads): void {
    if (batch.length === 0 && heads === undefined) return;
    this.throwIfFailed();
    let records = this.records.getStats() as RecordsStats;
    const parts = keyRangeParts(batch, this.leavesChanged(batch, records));
    // The heads go with the first writes, which may use them.
    let first = true;
    for (const part of parts) {
      if (part.length === 0 && !(first && heads !== undefined)) continue;
      const withHeads = first && heads !== undefined;
      let writes = tallyWrites(part, this.pageBytes);
      if (withHeads) writes = sumWrites(writes, tallyWrites(headWrites(heads.heads), this.pageBytes));
      if (!first) records = this.records.getStats() as RecordsStats;
      this.reserve(records, this.smallTreePages, writes, 'write state');
      try {
        this.root.transactionSync(() => {
          if (withHeads) heads.heads.forEach((h, i) => this.cellHeads.putSync(headId(heads.from + i), h));
          for (const w of part) {
            if (w.value === undefined) this.records.removeSync(w.key);
            else this.records.putSync(w.key, w.value);
          }
        });
      } catch (error) {
        throw this.fail('write state', error);
      }
      if (withHeads) this.countSmallTrees();
      first = false;
    }
  }

  /**
   * The leaf pages a batch can change at most: one per write inside the tree's key range (the tree's
   * leaves at most), and for the writes past its last key (keys made in order) the pages LMDB
   * appends for them. Splitting appends into parts would only add transactions: each reads the
   * tree's right edge through the map, which maps the freshly written pages around it.
   */
  private leavesChanged(batch: readonly LocalStoreWrite[], tree: RecordsStats): number {
    const leaves = tree.treeLeafPageCount;
    // One transaction either way (keyRangeParts): no need to find the tree's last key.
    if (leaves === 0 || tree.entryCount === 0 || batch.length <= TRANSACTION_PAGES) return leaves;
    let last: Uint8Array | undefined;
    for (const key of this.records.getKeys({ reverse: true, limit: 1 })) last = key as Uint8Array;
    if (last === undefined) return leaves;
    let past = 0;
    for (const w of batch) if (compareBytes(w.key, last) > 0) past++;
    const perLeaf = tree.entryCount / leaves;
    return Math.min(leaves, batch.length - past) + Math.ceil(past / perLeaf);
  }

  /**
   * Makes room in the data file for what a transaction making `writes` into the tree `tree` describes
   * can add, the trees it does not write counted whole (`otherPages` and the main and free trees);
   * or fails the store with the file system's error.
   */
  private reserve(tree: TreeStats, otherPages: number, writes: TransactionWrites, operation: string): void {
    const env = this.root.getStats() as EnvStats;
    const others = otherPages + treePages(env.root) + treePages(env.free);
    const pages = growthPages(writes, tree, others);
    this.reserveBytes((env.lastPageNumber + 1 + pages) * this.pageBytes, operation);
  }

  /** Room for clearing trees of `pages` pages: the freed pages' numbers go into the free tree (8 bytes each). */
  private reserveForClear(pages: number, operation: string): void {
    const env = this.root.getStats() as EnvStats;
    const room = treePages(env.root) + treePages(env.free) + Math.ceil((8 * pages) / this.pageBytes) + 16;
    this.reserveBytes((env.lastPageNumber + 1 + room) * this.pageBytes, operation);
  }

  private reserveBytes(bytes: number, operation: string): void {
    try {
      this.growth.reserve(bytes);
    } catch (error) {
      throw this.fail(operation, error);
    }
  }

  private countSmallTrees(): void {
    this.smallTreePages =
      treePages(this.eager.getStats() as TreeStats) + treePages(this.cellHeads.getStats() as TreeStats);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Records the store's first failure, which every later call throws: after a failed transaction the
   * backend's view (what it evicted) and the store's differ, and lmdb-js is not to be driven further.
   */
  private fail(operation: string, error: unknown): LocalStateStoreError {
    if (this.failure !== undefined) return this.failure;
    this.failure = new LocalStateStoreError(this.path, operation, freeDetail(this.path), { cause: error });
    return this.failure;
  }

  heads(): Uint8Array[] {
    this.throwIfFailed();
    const out: Uint8Array[] = [];
    for (const { key, value } of this.cellHeads.getRange()) {
      const id = new DataView((key as Uint8Array).buffer, (key as Uint8Array).byteOffset, 4).getUint32(0);
      if (id !== out.length + 1)
        throw new StatePartCorruptError(`the local state store's cell heads skip from ${out.length} to ${id}`);
      out.push(new Uint8Array(value as Uint8Array));
    }
    return out;
  }

  writeEager(records: readonly { readonly key: Uint8Array; readonly value: Uint8Array }[]): void {
    if (records.length === 0) return;
    this.throwIfFailed();
    const others = treePages(this.records.getStats() as TreeStats) + treePages(this.cellHeads.getStats() as TreeStats);
    this.reserve(
      this.eager.getStats() as TreeStats,
      others,
      tallyWrites(records, this.pageBytes),
      'write the records of keys with timers',
    );
    try {
      this.root.transactionSync(() => {
        for (const r of records) this.eager.putSync(r.key, r.value);
      });
    } catch (error) {
      throw this.fail('write the records of keys with timers', error);
    }
    this.countSmallTrees();
  }

  takeEager(): { key: Uint8Array; value: Uint8Array }[] {
    this.throwIfFailed();
    const out: { key: Uint8Array; value: Uint8Array }[] = [];
    for (const { key, value } of this.eager.getRange())
      out.push({ key: key as Uint8Array, value: value as Uint8Array });
    if (out.length === 0) return out;
    this.reserveForClear(treePages(this.eager.getStats() as TreeStats), 'clear the records of keys with timers');
    try {
      this.eager.clearSync();
    } catch (error) {
      throw this.fail('clear the records of keys with timers', error);
    }
    this.countSmallTrees();
    return out;
  }

  keys(): Iterable<Uint8Array> {
    this.throwIfFailed();
    return this.records.getKeys() as Iterable<Uint8Array>;
  }

  get size(): number {
    this.throwIfFailed();
    return (this.records.getStats() as { entryCount: number }).entryCount;
  }

  /** LMDB's statistics of the records table (page size, depth, page counts, entries), for diagnostics. */
  stats(): Record<string, unknown> {
    return this.records.getStats() as Record<string, unknown>;
  }

  clear(): void {
    this.throwIfFailed();
    rmSync(join(this.path, MARKER), { force: true });
    this.reserveForClear(treePages(this.records.getStats() as TreeStats) + this.smallTreePages, 'clear');
    try {
      this.records.clearSync();
      this.eager.clearSync();
      this.cellHeads.clearSync();
    } catch (error) {
      throw this.fail('clear', error);
    }
    this.countSmallTrees();
  }

  close(): Promise<void> {
    this.closed ??= this.root.close();
    return this.closed;
  }
}

/** Free bytes a store needs to open: LMDB's lock file and first pages (40 KiB), with room to spare. */
const OPEN_FREE_BYTES = 256 * 1024;

function openEnvironment(path: string) {
  const root = lmdb().open<Uint8Array, Uint8Array>({
    path,
    encoding: 'binary',
    keyEncoding: 'binary',
    compression: false,
    noSync: true,
    noMetaSync: true,
    // Not the write map: it leaves every written page in this process's mapping, counted in its
    // RSS, where pwrite-ed pages stay out of it until read (docs/performance.md, keysPerGiB).
    useWritemap: false,
    // Address space, not memory: a map this size is never grown, and lmdb-js keeps every
    // outgrown map mapped (with its resident pages) until close. Past it, it grows as before.
    mapSize: MAP_BYTES,
    maxDbs: 4,
  });
  const binary = { encoding: 'binary', keyEncoding: 'binary', compression: false } as const;
  return {
    root,
    records: root.openDB<Uint8Array, Uint8Array>('records', binary),
    eager: root.openDB<Uint8Array, Uint8Array>('eager', binary),
    cellHeads: root.openDB<Uint8Array, Uint8Array>('heads', binary),
  };
}

/** The free space for an error message: " (N KiB free on its file system)", or nothing. */
function freeDetail(path: string): string {
  const free = freeBytes(path);
  return free === undefined ? '' : ` (${Math.floor(free / 1024)} KiB free on its file system)`;
}

/**
 * A batch split into parts of disjoint key ranges, each committed as one transaction: the whole
 * batch when it changes at most TRANSACTION_PAGES leaves (`leaves`, the leaf pages it can change,
 * within that, or a batch of fewer writes: each changes one leaf at most); else about min(leaves,
 * batch) / TRANSACTION_PAGES parts. A part's keys lie between two splitters (keys of an evenly
 * spaced sample, sorted), so it changes only the leaves of its range: the parts together change the
 * leaves the whole batch would in one transaction, where parts of writes taken in batch order would
 * each change about one leaf per write when the keys are spread. Each part keeps the batch's order
 * (writes to one key fall in the same part, in order).
 */
export function keyRangeParts(batch: readonly LocalStoreWrite[], leaves: number): (readonly LocalStoreWrite[])[] {
  const count = Math.ceil(Math.min(leaves, batch.length) / TRANSACTION_PAGES);
  if (count <= 1) return [batch];
  const size = count * SAMPLES_PER_PART;
  const sample: Uint8Array[] = [];
  for (let i = 0; i < size; i++) sample.push(batch[Math.floor(((i + 0.5) * batch.length) / size)]!.key);
  sample.sort(compareBytes);
  const splitters: Uint8Array[] = [];
  for (let j = 1; j < count; j++) splitters.push(sample[j * SAMPLES_PER_PART]!);
  const parts: LocalStoreWrite[][] = Array.from({ length: count }, () => []);
  for (const w of batch) {
    // The first splitter above the key: its part holds the keys below it.
    let low = 0;
    let high = splitters.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareBytes(w.key, splitters[middle]!) < 0) high = middle;
      else low = middle + 1;
    }
    parts[low]!.push(w);
  }
  return parts;
}

/**
 * LMDB's default key order: bytewise, a prefix first. Not Buffer.compare: its call into C++ costs
 * more than the comparison of short keys (a batch's split took 3-4x as long).
 */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** lmdb-js's statistics of the records table, the parts read here. */
interface RecordsStats extends TreeStats {
  readonly entryCount: number;
}

/** lmdb-js's environment statistics (getStats() of the root database), the parts read here. */
interface EnvStats {
  readonly pageSize: number;
  readonly lastPageNumber: number;
  readonly root: TreeStats;
  readonly free: TreeStats;
}

/** The cell heads as writes, for tallying (every head's key is 4 bytes). */
function headWrites(heads: readonly Uint8Array[]): LocalStoreWrite[] {
  const key = new Uint8Array(4);
  return heads.map((value) => ({ key, value }));
}

function headId(id: number): Uint8Array {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, id);
  return key;
}

/** fsync of a directory, so a rename or unlink in it survives a host crash. */
function syncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
