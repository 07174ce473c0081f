// Child process of restore.ratioToRawRead:
//   node --expose-gc --import tsx bench/metrics/restore-probe.ts <stateDir> <keys> <repetitions>
// Restores the checkpoint under <stateDir> (job `bench`) until ready to process, interleaved with a
// raw read of the same files, in a fresh process as after a crash (the writer's 1M-key heap and its
// GCs would otherwise be measured too), collecting garbage before each side. Prints one JSON line.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCheckpoints } from '../../src/checkpoint/index.ts';
import { createKeyedStateBackend, mergeKeyGroupParts, type HeapKeyedStateBackend } from '../../src/state/index.ts';
import { createFileCheckpointStore } from '../../runtime/checkpoint/index.ts';
import { elapsedMs, interleaveMs } from '../lib/measure.ts';
import { JOB, keyCoder, STAGE } from './checkpoint-fixture.ts';

export interface RestoreProbeResult {
  readonly readyMs: number;
  readonly rawMs: number;
  readonly ratio: number;
  readonly pairedRatio: number;
  readonly readySamples: readonly number[];
  readonly rawSamples: readonly number[];
  readonly materializeMs: number;
  readonly rawBytes: number;
  readonly files: number;
}

const [stateDir, keysArg, repetitionsArg] = process.argv.slice(2);
const keys = Number(keysArg);
const repetitions = Number(repetitionsArg);
if (stateDir === undefined || !(keys > 0) || !(repetitions > 0))
  throw new Error('usage: restore-probe.ts <stateDir> <keys> <repetitions>');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('restore-probe: run with node --expose-gc');

const open = () =>
  createCheckpoints(createFileCheckpointStore({ stateDir, job: JOB }), { jobId: JOB, mergeKeyGroupParts });

// The files a restore reads: the descriptor and the parts its segments point into.
const needed = await (async () => {
  const probe = await open().load();
  if (probe === undefined) throw new Error(`no checkpoint under ${stateDir}`);
  const names = new Set<string>([probe.info.descriptor]);
  for (const p of probe.descriptor.partitions)
    for (const chain of p.keyGroups.values()) for (const ref of chain) names.add(ref.part);
  return names;
})();
const partsDir = join(createFileCheckpointStore({ stateDir, job: JOB }).directory, 'parts');

/** Ready to process: load + verify, every key group handed to a fresh backend (what a runner does before open()). */
async function restore(): Promise<{ ms: number; backend: HeapKeyedStateBackend<string> }> {
  const start = process.hrtime.bigint();
  const restored = await open().load();
  const backend = createKeyedStateBackend({ keyCoder });
  for (const [kg, chain] of restored!.restoreFor(STAGE, 0)!.keyGroups) backend.restoreKeyGroup(kg, chain);
  return { ms: elapsedMs(start), backend };
}

let rawBytes = 0;
const result = await interleaveMs(
  {
    run: async () => {
      gc();
      return (await restore()).ms;
    },
  },
  {
    run: async () => {
      gc();
      const start = process.hrtime.bigint();
      let bytes = 0;
      for (const name of needed) bytes += (await readFile(join(partsDir, name))).length;
      rawBytes = bytes;
      return elapsedMs(start);
    },
  },
  { repetitions, warmup: 1 },
);

// Then, once: materializing every key of a restored backend (iterating all keys, or touching each once).
gc();
const { backend } = await restore();
const start = process.hrtime.bigint();
let n = 0;
for (const _ of backend.keys()) n++;
const materializeMs = elapsedMs(start);
if (n !== keys) throw new Error(`restored ${n} keys, expected ${keys}`);

const out: RestoreProbeResult = {
  readyMs: result.ours,
  rawMs: result.baseline,
  ratio: result.ratio,
  pairedRatio: result.pairedRatio,
  readySamples: result.oursSamples,
  rawSamples: result.baselineSamples,
  materializeMs,
  rawBytes,
  files: needed.size,
};
process.stdout.write(JSON.stringify(out) + '\n');
