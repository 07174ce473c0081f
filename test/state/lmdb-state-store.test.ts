import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyRangeParts, LmdbStateStore, TRANSACTION_PAGES } from '../../runtime/state-backends/lmdb-state-store.ts';
import { storeKey, type LocalStoreWrite } from '../../src/state/local-state-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'stator-lmdb-store-'));
const stores: LmdbStateStore[] = [];
test.after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

const encoder = new TextEncoder();
const keyOf = (i: number): Uint8Array => storeKey(encoder.encode(`key-${i}`));
/** Index i of a permutation of [0, n) that scatters neighbours (n and the multiplier coprime). */
const scattered = (i: number, n: number): number => (i * 7_919) % n;

/** A value read back as a plain Uint8Array (lmdb-js returns Buffers), for deep equality. */
const bytes = (value: Uint8Array | undefined): Uint8Array | undefined =>
  value === undefined ? undefined : new Uint8Array(value);

function compare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

test('lmdb store - a batch goes in one part while it can change at most TRANSACTION_PAGES leaf pages', () => {
  const batch = Array.from({ length: 75_000 }, (_, i) => ({ key: keyOf(i), value: undefined }));
  assert.is(keyRangeParts(batch, 0).length, 1);
  assert.is(keyRangeParts(batch, TRANSACTION_PAGES).length, 1);
  assert.is(keyRangeParts(batch.slice(0, TRANSACTION_PAGES), 1_000_000).length, 1);
  assert.is(keyRangeParts([], 1_000_000).length, 1);
});

test('lmdb store - a larger batch is split into parts of disjoint key ranges, each in batch order', () => {
  const n = 75_000;
  const batch: LocalStoreWrite[] = Array.from({ length: n }, (_, i) => ({
    key: keyOf(scattered(i, n)),
    value: new Uint8Array([i & 0xff]),
  }));
  // A key written twice in one batch (put, then delete): both writes in one part, in order.
  batch.push({ key: keyOf(scattered(10, n)), value: undefined });
  for (const leaves of [20_000, 200_000]) {
    const parts = keyRangeParts(batch, leaves);
    // About min(leaves, writes) / TRANSACTION_PAGES parts, of about equal size (an evenly spaced sample's splitters).
    assert.is(parts.length, Math.ceil(Math.min(leaves, batch.length) / TRANSACTION_PAGES));
    assert.is(
      parts.reduce((sum, p) => sum + p.length, 0),
      batch.length,
    );
    for (const part of parts) assert.ok(part.length < (1.5 * batch.length) / parts.length, `part of ${part.length}`);
    for (let j = 1; j < parts.length; j++) {
      const below = parts[j - 1]!.reduce((max, w) => (compare(w.key, max) > 0 ? w.key : max), parts[j - 1]![0]!.key);
      const above = parts[j]!.reduce((min, w) => (compare(w.key, min) < 0 ? w.key : min), parts[j]![0]!.key);
      assert.ok(compare(below, above) < 0, `part ${j - 1} reaches into part ${j}`);
    }
    for (const part of parts) {
      const positions = part.map((w) => batch.indexOf(w));
      assert.ok(
        positions.every((p, i) => i === 0 || p > positions[i - 1]!),
        'a part keeps the batch order',
      );
    }
  }
});

test('lmdb store - a batch of keys past the last one (made in order) is one transaction, whatever the tree', () => {
  const store = LmdbStateStore.openFresh(join(dir, 'appends'));
  stores.push(store);
  const value = new Uint8Array(100).fill(7);
  const txn = (): number => (store.stats() as { lastTxnId: number }).lastTxnId;
  let next = 0;
  const writes = (n: number): LocalStoreWrite[] => Array.from({ length: n }, () => ({ key: keyOf(next++), value }));
  // A tree of many more leaves than a transaction changes, written in order.
  for (let round = 0; round < 10; round++) store.write(writes(24_000));
  const leaves = (store.stats() as { treeLeafPageCount: number }).treeLeafPageCount;
  assert.ok(leaves > 8 * TRANSACTION_PAGES, `the tree has ${leaves} leaf pages`);
  // Appends fill about 10,000 / 33 new pages: one transaction.
  let before = txn();
  store.write(writes(10_000));
  assert.is(txn(), before + 1);
  const now = (store.stats() as { treeLeafPageCount: number }).treeLeafPageCount;
  // Writes spread over the tree can change a page each: parts as before, all landing.
  const spread: LocalStoreWrite[] = Array.from({ length: 10_000 }, (_, i) => ({
    key: keyOf(scattered(i, next)),
    value: new Uint8Array([i & 0xff]),
  }));
  before = txn();
  store.write(spread);
  assert.is(txn() - before, Math.ceil(Math.min(now, 10_000) / TRANSACTION_PAGES));
  for (const w of spread.slice(0, 100)) assert.equal(bytes(store.get(w.key)), w.value);
  assert.is(store.size, next);
});

test('lmdb store - batches of spread keys into a large store keep its file near the tree, and every write lands', () => {
  const store = LmdbStateStore.openFresh(join(dir, 'spread'));
  stores.push(store);
  const n = 240_000;
  const value = (round: number, i: number): Uint8Array => new Uint8Array(100).fill((round + i) & 0xff);
  // Filled in key order (appends: full pages), then every key rewritten in batches of spread keys.
  const fill: LocalStoreWrite[] = [];
  for (let i = 0; i < n; i++) fill.push({ key: keyOf(i), value: value(0, i) });
  store.write(fill);
  const lastRound = new Uint8Array(n);
  const treeBefore = (store.stats() as { treeLeafPageCount: number }).treeLeafPageCount;
  assert.ok(treeBefore > 6_000, `the tree has ${treeBefore} leaf pages, well past one transaction's`);
  for (let round = 1; round <= 3; round++) {
    const batch: LocalStoreWrite[] = [];
    for (let i = 0; i < n; i += 3) {
      const k = scattered(i + round, n);
      batch.push({ key: keyOf(k), value: value(round, k) });
      lastRound[k] = round;
    }
    // A key put, deleted, then put again in one batch ends with its last write.
    batch.push({ key: keyOf(5), value: undefined }, { key: keyOf(5), value: value(9, 5) });
    batch.push({ key: keyOf(n + round), value: value(round, 0) }, { key: keyOf(n + round), value: undefined });
    store.write(batch);
  }
  const stats = store.stats() as { treeLeafPageCount: number; treeBranchPageCount: number; lastPageNumber: number };
  const tree = stats.treeLeafPageCount + stats.treeBranchPageCount;
  // Transactions that each change about the whole tree leave it three times in the file (the pages
  // one frees wait for the one after next); a tree's parts of TRANSACTION_PAGES leave about two parts more.
  assert.ok(
    stats.lastPageNumber < tree + 4 * TRANSACTION_PAGES,
    `file of ${stats.lastPageNumber} pages for a tree of ${tree}`,
  );
  assert.is(store.size, n);
  assert.equal(bytes(store.get(keyOf(5))), value(9, 5));
  for (let round = 1; round <= 3; round++) assert.is(store.get(keyOf(n + round)), undefined);
  for (let i = 0; i < n; i += 97)
    assert.equal(bytes(store.get(keyOf(i))), i === 5 ? value(9, 5) : value(lastRound[i]!, i), `key ${i}`);
});

test.run();
