// coders.ratioToMsgpackr: encode + decode of KvCoder(StringUtf8Coder, VarLongCoder) against msgpackr
// pack + unpack of the same { key, value } objects.
import { pack, unpack } from 'msgpackr';
import { CoderUtils, KvCoder, StringUtf8Coder, VarLongCoder, type KV } from '../../coders/index.ts';
import { interleave } from '../lib/measure.ts';
import type { Metric, MetricResult } from '../lib/types.ts';
import { lcg } from '../lib/workload.ts';

export const codersRatioToMsgpackr: Metric = {
  name: 'coders.ratioToMsgpackr',
  description: 'KvCoder(StringUtf8Coder, VarLongCoder) encode + decode vs msgpackr pack + unpack of the same values',
  goal: { field: 'ratio', op: '>=', target: 0.5 },
  async run(ctx): Promise<MetricResult> {
    const valuesCount = 10_000;
    const passes = ctx.quick ? 10 : 40;
    const repetitions = ctx.quick ? 5 : 11;
    // Words of a text-like length and counts over the VarLong range a counter sees (1-3 bytes mostly).
    const next = lcg(7);
    const values: KV<string, number>[] = [];
    for (let i = 0; i < valuesCount; i++) values.push({ key: `word${next() % 5000}`, value: next() % 1_000_000 });
    const coder = KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of());
    let sink = 0;
    const result = await interleave(
      {
        run: () => {
          for (let p = 0; p < passes; p++) {
            for (let i = 0; i < valuesCount; i++) {
              const back = CoderUtils.decodeFromByteArray(coder, CoderUtils.encodeToByteArray(coder, values[i]!));
              sink += back.key.length;
            }
          }
          return passes * valuesCount;
        },
      },
      {
        run: () => {
          for (let p = 0; p < passes; p++) {
            for (let i = 0; i < valuesCount; i++) {
              const back = unpack(pack(values[i]!)) as KV<string, number>;
              sink += back.key.length;
            }
          }
          return passes * valuesCount;
        },
      },
      { repetitions, warmup: 2, signal: ctx.signal, onRepetition: (done, total) => ctx.progress(done / total) },
    );
    if (sink === 0) throw new Error('nothing was decoded');
    return {
      value: result.ours,
      unit: 'ops/s',
      baseline: result.baseline,
      ratio: result.ratio,
      note: `${valuesCount} KVs x ${passes} passes per repetition, median of ${repetitions}${ctx.quick ? ' (quick: fewer passes and repetitions)' : ''}; paired ratio ${result.pairedRatio.toFixed(2)}`,
      details: {
        pairedRatio: result.pairedRatio,
        oursSamples: result.oursSamples,
        baselineSamples: result.baselineSamples,
      },
    };
  },
};
