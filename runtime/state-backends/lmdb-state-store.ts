import { mkdirSync, rmSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { LocalStateStore, LocalStoreWrite } from '../../src/state/index.ts';

const EMPTY = new Uint8Array(0);

/**
 * A LocalStateStore in an LMDB environment (lmdb-js): reads are synchronous memory-mapped lookups
 * on the calling thread, which state reads need (`ValueState.read()` returns the value); writes come
 * in synchronous batches (one transaction per eviction batch). The environment is a working copy:
 * no fsync (a crash may lose it, and the next run starts from the checkpoint anyway) and it is
 * removed when opened, so nothing from an earlier run is ever read as current.
 */
export class LmdbStateStore implements LocalStateStore {
  private readonly root: RootDatabase<Uint8Array, Uint8Array>;
  private readonly records: Database<Uint8Array, Uint8Array>;
  private readonly changed: Database<Uint8Array, Uint8Array>;
  private closed: Promise<void> | undefined = undefined;

  private constructor(readonly path: string) {
    this.root = open<Uint8Array, Uint8Array>({
      path,
      encoding: 'binary',
      keyEncoding: 'binary',
      compression: false,
      noSync: true,
      noMetaSync: true,
      maxDbs: 4,
    });
    this.records = this.root.openDB<Uint8Array, Uint8Array>('records', {
      encoding: 'binary',
      keyEncoding: 'binary',
      compression: false,
    });
    this.changed = this.root.openDB<Uint8Array, Uint8Array>('changed', {
      encoding: 'binary',
      keyEncoding: 'binary',
      compression: false,
    });
  }

  /** Opens a fresh (empty) store in `path`, removing whatever was there. */
  static openFresh(path: string): LmdbStateStore {
    rmSync(path, { recursive: true, force: true });
    // State is the user's data: private directories, as the rest of --state-dir (LMDB's files inside
    // follow the umask, but nobody else can reach them).
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return new LmdbStateStore(path);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.records.getBinary(key);
  }

  write(batch: readonly LocalStoreWrite[]): void {
    this.root.transactionSync(() => {
      for (const w of batch) {
        if (w.value === undefined) this.records.removeSync(w.key);
        else this.records.putSync(w.key, w.value);
        if (w.changed) this.changed.putSync(w.key, EMPTY);
      }
    });
  }

  isChanged(key: Uint8Array): boolean {
    return this.changed.doesExist(key);
  }

  takeAllChanged(): Uint8Array[] {
    const keys = [...this.changed.getKeys()] as Uint8Array[];
    if (keys.length > 0) this.changed.clearSync();
    return keys;
  }

  markChanged(keys: readonly Uint8Array[]): void {
    this.root.transactionSync(() => {
      for (const key of keys) this.changed.putSync(key, EMPTY);
    });
  }

  keys(): Iterable<Uint8Array> {
    return this.records.getKeys() as Iterable<Uint8Array>;
  }

  get size(): number {
    return (this.records.getStats() as { entryCount: number }).entryCount;
  }

  clear(): void {
    this.records.clearSync();
    this.changed.clearSync();
  }

  close(): Promise<void> {
    this.closed ??= this.root.close();
    return this.closed;
  }
}
