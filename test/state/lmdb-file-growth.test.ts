// The room the LMDB local store makes before each transaction (runtime/state-backends/lmdb-file-growth.ts):
// the bound holds against real LMDB transactions, and on a full disk the store fails with the file
// system's own error before LMDB writes a page (lmdb-js's error path for a failed page write corrupts
// the C heap, so a run that reached it could abort later instead of exiting with the typed error).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import {
  growthPages,
  LmdbFileGrowth,
  tallyWrites,
  treePages,
  type TreeStats,
} from '../../runtime/state-backends/lmdb-file-growth.ts';
import { LmdbStateStore } from '../../runtime/state-backends/lmdb-state-store.ts';
import { LocalStateStoreError } from '../../src/state/index.ts';
import { mountSmallFilesystem, reportSkipped } from '../support/small-filesystem.ts';

const dir = mkdtempSync(join(tmpdir(), 'stator-lmdb-growth-'));
const opened: RootDatabase<Uint8Array, Uint8Array>[] = [];
test.after(async () => {
  await Promise.all(opened.map((root) => root.close()));
  rmSync(dir, { recursive: true, force: true });
});

interface Env {
  readonly root: RootDatabase<Uint8Array, Uint8Array>;
  readonly records: Database<Uint8Array, Uint8Array>;
}

function lastPage(env: Env): number {
  return (env.root.getStats() as { lastPageNumber: number }).lastPageNumber;
}

const write = fc.record({
  key: fc.integer({ min: 0, max: 5_000 }),
  keyBytes: fc.integer({ min: 2, max: 400 }),
  // Mostly small values, some past a leaf node's limit (overflow pages), some removes.
  value: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 300 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1_500, max: 12_000 }) },
    { weight: 2, arbitrary: fc.constant(-1) },
  ),
});

test('lmdb growth - no transaction adds more pages past the last one than growthPages bounds', () => {
  let run = 0;
  let closest = 0;
  fc.assert(
    fc.property(
      fc.array(fc.array(write, { minLength: 1, maxLength: 3_000, size: 'max' }), { minLength: 1, maxLength: 6 }),
      (batches) => {
        const root = open<Uint8Array, Uint8Array>({
          path: join(dir, `bound-${run++}`),
          encoding: 'binary',
          keyEncoding: 'binary',
          compression: false,
          noSync: true,
          maxDbs: 4,
        });
        opened.push(root);
        const env: Env = { root, records: root.openDB('records', { encoding: 'binary', keyEncoding: 'binary' }) };
        for (const batch of batches) {
          const writes = batch.map((w) => {
            const key = new Uint8Array(w.keyBytes);
            new DataView(key.buffer).setUint16(0, w.key % 65_536);
            return { key, value: w.value < 0 ? undefined : new Uint8Array(w.value).fill(7) };
          });
          const stats = root.getStats() as { pageSize: number; root: TreeStats; free: TreeStats };
          const bound = growthPages(
            tallyWrites(writes, stats.pageSize),
            env.records.getStats() as TreeStats,
            treePages(stats.root) + treePages(stats.free),
          );
          const before = lastPage(env);
          root.transactionSync(() => {
            for (const w of writes) {
              if (w.value === undefined) env.records.removeSync(w.key);
              else env.records.putSync(w.key, w.value);
            }
          });
          const added = lastPage(env) - before;
          assert.ok(added <= bound, `${writes.length} writes added ${added} pages, bound ${bound}`);
          closest = Math.max(closest, added / bound);
        }
      },
    ),
    { numRuns: 60 },
  );
  // A bound far above every transaction would pass and prove nothing about the one that fills a disk.
  assert.ok(closest > 0.5, `the closest transaction added ${closest} of its bound`);
});

/**
 * Runs `use` on a fresh store in a tmpfs of `bytes`, then closes the store before unmounting (also
 * when an assertion fails: an open store keeps the mount busy); reports a skip where no tmpfs mounts.
 */
async function onSmallFilesystem(
  name: string,
  bytes: number,
  use: (store: LmdbStateStore, fs: { path: string; file: string }) => void,
): Promise<void> {
  const fs = mountSmallFilesystem(bytes);
  if (typeof fs === 'string') return reportSkipped(name, fs);
  const store = LmdbStateStore.openFresh(join(fs.path, 'store'));
  try {
    use(store, { path: fs.path, file: join(fs.path, 'store', 'data.mdb') });
  } finally {
    await store.close();
    fs.unmount();
  }
}

test('lmdb growth - with room to spare LMDB grows the file itself; with less than 256 MiB beyond the bound the zeros are written', () =>
  // 512 MiB (a tmpfs uses memory only for what is written): the margin's two sides on one file system.
  onSmallFilesystem('lmdb growth - the margin', 512 * 1024 * 1024, (_store, fs) => {
    const growth = new LmdbFileGrowth(fs.file);
    const start = statSync(fs.file).size;
    growth.reserve(start + 10_000);
    assert.is(statSync(fs.file).size, start, 'no zeros written with 512 MiB free');
    // 300 MiB taken by another writer: 212 MiB free, under the margin.
    writeFileSync(join(fs.path, 'filler'), new Uint8Array(300 * 1024 * 1024));
    growth.reserve(start + 10_000);
    assert.ok(statSync(fs.file).size >= start + 10_000, 'the file reaches the reserve');
    assert.ok(statSync(fs.file).blocks * 512 >= start + 10_000, 'the zeros are written, not a hole');
  }));

test('lmdb growth - near a full disk reserve writes the zeros, and LMDB goes on past them', () =>
  onSmallFilesystem('lmdb growth - reserve near a full disk', 2 * 1024 * 1024, (store, fs) => {
    const growth = new LmdbFileGrowth(fs.file);
    const start = statSync(fs.file).size;
    growth.reserve(start + 10_000);
    const grown = statSync(fs.file).size;
    assert.ok(grown >= start + 10_000, `${grown} bytes after reserving ${start + 10_000}`);
    assert.ok(statSync(fs.file).blocks * 512 >= start + 10_000, 'the zeros are written, not a hole');
    growth.reserve(start + 20_000);
    assert.is(statSync(fs.file).size, grown, 'within the extra room nothing is written');
    // LMDB still reads and writes the file it now ends past its last page.
    store.write([{ key: new Uint8Array([1]), value: new Uint8Array([2]) }]);
    assert.equal([...(store.get(new Uint8Array([1])) ?? [])], [2]);
  }));

test('lmdb growth - a full disk fails the store with the file system error before LMDB writes, and every later call with it', () =>
  onSmallFilesystem('lmdb growth - full disk', 512 * 1024, (store) => {
    let failure: unknown;
    let key = 0;
    try {
      for (;;) {
        const batch = Array.from({ length: 500 }, () => {
          const k = new Uint8Array(8);
          new DataView(k.buffer).setFloat64(0, key++);
          return { key: k, value: new Uint8Array(40).fill(key % 251) };
        });
        store.write(batch);
      }
    } catch (error) {
      failure = error;
    }
    assert.instance(failure, LocalStateStoreError);
    const cause = (failure as Error).cause as NodeJS.ErrnoException;
    assert.is(cause.code, 'ENOSPC', `the store failed with ${String(cause)}, not with its own ENOSPC`);
    assert.match((failure as Error).message, /failed to write state: ENOSPC/);
    assert.ok(key > 1_000, `${key} keys written before the disk was full`);
    assert.throws(
      () => store.get(new Uint8Array(8)),
      (e: unknown) => e === failure,
    );
  }));

test.run();
