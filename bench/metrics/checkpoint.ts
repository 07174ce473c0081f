// checkpoint.pauseMs, checkpoint.incrementalBytesRatio and restore.ratioToRawRead, at 1M keys of
// ValueState<number> with 1% changed per interval, on the file checkpoint store (fsync on).
// (Supersedes bench/checkpoint.ts.)
import { fileURLToPath } from 'node:url';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { runChildJson } from '../lib/child.ts';
import { elapsedMs, median, percentile } from '../lib/measure.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';
import { changedKey, openCheckpointFixture } from './checkpoint-fixture.ts';
import type { RestoreProbeResult } from './restore-probe.ts';

const restoreProbePath = fileURLToPath(new URL('./restore-probe.ts', import.meta.url));

const keysFor = (quick: boolean): number => (quick ? 200_000 : 1_000_000);
const quickNote = (quick: boolean, more = ''): string => (quick ? ` (quick: 200k keys instead of 1M${more})` : '');

/** Messages per processing turn (a mailbox batch): the loop yields to the event loop between turns. */
const TURN_MESSAGES = 1000;

export const checkpointPauseMs: Metric = {
  name: 'checkpoint.pauseMs',
  description: 'p99 pause of the processing loop during checkpoints (capture + event-loop time the background write takes), 1M keys, 1% changed per interval',
  goal: { field: 'value', op: '<=', target: 20 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const keys = keysFor(ctx.quick);
    const changed = keys / 100;
    const intervalMs = ctx.quick ? 250 : 1000;
    const rounds = ctx.quick ? 8 : 20;
    using fixture = await openCheckpointFixture(keys);
    const { backend, count, checkpoints } = fixture;
    ctx.progress(0.2);

    // The processing loop: turns of TURN_MESSAGES writes to this interval's changed keys, yielding
    // between turns (as the runtime's actors do) so the background checkpoint write gets the loop.
    // A loop iteration is one turn plus whatever ran before the next one started. At each interval's
    // end the loop captures (synchronously, as the runtime does between turns) and starts the write
    // without awaiting it; every iteration that overlaps a checkpoint counts toward its pause.
    const quiet: number[] = []; // iterations with no checkpoint in flight
    const pauses: number[] = []; // per checkpoint: its longest iteration (capture included)
    const captures: number[] = [];
    const capturesCpu: number[] = [];
    const writes: number[] = [];
    let inFlight: Promise<void> | undefined;
    let current: { longest: number } | undefined;
    let position = 0;
    let message = 0;
    for (let round = 1; round <= rounds; round++) {
      ctx.signal.throwIfAborted();
      const intervalEnd = Date.now() + intervalMs;
      while (Date.now() < intervalEnd) {
        const start = process.hrtime.bigint();
        for (let i = 0; i < TURN_MESSAGES; i++) {
          backend.setCurrentKey(changedKey(round, message++ % changed, keys));
          count.write(position++);
        }
        await yieldToLoop();
        const iteration = elapsedMs(start);
        if (current === undefined) quiet.push(iteration);
        else current.longest = Math.max(current.longest, iteration);
      }
      // Checkpoints do not overlap: one still writing at the interval's end is waited for (and
      // that wait is a pause too).
      if (inFlight !== undefined) {
        const start = process.hrtime.bigint();
        await inFlight; // its completion recorded the pause: amend it with the wait
        const waited = elapsedMs(start);
        pauses[pauses.length - 1] = Math.max(pauses[pauses.length - 1]!, waited);
      }
      const cpuFrom = process.cpuUsage();
      const start = process.hrtime.bigint();
      const capture = backend.captureChanges();
      const captureMs = elapsedMs(start);
      const cpu = process.cpuUsage(cpuFrom);
      captures.push(captureMs);
      // CPU time too: unlike wall time, not inflated when a loaded machine deschedules the process.
      capturesCpu.push((cpu.user + cpu.system) / 1000);
      const checkpoint = { longest: captureMs };
      current = checkpoint;
      const writeStart = process.hrtime.bigint();
      inFlight = checkpoints.write(fixture.snapshot(capture, position)).then(() => {
        writes.push(elapsedMs(writeStart));
        if (current === checkpoint) {
          pauses.push(checkpoint.longest);
          current = undefined;
        }
        inFlight = undefined;
      });
      ctx.progress(0.2 + (0.8 * round) / rounds);
    }
    if (inFlight !== undefined) await inFlight;
    const value = percentile(pauses, 0.99);
    const baseline = percentile(quiet, 0.99);
    return {
      value,
      unit: 'ms',
      baseline,
      ratio: value / baseline,
      note:
        `${keys} keys, ${changed} changed per ${intervalMs} ms interval, ${rounds} checkpoints${quickNote(ctx.quick, ', 250 ms intervals, 8 checkpoints')}; ` +
        `pause p50 ${percentile(pauses, 0.5).toFixed(1)} ms; capture p50 ${percentile(captures, 0.5).toFixed(1)} / max ${Math.max(...captures).toFixed(1)} ms ` +
        `(CPU time p50 ${percentile(capturesCpu, 0.5).toFixed(1)} / max ${Math.max(...capturesCpu).toFixed(1)} ms), ` +
        `write p50 ${percentile(writes, 0.5).toFixed(0)} ms (in the background); baseline: p99 loop iteration (${TURN_MESSAGES} messages) without a checkpoint`,
      details: { pauses, captures, capturesCpu, writes, quietIterations: quiet.length },
    };
  },
};

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
    const r = await runChildJson<RestoreProbeResult>(restoreProbePath, [fixture.dir, String(keys), String(repetitions)], ctx.signal);
    return {
      value: r.readyMs,
      unit: 'ms',
      baseline: r.rawMs,
      ratio: r.ratio,
      note:
        `${keys} keys, ${(r.rawBytes / 2 ** 20).toFixed(1)} MiB in ${r.files} files (page cache warm), in a fresh process, gc before each side, median of ${repetitions}${quickNote(ctx.quick, ', 3 repetitions')}; ` +
        `ready to process = load + verify + restoreKeyGroup (keys decode at first use); materializing every key takes ${r.materializeMs.toFixed(0)} ms more ` +
        `(${((r.readyMs + r.materializeMs) / r.rawMs).toFixed(1)}x raw read in all); paired ratio ${r.pairedRatio.toFixed(2)}`,
      details: { materializeMs: r.materializeMs, rawBytes: r.rawBytes, files: r.files, pairedRatio: r.pairedRatio, oursSamples: r.readySamples, baselineSamples: r.rawSamples },
    };
  },
};
