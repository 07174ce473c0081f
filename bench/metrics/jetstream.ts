// jetstream.noOutput.*: stator's NATS mode running a keyed count that emits NOTHING (checkpoints to
// JetStream every second) against a raw ordered consumer counting in a Map, and against a NATS KV
// get + put per message, on the same stream of the metric's own nats-server. They measure the read
// and state path alone; a job with outputs is measured by output-path.ts.
import { median } from '../lib/measure.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';
import { naiveKvCount, natsModeCount, openWordStream, rawOrderedCount, type NatsModeRun } from './jetstream-fixture.ts';

const sizes = (quick: boolean) => ({
  messages: quick ? 50_000 : 300_000,
  repetitions: quick ? 3 : 5,
  kvMessages: quick ? 1_000 : 5_000,
});

function natsModeNote(runs: readonly NatsModeRun[]): string {
  return `NATS mode, no output per message: 2 partitions, checkpoints every 1 s (${median(runs.map((r) => r.checkpoints))} per run incl. the final one; stop + final checkpoint done ${Math.round(median(runs.map((r) => r.untilStoppedMs)))} ms after start)`;
}

export const jetstreamNoOutputRatioToRawOrdered: Metric = {
  name: 'jetstream.noOutput.ratioToRawOrdered',
  description:
    'keyed count emitting nothing, in NATS mode (checkpoints every second) vs a raw ordered consumer counting in a Map, same stream',
  goal: { field: 'ratio', op: '>=', target: 0.5 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const { messages, repetitions } = sizes(ctx.quick);
    await using words = await openWordStream(messages);
    ctx.progress(0.1);
    await rawOrderedCount(words); // warm-up: the stream's blocks in the page cache, the client's code optimized
    await natsModeCount(words, ctx.signal);
    const ours: NatsModeRun[] = [];
    const raw: number[] = [];
    const ratios: number[] = [];
    for (let rep = 0; rep < repetitions; rep++) {
      ctx.signal.throwIfAborted();
      if (rep % 2 === 0) {
        raw.push(await rawOrderedCount(words));
        ours.push(await natsModeCount(words, ctx.signal));
      } else {
        ours.push(await natsModeCount(words, ctx.signal));
        raw.push(await rawOrderedCount(words));
      }
      ratios.push(ours[rep]!.msgsPerSec / raw[rep]!);
      ctx.progress(0.1 + (0.9 * (rep + 1)) / repetitions);
    }
    const value = median(ours.map((r) => r.msgsPerSec));
    const baseline = median(raw);
    return {
      value,
      unit: 'msg/s',
      baseline,
      ratio: value / baseline,
      note: `${messages} messages (20k-word skewed vocabulary), median of ${repetitions}${ctx.quick ? ' (quick: fewer messages and repetitions)' : ''}; ${natsModeNote(ours)}; paired ratio ${median(ratios).toFixed(2)}`,
      details: { pairedRatio: median(ratios), oursSamples: ours.map((r) => r.msgsPerSec), baselineSamples: raw },
    };
  },
};

export const jetstreamNoOutputRatioToNaiveKv: Metric = {
  name: 'jetstream.noOutput.ratioToNaiveKv',
  description: 'keyed count emitting nothing, in NATS mode (checkpoints every second) vs NATS KV get + put per message',
  goal: { field: 'ratio', op: '>=', target: 20 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const { messages, kvMessages } = sizes(ctx.quick);
    const repetitions = ctx.quick ? 1 : 3;
    await using words = await openWordStream(messages);
    ctx.progress(0.1);
    await natsModeCount(words, ctx.signal); // warm-up
    const ours: NatsModeRun[] = [];
    const kv: number[] = [];
    for (let rep = 0; rep < repetitions; rep++) {
      ctx.signal.throwIfAborted();
      kv.push(await naiveKvCount(words, kvMessages));
      ours.push(await natsModeCount(words, ctx.signal));
      ctx.progress(0.1 + (0.9 * (rep + 1)) / repetitions);
    }
    const value = median(ours.map((r) => r.msgsPerSec));
    const baseline = median(kv);
    return {
      value,
      unit: 'msg/s',
      baseline,
      ratio: value / baseline,
      note: `${messages} messages through NATS mode, the first ${kvMessages} through KV get + put (one request-reply pair per message), median of ${repetitions}${ctx.quick ? ' (quick: fewer messages and repetitions)' : ''}; ${natsModeNote(ours)}`,
      details: { oursSamples: ours.map((r) => r.msgsPerSec), baselineSamples: kv },
    };
  },
};
