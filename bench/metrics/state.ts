// state.value.ratioToMap and state.map.ratioToMap: the state API's hot path (current-key handles on
// the heap backend) against the native Map doing the same work on the same keys in the same order.
// (The map half of bench/state-collections.ts, as a metric.)
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { createKeyedStateBackend, StateNamespaces, StateTags } from '../../src/state/index.ts';
import { interleave } from '../lib/measure.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';
import { keyOrder, lcg, stringKeys } from '../lib/workload.ts';

export const stateValueRatioToMap: Metric = {
  name: 'state.value.ratioToMap',
  description: 'ValueState<number> read + write through a current-key handle vs native Map get + set, 100k keys',
  goal: { field: 'ratio', op: '>=', target: 0.33 },
  async run(ctx: BenchContext): Promise<MetricResult> {
    const keyCount = 100_000;
    const ops = ctx.quick ? 300_000 : 1_000_000;
    const repetitions = ctx.quick ? 5 : 11;
    const keys = stringKeys(keyCount);
    const order = keyOrder(keyCount, ops);

    const native = new Map<string, number>();
    const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
    const count = backend.boundState(StateNamespaces.global(), StateTags.value('count', VarLongCoder.of()));
    // As the runtime does at each checkpoint (untimed): resets change tracking, so every repetition
    // starts from the same dirty-set state rather than one that only grows. Reading changedKeys
    // writes the records now, as the runtime's background write does between turns; left pending,
    // they would be written inside the next timed repetition, at each key's first use.
    const capture = (): void => void backend.captureChanges().changedKeys;

    const result = await interleave(
      {
        run: () => {
          for (let i = 0; i < ops; i++) {
            backend.setCurrentKey(keys[order[i]!]!);
            count.write(((count.read() as number | null) ?? 0) + 1);
          }
          return ops;
        },
      },
      {
        run: () => {
          for (let i = 0; i < ops; i++) {
            const k = keys[order[i]!]!;
            native.set(k, (native.get(k) ?? 0) + 1);
          }
          return ops;
        },
      },
      {
        repetitions,
        warmup: 2,
        signal: ctx.signal,
        onRepetition: (done, total) => {
          capture();
          ctx.progress((0.8 * done) / total);
        },
      },
    );

    // For context: the same with a transactional turn per message (undo journal on), as the task
    // runner drives it.
    const inTurns = await interleave(
      {
        run: () => {
          for (let i = 0; i < ops; i++) {
            backend.beginTurn();
            backend.setCurrentKey(keys[order[i]!]!);
            count.write(((count.read() as number | null) ?? 0) + 1);
            backend.commitTurn();
          }
          return ops;
        },
      },
      {
        run: () => {
          for (let i = 0; i < ops; i++) {
            const k = keys[order[i]!]!;
            native.set(k, (native.get(k) ?? 0) + 1);
          }
          return ops;
        },
      },
      {
        repetitions: Math.max(3, repetitions >> 1),
        warmup: 1,
        signal: ctx.signal,
        onRepetition: (done, total) => {
          capture();
          ctx.progress(0.8 + (0.2 * done) / total);
        },
      },
    );
    // Both sides counted every op: the state and the Map agree (a guard against measuring nothing).
    backend.setCurrentKey(keys[order[0]!]!);
    if (count.read() !== native.get(keys[order[0]!]!))
      throw new Error(`state and Map disagree: ${String(count.read())} vs ${native.get(keys[order[0]!]!)}`);

    return {
      value: result.ours,
      unit: 'ops/s',
      baseline: result.baseline,
      ratio: result.ratio,
      note:
        `${keyCount} keys, ${ops} random read+write per repetition, median of ${repetitions}${ctx.quick ? ' (quick: fewer ops and repetitions)' : ''}; ` +
        `paired ratio ${result.pairedRatio.toFixed(2)}; with a transactional turn per message: ratio ${inTurns.ratio.toFixed(2)}`,
      details: {
        pairedRatio: result.pairedRatio,
        turnPerMessageRatio: inTurns.ratio,
        oursSamples: result.oursSamples,
        baselineSamples: result.baselineSamples,
      },
    };
  },
};

export const stateMapRatioToMap: Metric = {
  name: 'state.map.ratioToMap',
  description: 'MapState<string, number> get + put through a current-key handle vs a native Map of Maps',
  async run(ctx: BenchContext): Promise<MetricResult> {
    const keyCount = 10_000;
    const fieldCount = 20;
    const ops = ctx.quick ? 200_000 : 1_000_000;
    const repetitions = ctx.quick ? 5 : 11;
    const keys = stringKeys(keyCount);
    const fields = stringKeys(fieldCount, 'field-');
    const order = keyOrder(keyCount, ops);
    const fieldOrder = new Uint8Array(ops);
    const next = lcg(99);
    for (let i = 0; i < ops; i++) fieldOrder[i] = next() % fieldCount;

    const native = new Map<string, Map<string, number>>();
    const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
    const map = backend.boundState(
      StateNamespaces.global(),
      StateTags.map('fields', StringUtf8Coder.of(), VarLongCoder.of()),
    );

    const result = await interleave(
      {
        run: () => {
          for (let i = 0; i < ops; i++) {
            backend.setCurrentKey(keys[order[i]!]!);
            const f = fields[fieldOrder[i]!]!;
            map.put(f, ((map.get(f).read() as number | null) ?? 0) + 1);
          }
          return ops;
        },
      },
      {
        run: () => {
          for (let i = 0; i < ops; i++) {
            const k = keys[order[i]!]!;
            let inner = native.get(k);
            if (inner === undefined) native.set(k, (inner = new Map()));
            const f = fields[fieldOrder[i]!]!;
            inner.set(f, (inner.get(f) ?? 0) + 1);
          }
          return ops;
        },
      },
      {
        repetitions,
        warmup: 2,
        signal: ctx.signal,
        onRepetition: (done, total) => {
          void backend.captureChanges().changedKeys; // written now, untimed (see above)
          ctx.progress(done / total);
        },
      },
    );
    return {
      value: result.ours,
      unit: 'ops/s',
      baseline: result.baseline,
      ratio: result.ratio,
      note: `${keyCount} keys x ${fieldCount} map keys, ${ops} random get+put per repetition, median of ${repetitions}${ctx.quick ? ' (quick: fewer ops and repetitions)' : ''}; paired ratio ${result.pairedRatio.toFixed(2)}`,
      details: {
        pairedRatio: result.pairedRatio,
        oursSamples: result.oursSamples,
        baselineSamples: result.baselineSamples,
      },
    };
  },
};
