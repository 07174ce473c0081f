// The disk backend (issue 18) against the heap backend: Zipf-skewed throughput with
// a cache holding a tenth of the keys, keys held per GiB of RSS, and a restart to the first output
// (restore-disk-ready.ts).
// Key counts: state.disk.zipfRatioToHeap and restore.disk.readyMs run on the 10M keys,
// state.disk.keysPerGiB on its goal's 20M (STATOR_BENCH_DISK_KEYS sets every count; each note says
// how many).
import { fileURLToPath } from 'node:url';
import { runChildJson } from '../lib/child.ts';
import { median } from '../lib/measure.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';
import { measureRestoreReady } from './restore-disk-ready.ts';
import type { ZipfResult } from './state-disk-zipf.ts';

const probePath = fileURLToPath(new URL('./state-disk-probe.ts', import.meta.url));
const zipfPath = fileURLToPath(new URL('./state-disk-zipf.ts', import.meta.url));

function keyCount(ctx: BenchContext, full: number, quick: number): number {
  const fromEnv = Number(process.env.STATOR_BENCH_DISK_KEYS);
  if (Number.isSafeInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return ctx.quick ? quick : full;
}

export const stateDiskZipfRatioToHeap: Metric = {
  name: 'state.disk.zipfRatioToHeap',
  description:
    'ValueState read + write per turn on Zipf(1.1) keys: disk backend caching 10% of the keys vs the heap backend holding all',
  goal: { field: 'ratio', op: '>=', target: 0.5 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    // The workload: 10M keys, a budget for a tenth of them.
    const n = keyCount(ctx, 10_000_000, 200_000);
    const ops = ctx.quick ? 200_000 : 1_000_000;
    const repetitions = ctx.quick ? 3 : 7;
    // A child process with the suite's own Node flags: both backends' keys (gigabytes at 10M) are
    // garbage once it ends, not in the heap the next metrics measure pauses in.
    const r = await runChildJson<ZipfResult>(zipfPath, [String(n), String(ops), String(repetitions)], ctx.signal, [
      ...process.execArgv.filter((flag) => flag.startsWith('--max-semi-space-size')),
    ]);
    ctx.progress(1);
    return {
      value: r.ours,
      unit: 'ops/s',
      baseline: r.baseline,
      ratio: r.ratio,
      note:
        `${n} keys (Zipf s=1.1, ranks scattered), ${ops} read+write turns per repetition (a fresh draw each), median of ${repetitions}, in a child process; disk budget ` +
        `${(r.memoryBytes / 2 ** 20).toFixed(1)} MiB (${r.cacheKeyLimit} keys, ${((100 * r.cacheKeyLimit) / n).toFixed(1)} %, by the backend's estimate of ${r.cachedKeyBytes} B each), ${r.stored} keys in its store at the end; paired ratio ${r.pairedRatio.toFixed(2)}`,
      details: {
        keys: n,
        cacheKeyLimit: r.cacheKeyLimit,
        pairedRatio: r.pairedRatio,
        oursSamples: r.oursSamples,
        baselineSamples: r.baselineSamples,
      },
    };
  },
};

interface KeysProbe {
  readonly keys: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly stored: number;
  /** RSS split (/proc/self/status): anonymous memory and file-backed pages (LMDB's map, Node's binary). */
  readonly rssAnon: number;
  readonly rssFile: number;
  /** V8 heap committed (physical). */
  readonly heapCommitted: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Size of the store's data file, and its LMDB leaf pages. */
  readonly storeFile: number;
  readonly storeStats?: { readonly treeLeafPageCount: number; readonly pageSize: number };
  /** CPU of the fill (user + system, all threads) and its wall time, ms. */
  readonly cpuMs: number;
  readonly wallMs: number;
}

/** The probe's memory readings as details fields named `${side}Rss`, `${side}RssAnon`... */
function breakdown(side: string, p: KeysProbe): Record<string, number> {
  const fields: Record<string, number> = {
    Rss: p.rss,
    RssAnon: p.rssAnon,
    RssFile: p.rssFile,
    HeapUsed: p.heapUsed,
    HeapCommitted: p.heapCommitted,
    External: p.external,
    ArrayBuffers: p.arrayBuffers,
    StoreFile: p.storeFile,
    StoreLeafPages: p.storeStats?.treeLeafPageCount ?? 0,
    CpuMs: p.cpuMs,
    WallMs: p.wallMs,
  };
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [side + k, v]));
}

export const stateDiskKeysPerGiB: Metric = {
  name: 'state.disk.keysPerGiB',
  description:
    'ValueState<number> keys held per GiB of process RSS (full RSS, file-backed pages included), keys written in a shuffled order: disk backend (64 MiB budget) vs heap backend, each in a fresh child process; the same keys numbered in order beside it',
  goal: { field: 'value', op: '>=', target: 20_000_000 },
  // Three children of 20M keys: the two disk ones took 471 and 214 s of CPU (1,654 and 1,273 s at a
  // load of 3-15) when measured by hand, past the suite's 600 s.
  fullTimeLimitMs: 40 * 60_000,
  async run(ctx: BenchContext): Promise<MetricResult> {
    // The goal's count: at 2M keys Node's own ~150 MiB weighs so much that no store could show 20M
    // keys per GiB.
    const n = keyCount(ctx, 20_000_000, 300_000);
    const budget = 64 * 2 ** 20;
    // The value: keys in a scattered order, as a wordcount's words or any keys that are not ids made
    // in order arrive. They fill the store's B-tree pages to about 70 % (LMDB splits a page mid-way
    // when a key goes inside it); numbered keys made in order go last in it (full pages), the best
    // case, reported beside it.
    const shuffled = await runChildJson<KeysProbe>(
      probePath,
      ['keys', 'disk', String(n), String(budget), 'shuffled'],
      ctx.signal,
    );
    ctx.progress(0.4);
    const numbered = await runChildJson<KeysProbe>(probePath, ['keys', 'disk', String(n), String(budget)], ctx.signal);
    ctx.progress(0.7);
    const heap = await runChildJson<KeysProbe>(probePath, ['keys', 'heap', String(n), '0', 'shuffled'], ctx.signal);
    ctx.progress(1);
    const perGiB = (p: KeysProbe): number => p.keys / (p.rss / 2 ** 30);
    const side = (p: KeysProbe): string =>
      `${mib(p.rss)} MiB (anonymous ${mib(p.rssAnon)}, file-backed ${mib(p.rssFile)}: the store's mapped pages and Node's binary; ` +
      `heap used ${mib(p.heapUsed)} of ${mib(p.heapCommitted)} MiB committed; ${p.stored} keys in a ${mib(p.storeFile)} MiB store, ` +
      `${p.storeStats?.treeLeafPageCount ?? 0} leaf pages)`;
    return {
      value: perGiB(shuffled),
      unit: 'keys/GiB',
      baseline: perGiB(heap),
      ratio: perGiB(shuffled) / perGiB(heap),
      note:
        `${n} keys in a shuffled order written in turns with a capture every 100k; RSS after gc: disk ${side(shuffled)}, ` +
        `heap ${mib(heap.rss)} MiB (anonymous ${mib(heap.rssAnon)}, heap used ${mib(heap.heapUsed)} of ${mib(heap.heapCommitted)} MiB); ` +
        `the same keys numbered in order: disk ${perGiB(numbered).toFixed(0)} keys/GiB, ${side(numbered)}`,
      details: {
        keys: n,
        diskNumberedKeysPerGiB: perGiB(numbered),
        ...breakdown('diskShuffled', shuffled),
        ...breakdown('diskNumbered', numbered),
        ...breakdown('heap', heap),
      },
    };
  },
};

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}

export const restoreDiskReadyMs: Metric = {
  name: 'restore.disk.readyMs',
  description:
    "stator run (the compiled package's bin) restarted on a large wordcount state, process start to the first new output: disk backend (warm local copy) vs heap backend",
  goal: { field: 'ratio', op: '<=', target: 0.1 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const n = keyCount(ctx, 10_000_000, 100_000);
    const repetitions = 3;
    const r = await measureRestoreReady(n, repetitions, ctx.signal, ctx.progress);
    const disk = median(r.disk.map((s) => s.firstOutputMs));
    const heap = median(r.heap.map((s) => s.firstOutputMs));
    const diskIn = median(r.disk.map((s) => s.inProcessMs));
    const heapIn = median(r.heap.map((s) => s.inProcessMs));
    if (!r.disk.every((s) => s.warm)) throw new Error('a disk restart did not reuse its warm local copy');
    return {
      value: disk,
      unit: 'ms',
      baseline: heap,
      ratio: disk / heap,
      note:
        `${n} keys (wordcount; checkpoint parts ${(r.checkpointBytes / 2 ** 20).toFixed(0)} MiB, built in ${(r.buildMs / 1000).toFixed(0)} s by the job's task runners and the runtime's checkpoint code, ` +
        `disk side warmed by one cold restart in ${(r.warmMs / 1000).toFixed(0)} s), the compiled package's bin (tsc ${(r.compileMs / 1000).toFixed(0)} s) ` +
        `on a job importing 'stator', median of ${repetitions} alternating restarts, each with one more line; from the run's own "running job" log line ` +
        `(without Node and module loading): disk ${diskIn.toFixed(0)} ms vs heap ${heapIn.toFixed(0)} ms, ratio ${(diskIn / heapIn).toFixed(3)}`,
      details: {
        keys: n,
        checkpointBytes: r.checkpointBytes,
        compileMs: Math.round(r.compileMs),
        buildMs: Math.round(r.buildMs),
        buildProcessMs: Math.round(r.buildProcessMs),
        buildCheckpointMs: Math.round(r.buildCheckpointMs),
        warmMs: Math.round(r.warmMs),
        diskSamples: r.disk.map((s) => Math.round(s.firstOutputMs)),
        heapSamples: r.heap.map((s) => Math.round(s.firstOutputMs)),
        diskInProcessSamples: r.disk.map((s) => Math.round(s.inProcessMs)),
        heapInProcessSamples: r.heap.map((s) => Math.round(s.inProcessMs)),
        inProcessRatio: diskIn / heapIn,
      },
    };
  },
};
