// What checkpoints write over a run, compaction by count against compaction by size (prints, not a
// test): `node --import tsx bench/checkpoint-compaction.ts [keys] [percent changed per checkpoint] [checkpoints]`.
//
// A state of `keys` ValueState keys (heap backend, 128 key groups, one partition) is checkpointed
// once, then `checkpoints` times more with `percent` % of its keys changed before each (uniformly
// spread, the same keys for both policies), to the file store. Two policies, alternated twice in
// this process:
//   count: a full checkpoint every 10 increments (fullEvery: 10, no size trigger), the default
//          before compaction by size;
//   size:  the defaults (compactionRatio 1, maxChainLength 8, no fullEvery).
// Per policy: bytes of parts written by the checkpoints after the first, the largest single
// checkpoint, write time summed and the longest, and the bytes a restore of the last one reads.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringUtf8Coder, VarLongCoder } from '../coders/index.ts';
import { createCheckpoints, type CheckpointsOptions } from '../src/checkpoint/index.ts';
import { createKeyedStateBackend, mergeKeyGroupParts, StateNamespaces, StateTags } from '../src/state/index.ts';
import { createFileCheckpointStore } from '../runtime/checkpoint/index.ts';

const keys = Number(process.argv[2] ?? 1_000_000);
const percent = Number(process.argv[3] ?? 1);
const rounds = Number(process.argv[4] ?? 40);
const changedPerRound = Math.floor((keys * percent) / 100);
const tag = StateTags.value('count', VarLongCoder.of());
const global = StateNamespaces.global();

const policies: Record<string, Partial<CheckpointsOptions>> = {
  count: { fullEvery: 10, compactionRatio: 1e9 },
  size: {},
};

interface Result {
  policy: string;
  bytesWritten: number;
  maxBytesWritten: number;
  writeMs: number;
  maxWriteMs: number;
  bytesReferenced: number;
  maxChainLength: number;
  fullCheckpoints: number;
}

async function run(policy: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'stator-bench-compaction-'));
  try {
    const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 128 });
    const count = backend.boundState(global, tag);
    for (let i = 0; i < keys; i++) {
      backend.setCurrentKey(`key-${i}`);
      count.write(i);
    }
    const checkpoints = createCheckpoints(createFileCheckpointStore({ stateDir: dir, job: 'bench' }), {
      jobId: 'bench',
      mergeKeyGroupParts,
      retain: 2,
      ...policies[policy],
    });
    const snapshot = () => ({
      inputs: { in: 0 },
      partitions: [
        { stage: 's', partition: 0, capture: { state: backend.captureChanges(), watermark: 0, processingTime: 0 } },
      ],
    });
    await checkpoints.write(snapshot());
    const result: Result = {
      policy,
      bytesWritten: 0,
      maxBytesWritten: 0,
      writeMs: 0,
      maxWriteMs: 0,
      bytesReferenced: 0,
      maxChainLength: 0,
      fullCheckpoints: 0,
    };
    // The same keys for every policy, scattered: a prime stride visits every key once per `keys` changes.
    let next = 0;
    for (let round = 1; round <= rounds; round++) {
      for (let j = 0; j < changedPerRound; j++) {
        backend.setCurrentKey(`key-${(next++ * 7919) % keys}`);
        count.write(round);
      }
      const t = process.hrtime.bigint();
      const written = await checkpoints.write(snapshot());
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      const stats = written.info.stats;
      result.bytesWritten += stats.bytesWritten;
      result.maxBytesWritten = Math.max(result.maxBytesWritten, stats.bytesWritten);
      result.writeMs += ms;
      result.maxWriteMs = Math.max(result.maxWriteMs, ms);
      result.bytesReferenced = stats.bytesReferenced;
      result.maxChainLength = Math.max(result.maxChainLength, stats.maxChainLength);
      if (written.info.kind === 'full') result.fullCheckpoints++;
    }
    await checkpoints.close();
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MiB = 2 ** 20;
console.log(
  `${keys} keys, ${percent}% (${changedPerRound}) changed before each of ${rounds} checkpoints; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
for (let rep = 0; rep < 2; rep++) {
  for (const policy of Object.keys(policies)) {
    const r = await run(policy);
    console.log(
      `${r.policy.padEnd(5)}: written ${(r.bytesWritten / MiB).toFixed(1)} MiB (largest ${(r.maxBytesWritten / MiB).toFixed(1)} MiB, ` +
        `${r.fullCheckpoints} full), write ${(r.writeMs / 1000).toFixed(1)} s (longest ${r.maxWriteMs.toFixed(0)} ms), ` +
        `restore reads ${(r.bytesReferenced / MiB).toFixed(1)} MiB, chains <= ${r.maxChainLength}`,
    );
  }
}
console.log(
  `load at the end ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
