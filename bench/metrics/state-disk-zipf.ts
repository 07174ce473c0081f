// Child process of state.disk.zipfRatioToHeap (state-disk.ts), so that both backends' keys (gigabytes
// at the 10M) leave with it instead of staying in the suite's heap:
//   node [--max-semi-space-size=64] --import tsx bench/metrics/state-disk-zipf.ts <keys> <ops> <repetitions>
// A ValueState read + write per turn on Zipf(1.1) keys, the disk backend caching 10 % of the keys
// against the heap backend holding all, interleaved in this one process. Prints one JSON line.
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
import { interleave, type Interleaved } from '../lib/measure.ts';
import { lcg, stringKeys } from '../lib/workload.ts';

/** What this prints: the interleaved throughputs (disk is `ours`), the disk side's budget and store. */
export interface ZipfResult extends Interleaved {
  readonly memoryBytes: number;
  readonly cacheKeyLimit: number;
  readonly cachedKeyBytes: number;
  readonly stored: number;
}

/**
 * Heap a cached ValueState<number> key of the Zipf workload costs by the disk backend's own estimate
 * (HeapCacheBudget: its entry and twice its record): the budget then holds 10 % of the keys, which
 * the metric checks after its fill.
 */
const CACHED_KEY_BYTES = 290;

/**
 * Draws of `ops` key indexes from a Zipf distribution with exponent `s` over `n` keys (inverse CDF),
 * a fresh one per seed.
 */
function zipfDraws(n: number, s: number): (ops: number, seed: number) => Uint32Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s);
  // Ranks are scattered over the key space, so hot keys are not the first ones written.
  const scatter = (rank: number): number => Number((BigInt(rank) * 2654435761n) % BigInt(n));
  return (ops, seed) => {
    const next = lcg(seed);
    const order = new Uint32Array(ops);
    for (let k = 0; k < ops; k++) {
      const u = (next() / 2 ** 32) * sum;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cdf[mid]! < u) lo = mid + 1;
        else hi = mid;
      }
      order[k] = scatter(lo);
    }
    return order;
  };
}

async function main(): Promise<void> {
  const [n, ops, repetitions] = process.argv.slice(2).map(Number) as [number, number, number];
  if (![n, ops, repetitions].every((x) => Number.isSafeInteger(x) && x > 0))
    throw new Error('state-disk-zipf: pass <keys> <ops> <repetitions>, positive integers');
  const warmup = 1;
  const keys = stringKeys(n);
  // A fresh draw for each repetition (both sides run the same one): a replayed sequence would let
  // a cache policy learn its period, which no real stream of keys has.
  const draw = zipfDraws(n, 1.1);
  const orders = Array.from({ length: warmup + repetitions }, (_, i) => draw(ops, 7 + i));
  const dir = mkdtempSync(join(tmpdir(), 'stator-bench-disk-'));
  const store = LmdbStateStore.openFresh(join(dir, 'lmdb'));
  const memoryBytes = Math.ceil(n / 10) * CACHED_KEY_BYTES;
  try {
    const heap = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
    const disk = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), tier: { store, memoryBytes } });
    const tag = StateTags.value('count', VarLongCoder.of());
    const side = (b: HeapKeyedStateBackend<string>) => {
      const count = b.boundState(StateNamespaces.global(), tag);
      let runs = 0;
      return {
        b,
        fill(): void {
          for (let i = 0; i < n; i++) {
            b.beginTurn();
            b.setCurrentKey(keys[i]!);
            count.write(0);
            b.commitTurn();
            if (i % 100_000 === 99_999) void b.captureChanges().changedKeys;
          }
          void b.captureChanges().changedKeys;
        },
        run(): number {
          const order = orders[runs++ % orders.length]!;
          for (let i = 0; i < ops; i++) {
            b.beginTurn();
            b.setCurrentKey(keys[order[i]!]!);
            count.write(((count.read() as number | null) ?? 0) + 1);
            b.commitTurn();
          }
          return ops;
        },
      };
    };
    const h = side(heap);
    const d = side(disk);
    h.fill();
    d.fill();
    const cache = disk.cache!;
    if (Math.abs(cache.keyLimit / n - 0.1) > 0.005)
      throw new Error(
        `the disk budget holds ${cache.keyLimit} of ${n} keys, not 10 %: the backend's estimate of a cached key's heap is no longer CACHED_KEY_BYTES (${CACHED_KEY_BYTES} B)`,
      );
    const result = await interleave(
      { run: d.run },
      { run: h.run },
      {
        repetitions,
        warmup,
        // A checkpoint capture between repetitions, untimed, as the runtime takes them.
        onRepetition: () => {
          void heap.captureChanges().changedKeys;
          void disk.captureChanges().changedKeys;
        },
      },
    );
    const probe = keys[orders[0]![0]!]!;
    for (const b of [heap, disk]) b.setCurrentKey(probe);
    const hv = heap.boundState(StateNamespaces.global(), tag).read();
    const dv = disk.boundState(StateNamespaces.global(), tag).read();
    if (hv !== dv) throw new Error(`heap and disk disagree on ${probe}: ${String(hv)} vs ${String(dv)}`);
    const out: ZipfResult = {
      ...result,
      memoryBytes,
      cacheKeyLimit: cache.keyLimit,
      cachedKeyBytes: CACHED_KEY_BYTES,
      stored: store.size,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
