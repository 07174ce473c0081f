import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { createCompactor, INLINE_MERGE_MAX_BYTES } from '../../src/checkpoint/compactor.ts';
import { CheckpointCorruptError, createCheckpoints, createMemoryCheckpointStore } from '../../src/checkpoint/index.ts';
import { EnvelopeKind, concatEnvelopes, encodeEnvelope } from '../../src/checkpoint/envelope.ts';
import { buildPartitionPart, segmentKey, type PartitionJob } from '../../src/checkpoint/partition-compaction.ts';
import { createKeyedStateBackend, mergeKeyGroupParts, StateNamespaces, StateTags } from '../../src/state/index.ts';

const g = StateNamespaces.global();
const noYield = async (): Promise<void> => {};
/** Every job with something to merge goes to the worker (the test jobs are far below the default). */
const inWorker = { inlineMaxBytes: 0 };

/**
 * A partition's job over real state parts: 4 key groups with a base part holding one segment each,
 * then two captures of fresh changes; groups 0 and 2 compact, 1 and 3 append.
 */
async function job(): Promise<() => PartitionJob> {
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 4 });
  const v = backend.boundState(g, StateTags.value('v', VarLongCoder.of()));
  const round = (n: number, keys: number) => {
    for (let k = 0; k < keys; k++) {
      backend.setCurrentKey(`k${k}`);
      if (n === 2 && k % 5 === 0) v.clear();
      else v.write(n * 1000 + k);
    }
    return backend.captureChanges();
  };
  const base = round(0, 200);
  const envelopes: Awaited<ReturnType<typeof encodeEnvelope>>[] = [];
  for (const kg of base.keyGroups)
    envelopes.push(
      await encodeEnvelope(EnvelopeKind.KEY_GROUP, base.encodeKeyGroup(kg), { compression: 'none', keyGroup: kg }),
    );
  const { bytes, offsets } = concatEnvelopes(envelopes);
  const fresh = [round(1, 120), round(2, 60)];
  // A fresh job each time: a build may transfer (detach) the job's part buffers.
  return () => ({
    compression: 'none',
    baseCheckpointId: 7,
    parts: new Map([['base', bytes.slice()]]),
    groups: base.keyGroups.map((kg, i) => ({
      keyGroup: kg,
      compact: kg % 2 === 0,
      base: [{ part: 'base', offset: offsets[i]!, length: envelopes[i]!.byteLength }],
      fresh: fresh.filter((c) => c.keyGroups.includes(kg)).map((c) => c.encodeKeyGroup(kg)),
    })),
  });
}

test('compactor - the worker builds the same bytes and segments as the merge on the calling thread', async () => {
  const make = await job();
  const inline = await buildPartitionPart(make(), mergeKeyGroupParts, noYield);
  const compactor = createCompactor(mergeKeyGroupParts, inWorker);
  try {
    const inWorker = await compactor.build(make(), noYield);
    assert.ok(inline.bytes.length > 0);
    assert.equal(Buffer.compare(Buffer.from(inWorker.bytes), Buffer.from(inline.bytes)), 0);
    assert.equal(inWorker.segments, inline.segments);
    // A second job reuses the worker.
    const again = await compactor.build(make(), noYield);
    assert.equal(Buffer.compare(Buffer.from(again.bytes), Buffer.from(inline.bytes)), 0);
  } finally {
    await compactor.close();
  }
});

test('compactor - segments that are views of one owned buffer are moved to the worker and build the same bytes', async () => {
  const make = await job();
  const inline = await buildPartitionPart(make(), mergeKeyGroupParts, noYield);
  // The base segments as a compaction reads a run of adjacent ones: views of one buffer, by segmentKey.
  const whole = make();
  const buffer = whole.parts.get('base')!;
  const parts = new Map<string, Uint8Array>();
  for (const group of whole.groups)
    for (const ref of group.base) parts.set(segmentKey(ref), buffer.subarray(ref.offset, ref.offset + ref.length));
  const compactor = createCompactor(mergeKeyGroupParts, inWorker);
  try {
    const built = await compactor.build({ ...whole, parts, owned: new Set([buffer.buffer]) }, noYield);
    assert.equal(Buffer.compare(Buffer.from(built.bytes), Buffer.from(inline.bytes)), 0);
    assert.equal(built.segments, inline.segments);
    assert.is(buffer.buffer.byteLength, 0, 'the owned buffer was moved, not copied');
  } finally {
    await compactor.close();
  }
});

test('compactor - a corrupt base part found in the worker fails the build with CheckpointCorruptError naming the part', async () => {
  const make = await job();
  const compactor = createCompactor(mergeKeyGroupParts, inWorker);
  try {
    const j = make();
    const bytes = j.parts.get('base')!;
    bytes[30] = bytes[30]! ^ 0xff; // a payload byte of the first segment (group 0 compacts)
    const error = await compactor.build(j, noYield).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(error, CheckpointCorruptError);
    assert.is((error as CheckpointCorruptError).part, 'base');
    assert.is((error as CheckpointCorruptError).checkpointId, 7);
    assert.match((error as Error).message, /checksum mismatch/);
  } finally {
    await compactor.close();
  }
});

test('compactor - close terminates the worker (no handle left) and is idempotent; later builds run on the calling thread', async () => {
  const make = await job();
  const before = process.getActiveResourcesInfo().length;
  const compactor = createCompactor(mergeKeyGroupParts, inWorker);
  await compactor.build(make(), noYield);
  await compactor.close();
  await compactor.close();
  assert.is(process.getActiveResourcesInfo().length, before, `left: ${process.getActiveResourcesInfo().join(', ')}`);
  const after = await compactor.build(make(), noYield);
  const inline = await buildPartitionPart(make(), mergeKeyGroupParts, noYield);
  assert.equal(Buffer.compare(Buffer.from(after.bytes), Buffer.from(inline.bytes)), 0);
  assert.is(process.getActiveResourcesInfo().length, before);
});

test('compactor - a job merging at most inlineMaxBytes, inlineGroupMaxBytes per key group, is built on the calling thread, not sent to the worker', async () => {
  const make = await job();
  // Built here, the job yields to the loop between key groups; sent to the worker, it does not.
  let yields = 0;
  const counted = async (): Promise<void> => void yields++;
  const compactor = createCompactor(mergeKeyGroupParts);
  try {
    const built = await compactor.build(make(), counted);
    assert.is(yields, 4, 'built on the calling thread');
    const worker = createCompactor(mergeKeyGroupParts, inWorker);
    await worker.build(make(), counted).finally(() => worker.close());
    assert.is(yields, 4, 'built in the worker');
    // Far below inlineMaxBytes in all, but one key group's merge is above the bound: the worker.
    const large = createCompactor(mergeKeyGroupParts, { inlineGroupMaxBytes: 64 });
    await large.build(make(), counted).finally(() => large.close());
    assert.is(yields, 4, 'a key group above inlineGroupMaxBytes: built in the worker');
    const inline = await buildPartitionPart(make(), mergeKeyGroupParts, noYield);
    assert.equal(Buffer.compare(Buffer.from(built.bytes), Buffer.from(inline.bytes)), 0);
    assert.equal(built.segments, inline.segments);
  } finally {
    await compactor.close();
  }
});

test("compactor - a merge other than the state layer's runs on the calling thread", async () => {
  const make = await job();
  let calls = 0;
  const counting = (chain: readonly Uint8Array[]): Uint8Array => {
    calls++;
    return mergeKeyGroupParts(chain);
  };
  const compactor = createCompactor(counting);
  await compactor.build(make(), noYield);
  await compactor.close();
  assert.is(calls, 2, 'groups 0 and 2 merged here');
});

test('compactor - a full checkpoint compacted in the worker restores the same state, and Checkpoints.close leaves no handle', async () => {
  const before = process.getActiveResourcesInfo().length;
  const store = createMemoryCheckpointStore();
  const checkpoints = createCheckpoints(store, { jobId: 'job', mergeKeyGroupParts, fullEvery: 100 });
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 8 });
  const v = backend.boundState(g, StateTags.value('v', VarLongCoder.of()));
  // Enough bytes that the full checkpoint's merge goes to the worker, not the calling thread.
  const pad = backend.boundState(g, StateTags.value('pad', StringUtf8Coder.of()));
  const padding = 'x'.repeat(Math.ceil((2 * INLINE_MERGE_MAX_BYTES) / 50));
  const expected = new Map<string, number>();
  for (let round = 1; round <= 3; round++) {
    for (let k = 0; k < 50 * round; k += round) {
      backend.setCurrentKey(`k${k}`);
      if (k % 7 === 3 && round === 3) {
        v.clear();
        pad.clear();
        expected.delete(`k${k}`);
      } else {
        v.write(round * 1000 + k);
        if (round === 1) pad.write(padding);
        expected.set(`k${k}`, round * 1000 + k);
      }
    }
    const written = await checkpoints.write(
      {
        inputs: { in: round },
        partitions: [
          { stage: 's', partition: 0, capture: { state: backend.captureChanges(), watermark: 0, processingTime: 0 } },
        ],
      },
      { full: round === 3 },
    );
    if (round === 3) {
      assert.is(written.info.kind, 'full');
      assert.ok(written.info.stats!.bytesReferenced > INLINE_MERGE_MAX_BYTES);
    }
  }
  await checkpoints.close();
  assert.is(process.getActiveResourcesInfo().length, before, `left: ${process.getActiveResourcesInfo().join(', ')}`);
  const reader = createCheckpoints(store, { jobId: 'job', mergeKeyGroupParts });
  const restored = await reader.load();
  await reader.close();
  const fresh = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 8 });
  for (const [kg, chain] of restored!.restoreFor('s', 0)!.keyGroups) {
    assert.is(chain.length, 1, 'compacted');
    fresh.restoreKeyGroup(kg, chain);
  }
  const rv = fresh.boundState(g, StateTags.value('v', VarLongCoder.of()));
  const actual = new Map<string, number>();
  for (const key of [...fresh.keys()]) {
    fresh.setCurrentKey(key);
    actual.set(key, Number(rv.read()));
  }
  assert.equal(actual, expected);
});

test.run();
