import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { createCheckpoints, createMemoryCheckpointStore } from '../../src/checkpoint/index.ts';
import type { MemoryCheckpointStore, LoadedCheckpoint } from '../../src/checkpoint/index.ts';
import { createKeyedStateBackend, mergeKeyGroupParts, StateNamespaces, StateTags } from '../../src/state/index.ts';

const g = StateNamespaces.global();
const tag = StateTags.value('v', VarLongCoder.of());

/** Two checkpoints of real state parts (the second an increment); returns the second's segment part names. */
async function twoCheckpoints(store: MemoryCheckpointStore): Promise<string[]> {
  const checkpoints = createCheckpoints(store, { jobId: 'job', mergeKeyGroupParts, fullEvery: 100 });
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 4 });
  const v = backend.boundState(g, tag);
  for (let round = 1; round <= 2; round++) {
    for (let k = 0; k < 12; k++) {
      backend.setCurrentKey(`k${k}`);
      v.write(round * 100 + k);
    }
    await checkpoints.write({
      inputs: { in: round },
      partitions: [
        { stage: 's', partition: 0, capture: { state: backend.captureChanges(), watermark: 0, processingTime: 0 } },
      ],
    });
  }
  await checkpoints.close();
  return (await store.listParts()).filter((p) => p.startsWith('c0000000002-') && !p.endsWith('descriptor'));
}

function restoredValues(restore: LoadedCheckpoint['restoreFor']): Map<string, number | bigint> {
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 4 });
  for (const [kg, chain] of restore('s', 0)!.keyGroups) backend.restoreKeyGroup(kg, chain);
  const v = backend.boundState(g, tag);
  const values = new Map<string, number | bigint>();
  for (const key of [...backend.keys()]) {
    backend.setCurrentKey(key);
    values.set(key, v.read()!);
  }
  return values;
}

test('restore - state parts inside verified envelopes restore without a second checksum, with the same values', async () => {
  const store = createMemoryCheckpointStore();
  await twoCheckpoints(store);
  const restored = await createCheckpoints(store, { jobId: 'job', mergeKeyGroupParts }).load();
  assert.is(restored!.info.id, 2);
  const values = restoredValues(restored!.restoreFor);
  assert.is(values.size, 12);
  for (let k = 0; k < 12; k++) assert.is(Number(values.get(`k${k}`)), 200 + k);
});

test('restore - a flipped byte anywhere in a stored state part is detected at load, before any state is restored', async () => {
  await fc.assert(
    fc.asyncProperty(fc.nat(), async (seed) => {
      const store = createMemoryCheckpointStore();
      const parts = await twoCheckpoints(store);
      const part = parts[seed % parts.length]!;
      const length = (await store.getPart(part)).length;
      store.faults.corruptPart(part, seed % length);
      const restored = await createCheckpoints(store, { jobId: 'job', mergeKeyGroupParts }).load();
      assert.is(restored!.info.id, 1, 'the damaged checkpoint is skipped');
      assert.is(restored!.skipped.length, 1);
      const values = restoredValues(restored!.restoreFor);
      for (let k = 0; k < 12; k++) assert.is(Number(values.get(`k${k}`)), 100 + k);
    }),
    { numRuns: 60 },
  );
});

test.run();
