// A real LMDB local store for the tiered backend's tests: one per test process (opened on first use,
// cleared for each backend made), removed when the process exits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbStateStore } from '../../../runtime/state-backends/lmdb-state-store.ts';
import { createKeyedStateBackend, type HeapKeyedStateBackend } from '../../../src/state/index.ts';
import type { Coder } from '../../../coders/index.ts';

const stores: LmdbStateStore[] = [];
let dir: string | undefined;

/** The process's LMDB store number `slot` (one per backend alive at once), emptied. */
export function freshLocalStore(slot = 0): LmdbStateStore {
  if (dir === undefined) {
    const made = mkdtempSync(join(tmpdir(), 'stator-local-'));
    dir = made;
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  const store = (stores[slot] ??= LmdbStateStore.openFresh(join(dir, `lmdb-${slot}`)));
  store.clear();
  return store;
}

/**
 * A tiered backend whose heap cache holds one key (a budget below one key's estimate): every other
 * key is evicted to the store at the next turn or key switch, so every path through the store runs.
 */
export function tinyTieredBackend<K>(keyCoder: Coder<K>, slot = 0): HeapKeyedStateBackend<K> {
  return createKeyedStateBackend({ keyCoder, tier: { store: freshLocalStore(slot), memoryBytes: 1 } });
}

/**
 * A tiered backend over store `slot` as another backend's writeBack left it, reused as a warm copy
 * (not emptied), with the same one-key cache.
 */
export function warmTieredBackend<K>(keyCoder: Coder<K>, slot: number): HeapKeyedStateBackend<K> {
  const store = stores[slot];
  if (store === undefined) throw new Error(`no local store in slot ${slot}: make a tiered backend there first`);
  return createKeyedStateBackend({ keyCoder, tier: { store, memoryBytes: 1, reused: true } });
}

/** The backends every model test runs against. */
export const BACKENDS = ['heap', 'disk'] as const;
export type BackendKind = (typeof BACKENDS)[number];

/** A backend of `kind`; disk backends alive at once need distinct `slot`s. */
export function backendOf<K>(kind: BackendKind, keyCoder: Coder<K>, slot = 0): HeapKeyedStateBackend<K> {
  return kind === 'heap' ? createKeyedStateBackend({ keyCoder }) : tinyTieredBackend(keyCoder, slot);
}
