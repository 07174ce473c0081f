// The metrics of a job with outputs (issue 13): examples/wordcount.ts over the bundled sample
// repeated, in NATS mode with the input already in the stream, against baselines from the same
// process (see wordcount-runs.ts for the runs they share).
import { median, percentile } from '../lib/measure.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';
import {
  commitLatencyRuns,
  intakePauseRuns,
  wordcountRuns,
  type CheckpointSample,
  type WordcountRuns,
} from './wordcount-runs.ts';

function workloadNote(runs: WordcountRuns, quick: boolean): string {
  const { workload } = runs;
  const restarted = runs.nats.filter((r) => r.restores > 1).length;
  return (
    `wordcount over examples/data/sample.txt × ${workload.repeat} (${workload.lines.length} lines → ${workload.outputs} outputs), ` +
    `input already in the stream, median of ${runs.nats.length}${quick ? ' (quick: a smaller input, one run)' : ''}` +
    (restarted === 0 ? '' : `; in ${restarted} NATS run(s) the job's unit restarted (timed from its first start)`)
  );
}

/** Checkpoints taken while the backlog was being worked off (the final one at stop is not). */
function underBacklog(samples: readonly CheckpointSample[]): CheckpointSample[] {
  return samples.filter((s) => s.reason !== 'stop');
}

const fmt = (n: number): string => String(Math.round(n));

export const jetstreamOutputsPerSec: Metric = {
  name: 'jetstream.outputsPerSec',
  description:
    'NATS-mode wordcount outputs stored per second vs plain nats.js publishes with Nats-Msg-Id into a stream, same server',
  goal: { field: 'ratio', op: '>=', target: 0.5 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const runs = await wordcountRuns(ctx.quick, ctx.signal, ctx.progress);
    const value = median(runs.nats.map((r) => r.outputsPerSec));
    const baseline = median(runs.rawPublish);
    return {
      value,
      unit: 'outputs/s',
      baseline,
      baselineUnit: 'msg/s',
      ratio: value / baseline,
      note:
        `${workloadNote(runs, ctx.quick)}; from the job's start until every output is stored. Baseline: as many plain publishes ` +
        'with a Nats-Msg-Id header (no acknowledgement requested), until the stream stored them all',
      details: { oursSamples: runs.nats.map((r) => r.outputsPerSec), baselineSamples: runs.rawPublish },
    };
  },
};

export const jetstreamWordcountLinesPerSec: Metric = {
  name: 'jetstream.wordcountLinesPerSec',
  description: 'NATS-mode wordcount end to end (lines/s, every output stored) vs embedded mode over the same lines',
  goal: { field: 'ratio', op: '>=', target: 0.1 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const runs = await wordcountRuns(ctx.quick, ctx.signal, ctx.progress);
    const value = median(runs.nats.map((r) => r.linesPerSec));
    const baseline = median(runs.embedded.map((r) => r.linesPerSec));
    // Every line costs its outputs' publishes: no job can store them faster than nats.js publishes
    // alone, so the raw rate bounds the lines/s NATS mode can reach on this machine and server.
    const outputsPerLine = runs.workload.outputs / runs.workload.lines.length;
    const ceiling = median(runs.rawPublish) / outputsPerLine;
    return {
      value,
      unit: 'lines/s',
      baseline,
      ratio: value / baseline,
      note:
        `${workloadNote(runs, ctx.quick)}; NATS: start → every output stored (${runs.nats.map((r) => `${(r.ms / 1000).toFixed(1)} s`).join(', ')}). ` +
        `Baseline: embedded mode, the same lines from a file to a file, checkpoints with fsync every ${runs.embeddedCheckpointIntervalMs} ms. ` +
        `Ceiling: the raw publish rate (jetstream.outputsPerSec's baseline) / ${outputsPerLine.toFixed(2)} outputs per line = ${fmt(ceiling)} lines/s (ratio ${(ceiling / baseline).toFixed(3)})`,
      details: {
        ceilingLinesPerSec: ceiling,
        ceilingRatio: ceiling / baseline,
        oursSamples: runs.nats.map((r) => r.linesPerSec),
        baselineSamples: runs.embedded.map((r) => r.linesPerSec),
      },
    };
  },
};

export const runtimeIntakePauseMs: Metric = {
  name: 'runtime.intakePauseMs',
  description:
    "p99 intake pause per checkpoint in the real runtime, NATS and embedded, under a backlog with outputs (the worse of the two) vs the checkpoints' cut → commit time",
  goal: { field: 'value', op: '<=', target: 50 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const runs = await intakePauseRuns(ctx.quick, ctx.signal, ctx.progress);
    const nats = underBacklog(runs.nats.flatMap((r) => r.checkpoints));
    const embedded = underBacklog(runs.embedded.flatMap((r) => r.checkpoints));
    if (nats.length === 0 || embedded.length === 0)
      throw new Error(
        `no checkpoint under backlog (NATS ${nats.length}, embedded ${embedded.length}): a larger input is needed`,
      );
    const natsP99 = percentile(
      nats.map((s) => s.pausedMs),
      0.99,
    );
    const embeddedP99 = percentile(
      embedded.map((s) => s.pausedMs),
      0.99,
    );
    const value = Math.max(natsP99, embeddedP99);
    // The baseline is what the intake would wait if the checkpoint held it until the commit (as
    // when a checkpoint waited for the sink to drain): the same checkpoints' cut → commit time.
    const all = [...nats, ...embedded];
    const baseline = percentile(
      all.map((s) => s.commitMs),
      0.99,
    );
    return {
      value,
      unit: 'ms',
      baseline,
      ratio: value / baseline,
      note:
        `wordcount, input already there, ${runs.nats.length} run(s) per mode; p99 over ${nats.length} NATS checkpoints ` +
        `(sample × ${runs.workload.repeat}: ${runs.workload.lines.length} lines → ${runs.workload.outputs} outputs, interval ${runs.natsCheckpointIntervalMs} ms): ${fmt(natsP99)} ms, ` +
        `${embedded.length} embedded (sample × ${runs.embeddedWorkload.repeat}: ${runs.embeddedWorkload.lines.length} lines, interval ${runs.embeddedCheckpointIntervalMs} ms): ${fmt(embeddedP99)} ms; ` +
        'the final checkpoint at stop excluded. ' +
        'Baseline: p99 cut → commit of the same checkpoints',
      details: {
        natsP99,
        embeddedP99,
        natsSamples: nats.map((s) => s.pausedMs),
        embeddedSamples: embedded.map((s) => s.pausedMs),
      },
    };
  },
};

export const checkpointCommitLatencyMs: Metric = {
  name: 'checkpoint.commitLatencyMs',
  description:
    'NATS mode: p99 checkpoint cut → manifest committed under a backlog with outputs, at the default interval, vs the interval',
  goal: { field: 'value', op: '<=', target: 1000 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const runs = await commitLatencyRuns(ctx.quick, ctx.signal, ctx.progress);
    const samples = underBacklog(runs.nats.flatMap((r) => r.checkpoints));
    if (samples.length === 0) throw new Error('no NATS checkpoint under backlog: a larger input is needed');
    const latencies = samples.map((s) => s.commitMs);
    const value = percentile(latencies, 0.99);
    const interval = runs.natsCheckpointIntervalMs;
    return {
      value,
      unit: 'ms',
      baseline: interval,
      ratio: value / interval,
      note:
        `wordcount over examples/data/sample.txt × ${runs.workload.repeat} (${runs.workload.lines.length} lines → ${runs.workload.outputs} outputs), input already in the stream, ${runs.nats.length} run(s); p99 over ${samples.length} checkpoints (median ${fmt(median(latencies))} ms), the final one at stop excluded; ` +
        'the trigger fires, the cut is taken, parts are written while the sink confirms the outputs before the cut, the manifest commits. Baseline: the checkpoint interval (the default; 1 s in quick mode)',
      details: { samples: latencies },
    };
  },
};
