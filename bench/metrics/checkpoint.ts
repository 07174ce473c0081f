// checkpoint.pauseMs, checkpoint.incrementalBytesRatio and restore.ratioToRawRead, at 1M keys of
// ValueState<number> with 1% changed per interval, on the file checkpoint store (fsync on).
// (Supersedes bench/checkpoint.ts.)
import { fileURLToPath } from 'node:url';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { runChildJson } from '../lib/child.ts';
import { median, percentile } from '../lib/measure.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';
import { changedKey, openCheckpointFixture } from './checkpoint-fixture.ts';
import type { RestoreProbeResult } from './restore-probe.ts';

const restoreProbePath = fileURLToPath(new URL('./restore-probe.ts', import.meta.url));

const keysFor = (quick: boolean): number => (quick ? 200_000 : 1_000_000);
const quickNote = (quick: boolean, more = ''): string => (quick ? ` (quick: 200k keys instead of 1M${more})` : '');

/** Messages per processing turn (a mailbox batch): the loop yields to the event loop between turns. */
const TURN_MESSAGES = 1000;

/** One loop iteration: wall time, process CPU time, and where it lies on performance.now()'s clock. */
interface Iteration {
  readonly ms: number;
  readonly cpuMs: number;
  readonly from: number;
  readonly to: number;
}

export const checkpointPauseMs: Metric = {
  name: 'checkpoint.pauseMs',
  description:
    'p99 pause of the processing loop during checkpoints (capture + event-loop time the background write takes), 1M keys, 1% changed per interval',
  goal: { field: 'value', op: '<=', target: 20 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const keys = keysFor(ctx.quick);
    const changed = keys / 100;
    const intervalMs = ctx.quick ? 250 : 500;
    // 100 checkpoints: the p99 is then the second longest pause rather than the single longest.
    const rounds = ctx.quick ? 8 : 100;
    // Compaction as the runtime's defaults do it (what a user's job runs): a key group's chain is
    // merged once its increments reach its base, and minor merges keep chains within 8 segments.
    // STATOR_BENCH_INCREMENTS_ONLY=1 measures increments alone, for comparison.
    const compaction = process.env.STATOR_BENCH_INCREMENTS_ONLY !== '1';
    using fixture = await openCheckpointFixture(keys, { compaction });
    const { backend, count, checkpoints } = fixture;
    ctx.progress(0.1);

    // GC pauses, to tell a checkpoint's own work from a major GC of the large heap, or from the
    // process being descheduled on a loaded machine (wall time without CPU time), in the note.
    const gcs: { start: number; end: number }[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
    });
    observer.observe({ entryTypes: ['gc'] });

    // The processing loop: turns of TURN_MESSAGES writes to this interval's changed keys, yielding
    // between turns (as the runtime's actors do) so the background checkpoint write gets the loop.
    // A loop iteration is one turn plus whatever ran before the next one started. At each interval's
    // end the loop captures (synchronously, as the runtime does between turns) and starts the write
    // without awaiting it; every iteration that overlaps a checkpoint counts toward its pause.
    const quiet: number[] = []; // iterations with no checkpoint in flight
    const pauses: Iteration[] = []; // per checkpoint: its longest iteration (capture included)
    const captures: number[] = [];
    const capturesCpu: number[] = [];
    const writes: number[] = [];
    const writtenBytes: number[] = [];
    let inFlight: Promise<void> | undefined;
    let current: { longest: Iteration } | undefined;
    let position = 0;
    let message = 0;
    const longer = (a: Iteration, b: Iteration): Iteration => (b.ms > a.ms ? b : a);
    try {
      for (let round = 1; round <= rounds; round++) {
        ctx.signal.throwIfAborted();
        const intervalEnd = Date.now() + intervalMs;
        // A checkpoint still writing at the interval's end delays the next capture, and processing
        // goes on meanwhile, as in the runtime (CheckpointProcedure awaits ready() before it pauses
        // the source): those iterations count toward the in-flight checkpoint's pause.
        while (Date.now() < intervalEnd || inFlight !== undefined) {
          const cpuFrom = process.cpuUsage();
          const from = performance.now();
          for (let i = 0; i < TURN_MESSAGES; i++) {
            backend.setCurrentKey(changedKey(round, message++ % changed, keys));
            count.write(position++);
          }
          await yieldToLoop();
          const to = performance.now();
          if (current === undefined) {
            quiet.push(to - from);
          } else {
            const cpu = process.cpuUsage(cpuFrom);
            current.longest = longer(current.longest, {
              ms: to - from,
              cpuMs: (cpu.user + cpu.system) / 1000,
              from,
              to,
            });
          }
        }
        const cpuFrom = process.cpuUsage();
        const from = performance.now();
        const capture = backend.captureChanges();
        const to = performance.now();
        const cpu = process.cpuUsage(cpuFrom);
        const captureIteration = { ms: to - from, cpuMs: (cpu.user + cpu.system) / 1000, from, to };
        captures.push(captureIteration.ms);
        capturesCpu.push(captureIteration.cpuMs);
        const checkpoint = { longest: captureIteration };
        current = checkpoint;
        const writeStart = performance.now();
        inFlight = checkpoints.write(fixture.snapshot(capture, position)).then((written) => {
          writes.push(performance.now() - writeStart);
          writtenBytes.push(written.info.stats.bytesWritten);
          if (current === checkpoint) {
            pauses.push(checkpoint.longest);
            current = undefined;
          }
          inFlight = undefined;
        });
        ctx.progress(0.1 + (0.9 * round) / rounds);
      }
      if (inFlight !== undefined) await inFlight;
      await new Promise((resolve) => setTimeout(resolve, 5)); // lets the GC observer report
    } finally {
      observer.disconnect();
    }
    const gcWithin = (it: Iteration): number => {
      let total = 0;
      for (const g of gcs)
        if (g.end > it.from && g.start < it.to) total += Math.min(g.end, it.to) - Math.max(g.start, it.from);
      return total;
    };
    const pauseMs = pauses.map((p) => p.ms);
    const value = percentile(pauseMs, 0.99);
    const baseline = percentile(quiet, 0.99);
    // The pause at the p99 rank, taken apart.
    const p99 = [...pauses].sort((a, b) => a.ms - b.ms)[
      Math.min(pauses.length - 1, Math.max(0, Math.ceil(0.99 * pauses.length) - 1))
    ]!;
    const withoutGc = pauses.map((p) => p.ms - gcWithin(p));
    // An increment writes about the same bytes each time; one that merged a chain writes its base too.
    const merged = writtenBytes.filter((bytes) => bytes > 2 * median(writtenBytes)).length;
    return {
      value,
      unit: 'ms',
      baseline,
      ratio: value / baseline,
      note:
        `${keys} keys, ${changed} changed per ${intervalMs} ms interval, ${rounds} checkpoints${quickNote(ctx.quick, ', 250 ms intervals, 8 checkpoints')}; ` +
        `pause p50 ${percentile(pauseMs, 0.5).toFixed(1)} / max ${Math.max(...pauseMs).toFixed(1)} ms; the p99 pause used ${p99.cpuMs.toFixed(1)} ms of process CPU ` +
        `and held ${gcWithin(p99).toFixed(1)} ms of GC; without GC pauses p99 ${percentile(withoutGc, 0.99).toFixed(1)} ms; ` +
        `capture p50 ${percentile(captures, 0.5).toFixed(1)} / p99 ${percentile(captures, 0.99).toFixed(1)} / max ${Math.max(...captures).toFixed(1)} ms (CPU p50 ${percentile(capturesCpu, 0.5).toFixed(1)} ms), ` +
        `write p50 ${percentile(writes, 0.5).toFixed(0)} ms (in the background); ${compaction ? `the runtime's default compaction (${merged} of ${writtenBytes.length} checkpoints merged chains)` : 'increments only'}; ` +
        `node ${youngGeneration()}; baseline: p99 loop iteration (${TURN_MESSAGES} messages) without a checkpoint`,
      details: {
        pauses: pauseMs,
        pausesCpu: pauses.map((p) => p.cpuMs),
        pausesWithoutGc: withoutGc,
        captures,
        capturesCpu,
        writes,
        writtenBytes,
        quietIterations: quiet.length,
      },
    };
  },
};

/** The young-generation flag this process runs with (`stator` and `npm run bench` pass --max-semi-space-size=64). */
function youngGeneration(): string {
  const flag = process.execArgv.find((a) => a.startsWith('--max-semi-space-size'));
  return flag ?? 'default young generation (no --max-semi-space-size)';
}

export const checkpointIncrementalBytesRatio: Metric = {
  name: 'checkpoint.incrementalBytesRatio',
  description: 'bytes of an incremental checkpoint at 1% of keys changed vs a full checkpoint, 1M keys',
  goal: { field: 'ratio', op: '<=', target: 0.05 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const keys = keysFor(ctx.quick);
    const changed = keys / 100;
    const rounds = 5;
    using fixture = await openCheckpointFixture(keys);
    const { backend, count, checkpoints } = fixture;
    const incremental: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      ctx.signal.throwIfAborted();
      for (let j = 0; j < changed; j++) {
        backend.setCurrentKey(changedKey(round, j, keys));
        count.write(round * keys + j);
      }
      const written = await checkpoints.write(fixture.snapshot(backend.captureChanges(), round));
      incremental.push(written.info.stats.bytesWritten);
      ctx.progress(round / rounds);
    }
    const value = median(incremental);
    const full = fixture.full.info.stats.bytesWritten;
    return {
      value,
      unit: 'bytes',
      baseline: full,
      ratio: value / full,
      note: `${keys} keys, ${changed} changed (1%), median of ${rounds} increments; full checkpoint ${(full / 2 ** 20).toFixed(1)} MiB${quickNote(ctx.quick)}`,
      details: { incremental },
    };
  },
};

export const restoreRatioToRawRead: Metric = {
  name: 'restore.ratioToRawRead',
  description: 'restoring 1M keys until ready to process vs reading the same bytes raw from the store',
  goal: { field: 'ratio', op: '<=', target: 2 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const keys = keysFor(ctx.quick);
    const repetitions = ctx.quick ? 3 : 7;
    using fixture = await openCheckpointFixture(keys);
    fixture.releaseState();
    ctx.progress(0.3);
    const r = await runChildJson<RestoreProbeResult>(
      restoreProbePath,
      [fixture.dir, String(keys), String(repetitions)],
      ctx.signal,
    );
    return {
      value: r.readyMs,
      unit: 'ms',
      baseline: r.rawMs,
      ratio: r.ratio,
      note:
        `${keys} keys, ${(r.rawBytes / 2 ** 20).toFixed(1)} MiB in ${r.files} files (page cache warm), in a fresh process, gc before each side, median of ${repetitions}${quickNote(ctx.quick, ', 3 repetitions')}; ` +
        `ready to process = load + verify + restoreKeyGroup (keys decode at first use); materializing every key takes ${r.materializeMs.toFixed(0)} ms more ` +
        `(${((r.readyMs + r.materializeMs) / r.rawMs).toFixed(1)}x raw read in all); paired ratio ${r.pairedRatio.toFixed(2)}`,
      details: {
        materializeMs: r.materializeMs,
        rawBytes: r.rawBytes,
        files: r.files,
        pairedRatio: r.pairedRatio,
        oursSamples: r.readySamples,
        baselineSamples: r.rawSamples,
      },
    };
  },
};
