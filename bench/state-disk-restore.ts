// A disk backend's cold restore and its stop-time write-back, in one process, against a real LMDB
// store (not part of `npm test`). Builds a wordcount-style state of `--keys` keys (w0..: a count
// each) with a heap backend, as two checkpoint parts per key group (a base of every key, then an
// increment that changes a tenth of them and clears a hundredth), hands every key group to a fresh
// disk backend (256 MiB cache, a fresh store), then, by `--mode`:
//   touch:     reads keys in a random order, as traffic spread over the key groups does, until every
//              key group was copied into the store: the first read's time and the time to the last copy;
//   writeback: reads nothing and writes the state back (what a stop does): its time.
// Each with the process's CPU (user + system). `--root` imports the state code from another checkout
// (to alternate a branch and main with one script). Prints one JSON line.
//
//   node --import tsx bench/state-disk-restore.ts [--keys 2000000] [--mode touch|writeback] [--root .]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '2000000' },
    mode: { type: 'string', default: 'touch' },
    root: { type: 'string', default: fileURLToPath(new URL('..', import.meta.url)) },
  },
});
const keys = Number(values.keys);
const mode = values.mode;
if (!Number.isSafeInteger(keys) || keys < 1000) throw new Error('--keys >= 1000, an integer');
if (mode !== 'touch' && mode !== 'writeback') throw new Error('--mode is touch or writeback');
const root = resolve(values.root);

const state = (await import(join(root, 'src/state/index.ts'))) as typeof import('../src/state/index.ts');
const coders = (await import(join(root, 'coders/index.ts'))) as typeof import('../coders/index.ts');
const { LmdbStateStore } = (await import(
  join(root, 'runtime/state-backends/lmdb-state-store.ts')
)) as typeof import('../runtime/state-backends/lmdb-state-store.ts');

const str = coders.StringUtf8Coder.of();
const g = state.StateNamespaces.global();
const tag = state.StateTags.value('count', coders.VarLongCoder.of());

function chains(): Map<number, Uint8Array[]> {
  const live = state.createKeyedStateBackend({ keyCoder: str });
  const v = live.boundState(g, tag);
  const out = new Map<number, Uint8Array[]>();
  const capture = (): void => {
    const captured = live.captureChanges();
    for (const kg of captured.keyGroups) out.set(kg, [...(out.get(kg) ?? []), captured.encodeKeyGroup(kg)]);
  };
  for (let i = 0; i < keys; i++) {
    live.setCurrentKey(`w${i}`);
    v.write(1);
  }
  capture();
  for (let i = 0; i < keys; i += 10) {
    live.setCurrentKey(`w${i}`);
    if (i % 100 === 0) v.clear();
    else v.write(2);
  }
  capture();
  return out;
}

/** The count key `w<i>` holds after the two checkpoints. */
const expected = (i: number): number | undefined => (i % 100 === 0 ? undefined : i % 10 === 0 ? 2 : 1);

const built = chains();
const dir = mkdtempSync(join(tmpdir(), 'stator-restore-probe-'));
const store = LmdbStateStore.openFresh(join(dir, 'local'));
const backend = state.createKeyedStateBackend({ keyCoder: str, tier: { store, memoryBytes: 256 * 2 ** 20 } });
for (const [kg, chain] of built) backend.restoreKeyGroup(kg, chain);
built.clear();
(globalThis as { gc?: () => void }).gc?.();

const load = loadavg()[0]!;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const cpuMs = (): number => {
  const c = process.cpuUsage(cpu0);
  return Math.round((c.user + c.system) / 1000);
};
let result: Record<string, unknown>;
if (mode === 'touch') {
  const v = backend.boundState(g, tag);
  let firstMs = 0;
  // Enough random keys to reach all 128 key groups (a group missed has odds below 1e-4).
  const reads = 2_000;
  for (let n = 0; n < reads; n++) {
    const i = Math.floor(Math.random() * keys);
    backend.beginTurn();
    backend.setCurrentKey(`w${i}`);
    const got = v.read();
    backend.commitTurn();
    if ((got === undefined || got === null ? undefined : Number(got)) !== expected(i))
      throw new Error(`w${i} read ${String(got)}, expected ${expected(i)}`);
    if (n === 0) firstMs = performance.now() - t0;
  }
  result = { firstReadMs: Math.round(firstMs), allCopiedMs: Math.round(performance.now() - t0), cpuMs: cpuMs() };
} else {
  if (!backend.writeBack()) throw new Error('writeBack refused');
  result = { writeBackMs: Math.round(performance.now() - t0), cpuMs: cpuMs() };
}
const stats = store.stats() as { entryCount: number; treeLeafPageCount: number };
await store.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    root,
    keys,
    mode,
    ...result,
    storeKeys: stats.entryCount,
    leafPages: stats.treeLeafPageCount,
    load,
  }),
);
