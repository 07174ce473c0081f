// Checkpoint numbers at 1M keys (prints, not a test): `node --import tsx bench/checkpoint.ts [keys]`.
//  1. capture pause on the processing loop with 1% of keys changed (p99 ms; goal <= 20)
//  2. incremental bytes / full bytes at 1% changed (goal <= 0.05)
//  3. restoring the state until ready to process (read + verify + hand to the backend: timers and
//     holds decoded, other keys left for their first use) vs reading the same files raw from the
//     same store (goal <= 2x); and, reported next to it, the time to materialize every key
// Plus, for context: the time the processing loop is blocked during the background write (longest
// single event-loop stall), and full checkpoint write time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { StringUtf8Coder, VarLongCoder } from '../coders/index.ts';
import { createKeyedStateBackend, mergeKeyGroupParts, StateNamespaces, StateTags } from '../src/state/index.ts';
import { createCheckpoints } from '../src/checkpoint/index.ts';
import { createFileCheckpointStore } from '../runtime/checkpoint/index.ts';

const restoreMode = process.argv[2] === '--restore';
const n = Number((restoreMode ? process.argv[4] : process.argv[2]) ?? 1_000_000);
const changed = Math.floor(n / 100);
const rounds = 20;
const keyCoder = StringUtf8Coder.of();
const tag = StateTags.value('count', VarLongCoder.of());
const global = StateNamespaces.global();
const dir = restoreMode ? process.argv[3]! : mkdtempSync(join(tmpdir(), 'stator-bench-checkpoint-'));
const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6;
const pct = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

if (restoreMode) {
  await measureRestore(dir, n, Number(process.argv[5]));
  process.exit(0);
}
try {
  const backend = createKeyedStateBackend({ keyCoder });
  const count = backend.boundState(global, tag);
  let t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    backend.setCurrentKey(`key-${i}`);
    count.write(i);
  }
  console.log(`populate ${n} keys: ${ms(t).toFixed(0)} ms`);
  const store = createFileCheckpointStore({ stateDir: dir, job: 'bench' });
  const checkpoints = createCheckpoints(store, {
    jobId: 'bench',
    mergeKeyGroupParts,
    fullEvery: 1000,
    maxChainLength: 1000,
    retain: 2,
  });
  const snapshot = (capture: ReturnType<typeof backend.captureChanges>) => ({
    inputs: { in: 0 },
    partitions: [{ stage: 's', partition: 0, capture: { state: capture, watermark: 0, processingTime: 0 } }],
  });

  t = process.hrtime.bigint();
  const fullCapture = backend.captureChanges();
  const fullCaptureMs = ms(t);
  t = process.hrtime.bigint();
  const full = await checkpoints.write(snapshot(fullCapture));
  console.log(
    `full checkpoint: capture ${fullCaptureMs.toFixed(1)} ms, write ${ms(t).toFixed(0)} ms, ${full.info.stats.bytesWritten} bytes`,
  );

  // GC pauses, to tell the checkpoint's own work from a major GC of the 1M-key heap that happens to
  // fall into a measured window.
  const gcs: { start: number; end: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  const gcWithin = (from: number, to: number): number => {
    let total = 0;
    for (const g of gcs) if (g.end > from && g.start < to) total += Math.min(g.end, to) - Math.max(g.start, from);
    return total;
  };
  const pauses: number[] = [];
  const pausesWithoutGc: number[] = [];
  // CPU time during the capture, process-wide: not inflated when a loaded machine deschedules the
  // process, but it includes V8's concurrent GC threads (so it can exceed the wall time).
  const capturesCpu: number[] = [];
  const ratios: number[] = [];
  const windows: { from: number; to: number }[] = [];
  const roundStalls: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const stalls = monitorEventLoopDelay({ resolution: 1 });
    for (let j = 0; j < changed; j++) {
      backend.setCurrentKey(`key-${(j * 97 + round * 7919) % n}`);
      count.write(round * n + j);
    }
    const cpuFrom = process.cpuUsage();
    const from = performance.now();
    const capture = backend.captureChanges();
    const to = performance.now();
    const cpu = process.cpuUsage(cpuFrom);
    pauses.push(to - from);
    capturesCpu.push((cpu.user + cpu.system) / 1000);
    stalls.enable();
    const w = performance.now();
    const written = await checkpoints.write(snapshot(capture));
    windows.push({ from: w, to: performance.now() });
    stalls.disable();
    roundStalls.push(stalls.max / 1e6);
    await new Promise((resolve) => setTimeout(resolve, 1)); // lets the GC observer report
    pausesWithoutGc.push(to - from - gcWithin(from, to));
    ratios.push(written.info.stats.bytesWritten / full.info.stats.bytesWritten);
  }
  const longestGcInWrites = Math.max(
    0,
    ...windows.map((win) =>
      Math.max(0, ...gcs.filter((g) => g.end > win.from && g.start < win.to).map((g) => g.end - g.start)),
    ),
  );
  observer.disconnect();
  console.log(
    `capture pause at ${n} keys, ${changed} changed: p50 ${pct(pauses, 50).toFixed(2)} ms, p99 ${pct(pauses, 99).toFixed(2)} ms (goal <= 20)`,
  );
  console.log(
    `  the same without GC pauses inside the capture: p50 ${pct(pausesWithoutGc, 50).toFixed(2)} ms, p99 ${pct(pausesWithoutGc, 99).toFixed(2)} ms`,
  );
  console.log(
    `  process CPU time during the capture (main thread + concurrent GC threads): p50 ${pct(capturesCpu, 50).toFixed(2)} ms, p99 ${pct(capturesCpu, 99).toFixed(2)} ms`,
  );
  console.log(`incremental / full bytes at 1% changed: ${pct(ratios, 50).toFixed(4)} (goal <= 0.05)`);
  console.log(
    `longest event-loop stall during an incremental write: p50 over writes ${pct(roundStalls, 50).toFixed(1)} ms, max ${pct(roundStalls, 100).toFixed(1)} ms ` +
      `(longest GC pause during the writes: ${longestGcInWrites.toFixed(1)} ms; on a shared machine the max includes time the process was not scheduled)`,
  );

  // Compact so the restore reads one chain of one part per key group (what a full checkpoint gives).
  const compacted = await checkpoints.write(snapshot(backend.captureChanges()), { full: true });
  // The restore runs in a fresh process, as after a crash: this one's 1M-key heap (and its GC) would
  // otherwise be measured with it.
  const child = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      ...process.execArgv,
      process.argv[1]!,
      '--restore',
      dir,
      String(n),
      String(compacted.info.stats.bytesReferenced),
    ],
    {
      stdio: 'inherit',
    },
  );
  if (child.status !== 0) throw new Error(`restore measurement failed (exit ${child.status})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Restore numbers, in a fresh process (see above): run with --expose-gc. */
async function measureRestore(dir: string, n: number, restoreBytes: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const store = createFileCheckpointStore({ stateDir: dir, job: 'bench' });
  // The bytes a restore needs: the descriptor and the parts its segments point into.
  const probe = await createCheckpoints(store, { jobId: 'bench', mergeKeyGroupParts }).load();
  const needed = new Set<string>([probe!.info.descriptor]);
  for (const p of probe!.descriptor.partitions)
    for (const chain of p.keyGroups.values()) for (const ref of chain) needed.add(ref.part);

  const readyRuns: number[] = [];
  const allRuns: number[] = [];
  const rawRuns: number[] = [];
  for (let run = 0; run < 5; run++) {
    gc();
    // Raw: read the same files from the same store, nothing else.
    let t = process.hrtime.bigint();
    let raw = 0;
    for (const name of needed) raw += (await readFile(join(store.directory, 'parts', name))).length;
    rawRuns.push(ms(t));
    gc();

    t = process.hrtime.bigint();
    const restored = await createCheckpoints(createFileCheckpointStore({ stateDir: dir, job: 'bench' }), {
      jobId: 'bench',
      mergeKeyGroupParts,
    }).load();
    const readVerifyMs = ms(t);
    const target = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
    for (const [kg, chain] of restored!.restoreFor('s', 0)!.keyGroups) target.restoreKeyGroup(kg, chain);
    // Ready to process: what a runner does before open().
    readyRuns.push(ms(t));
    const m = process.hrtime.bigint();
    let keys = 0;
    for (const _ of target.keys()) keys++;
    const materializeMs = ms(m);
    allRuns.push(ms(t));
    console.log(
      `restore run ${run}: read+verify ${readVerifyMs.toFixed(0)} ms, +restoreKeyGroup ${(readyRuns[run]! - readVerifyMs).toFixed(0)} ms (ready), ` +
        `then materializing ${keys} keys ${materializeMs.toFixed(0)} ms; raw read ${raw} bytes in ${needed.size} files ${rawRuns[run]!.toFixed(0)} ms (state ${restoreBytes})`,
    );
  }
  const rawMs = pct(rawRuns, 50);
  console.log(
    `restore ${n} keys until ready to process: ${pct(readyRuns, 50).toFixed(0)} ms vs raw read ${rawMs.toFixed(0)} ms = ${(pct(readyRuns, 50) / rawMs).toFixed(2)}x (goal <= 2)`,
  );
  console.log(
    `restore ${n} keys and materialize every key: ${pct(allRuns, 50).toFixed(0)} ms = ${(pct(allRuns, 50) / rawMs).toFixed(2)}x raw read`,
  );
}
