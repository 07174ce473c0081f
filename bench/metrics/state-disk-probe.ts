// Child process of state.disk.keysPerGiB:
//   node --expose-gc --import tsx bench/metrics/state-disk-probe.ts keys <heap|disk> <keys> <memoryBytes> [order]
// order: `numbered` (default: key-0, key-1... in turn) or `shuffled` (the same keys in a scattered
// order, as keys that are not ids made in order arrive).
// Prints one JSON line. A fresh process, so its RSS is this workload's and nothing else's. RSS is
// read whole and split (/proc/self/status: anonymous, file-backed), with V8's committed heap and the
// store's file and pages, and the fill's CPU (user + system, ms) and wall time; STATOR_PROBE_SMAPS=1
// adds resident bytes per mapping.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
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
let key = (i: number): string => `key-${i}`;

/**
 * A permutation of [0, n) that scatters neighbours (rounds of multiply-add and xorshift on the
 * smallest power of two holding n, each a bijection; values past n walk on), in O(1) memory: a
 * shuffled array of 20M indexes would itself weigh 80 MiB of the RSS measured.
 */
function scatter(n: number): (i: number) => number {
  const bits = Math.max(2, Math.ceil(Math.log2(n)));
  if (bits > 31) throw new Error('state-disk-probe: shuffled order takes at most 2^31 keys');
  const mask = 2 ** bits - 1;
  const shift = bits >>> 1;
  const mix = (x: number): number => {
    for (let round = 0; round < 3; round++) {
      x = (Math.imul(x, 0x9e3779b1) + 0x7f4a7c15) & mask;
      x ^= x >>> shift;
    }
    return x;
  };
  return (i) => {
    let x = mix(i);
    while (x >= n) x = mix(x);
    return x;
  };
}

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

/**
 * Resolves once the anonymous RSS has not fallen for 200 ms (10 ms steps, at most 5 s): a GC hands
 * the pages it freed to V8's background threads and the event loop's tasks, which return them to
 * the system tens of milliseconds later (at 20M keys 50-140 MiB of anonymous RSS read right after
 * the gc calls was gone 50 ms later). RSS read before that counts memory the process has freed.
 */
async function settled(): Promise<void> {
  const until = performance.now() + 5_000;
  let low = procStatus().RssAnon ?? 0;
  let since = performance.now();
  while (performance.now() < until && performance.now() - since < 200) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const anon = procStatus().RssAnon ?? 0;
    if (anon < low) {
      low = anon;
      since = performance.now();
    }
  }
}

/** The kB fields of /proc/self/status, in bytes (Linux). */
function procStatus(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

/**
 * Resident bytes per mapping name (anonymous memory together; each LMDB map apart, with its
 * address range: lmdb-js keeps outgrown maps), above 1 MiB. With STATOR_PROBE_SMAPS=1.
 */
function smaps(): Record<string, number> {
  const out: Record<string, number> = {};
  let name = '';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = head[1] || '[anon]';
      if (name.endsWith('.mdb')) name = `${name} ${line.split(' ')[0]}`;
      continue;
    }
    const m = /^Rss:\s+(\d+) kB$/.exec(line);
    if (m) out[name] = (out[name] ?? 0) + Number(m[1]) * 1024;
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v > 1 << 20));
}

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'keys') {
    const [kind, keysArg, memoryArg, order = 'numbered'] = args;
    const n = Number(keysArg);
    if (order === 'shuffled') {
      const at = scatter(n);
      key = (i) => `key-${at(i)}`;
    } else if (order !== 'numbered') throw new Error(`state-disk-probe: unknown key order ${order}`);
    gc!();
    const rssBefore = process.memoryUsage().rss;
    // All threads' CPU: a store may write or compact on threads of its own.
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const { b, store } = backend(kind!, Number(memoryArg), 'keys');
    fill(b, n);
    gc!();
    gc!();
    const cpu = process.cpuUsage(cpuBefore);
    const wallMs = performance.now() - start;
    await settled();
    const usage = process.memoryUsage();
    const status = procStatus();
    const heapStats = getHeapStatistics();
    // Every key is still there: read a sample back.
    const count = b.boundState(StateNamespaces.global(), tag);
    for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 1000))) {
      b.setCurrentKey(key(i));
      if (count.read() !== i) throw new Error(`key ${i} reads ${String(count.read())}`);
    }
    process.stdout.write(
      JSON.stringify({
        keys: n,
        order,
        rss: usage.rss,
        rssBefore,
        heapUsed: usage.heapUsed,
        external: usage.external,
        stored: store?.size ?? 0,
        heapTotal: usage.heapTotal,
        arrayBuffers: usage.arrayBuffers,
        heapCommitted: heapStats.total_physical_size,
        rssAnon: status.RssAnon,
        rssFile: status.RssFile,
        rssShmem: status.RssShmem,
        cpuMs: (cpu.user + cpu.system) / 1000,
        wallMs,
        storeFile: store === undefined ? 0 : statSync(join(store.path, 'data.mdb')).size,
        smaps: process.env.STATOR_PROBE_SMAPS === '1' ? smaps() : undefined,
        storeStats: store === undefined ? undefined : store.stats(),
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
