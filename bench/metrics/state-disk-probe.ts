// Child process of state.disk.keysPerGiB:
//   node --expose-gc --import tsx bench/metrics/state-disk-probe.ts keys <heap|disk> <keys> <memoryBytes>
// Prints one JSON line. A fresh process, so its RSS is this workload's and nothing else's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { LmdbStateStore } from '../../runtime/state-backends/lmdb-state-store.ts';
import {
  createKeyedStateBackend,
  StateNamespaces,
  StateTags,
  type HeapKeyedStateBackend,
} from '../../src/state/index.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('state-disk-probe: run with node --expose-gc');
const dir = mkdtempSync(join(tmpdir(), 'stator-disk-probe-'));
const tag = StateTags.value('count', VarLongCoder.of());
const key = (i: number): string => `key-${i}`;

function backend(
  kind: string,
  memoryBytes: number,
  storeName: string,
): { b: HeapKeyedStateBackend<string>; store: LmdbStateStore | undefined } {
  if (kind === 'heap') return { b: createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() }), store: undefined };
  const store = LmdbStateStore.openFresh(join(dir, storeName));
  return { b: createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), tier: { store, memoryBytes } }), store };
}

/** Writes `n` keys in turns, as a task does, with a checkpoint capture every 100k keys (dropped). */
function fill(b: HeapKeyedStateBackend<string>, n: number): void {
  const count = b.boundState(StateNamespaces.global(), tag);
  for (let i = 0; i < n; i++) {
    b.beginTurn();
    b.setCurrentKey(key(i));
    count.write(i);
    b.commitTurn();
    if ((i + 1) % 100_000 === 0 || i === n - 1) {
      const captured = b.captureChanges();
      for (const kg of captured.keyGroups) captured.encodeKeyGroup(kg);
    }
  }
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'keys') {
    const [kind, keysArg, memoryArg] = args;
    const n = Number(keysArg);
    gc!();
    const rssBefore = process.memoryUsage().rss;
    const { b, store } = backend(kind!, Number(memoryArg), 'keys');
    fill(b, n);
    gc!();
    gc!();
    const usage = process.memoryUsage();
    // Every key is still there: read a sample back.
    const count = b.boundState(StateNamespaces.global(), tag);
    for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 1000))) {
      b.setCurrentKey(key(i));
      if (count.read() !== i) throw new Error(`key ${i} reads ${String(count.read())}`);
    }
    process.stdout.write(
      JSON.stringify({
        keys: n,
        rss: usage.rss,
        rssBefore,
        heapUsed: usage.heapUsed,
        external: usage.external,
        stored: store?.size ?? 0,
      }) + '\n',
    );
    await store?.close();
  } else {
    throw new Error(`state-disk-probe: unknown mode ${mode}`);
  }
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
