// What a compaction reads: runs of adjacent segments of a part as one range each (adjacentRuns), and
// a checkpoint chain compacted by the defaults restoring the same state from fewer range reads than
// segments merged.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { createCheckpoints, createMemoryCheckpointStore, type CheckpointStore } from '../../src/checkpoint/index.ts';
import { adjacentRuns } from '../../src/checkpoint/checkpoint-writer.ts';
import { createKeyedStateBackend, mergeKeyGroupParts, StateNamespaces, StateTags } from '../../src/state/index.ts';

const refArb = fc.record({
  part: fc.constantFrom('a', 'b', 'c'),
  offset: fc.nat(200),
  length: fc.integer({ min: 1, max: 40 }),
});

test('adjacentRuns - every segment in exactly one run of its part that covers it; runs of a part neither touch nor overlap', () => {
  fc.assert(
    fc.property(fc.array(refArb, { maxLength: 60 }), (refs) => {
      const runs = adjacentRuns(refs);
      assert.is(
        runs.reduce((n, run) => n + run.refs.length, 0),
        refs.length,
      );
      for (const ref of refs) assert.is(runs.filter((run) => run.refs.includes(ref)).length, 1);
      for (const run of runs) {
        assert.is(run.offset, Math.min(...run.refs.map((r) => r.offset)));
        assert.is(run.end, Math.max(...run.refs.map((r) => r.offset + r.length)));
        for (const ref of run.refs) assert.is(ref.part, run.part);
      }
      // Minimal: two runs of one part leave a gap between them (else they would be one read).
      for (const part of ['a', 'b', 'c']) {
        const mine = runs.filter((run) => run.part === part).sort((x, y) => x.offset - y.offset);
        for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.offset > mine[i - 1]!.end);
      }
    }),
    { numRuns: 500 },
  );
});

test('a chain compacted by the default options restores the same state, its merges read with fewer ranges than segments', async () => {
  const memory = createMemoryCheckpointStore();
  let rangeReads = 0;
  // The memory store, counting its range reads (its other methods run on this object, through the prototype).
  const store: CheckpointStore = Object.create(memory, {
    getPartRange: {
      value: (name: string, offset: number, length: number) => {
        rangeReads++;
        return memory.getPartRange!(name, offset, length);
      },
    },
  }) as CheckpointStore;
  const checkpoints = createCheckpoints(store, { jobId: 'job', mergeKeyGroupParts, maxChainLength: 3 });
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 16 });
  const g = StateNamespaces.global();
  const v = backend.boundState(g, StateTags.value('v', VarLongCoder.of()));
  const expected = new Map<string, number>();
  let merged = 0;
  for (let round = 1; round <= 12; round++) {
    for (let k = round % 3; k < 300; k += 3) {
      backend.setCurrentKey(`k${k}`);
      v.write(round * 1000 + k);
      expected.set(`k${k}`, round * 1000 + k);
    }
    const before = rangeReads;
    const written = await checkpoints.write({
      inputs: { in: round },
      partitions: [
        { stage: 's', partition: 0, capture: { state: backend.captureChanges(), watermark: 0, processingTime: 0 } },
      ],
    });
    assert.ok(written.info.stats.maxChainLength <= 3);
    const reads = rangeReads - before;
    if (reads > 0) {
      merged++;
      // Each merge takes segments of 16 key groups, written one after another in each part.
      assert.ok(reads < 16, `round ${round}: ${reads} range reads`);
    }
  }
  assert.ok(merged > 0, 'the chains were merged');
  await checkpoints.close();
  const restored = (await createCheckpoints(store, { jobId: 'job', mergeKeyGroupParts }).load())!;
  const fresh = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of(), maxKeyGroups: 16 });
  for (const [kg, chain] of restored.restoreFor('s', 0)!.keyGroups) fresh.restoreKeyGroup(kg, chain);
  const value = fresh.boundState(g, StateTags.value('v', VarLongCoder.of()));
  const actual = new Map<string, number>();
  for (const key of [...fresh.keys()]) {
    fresh.setCurrentKey(key);
    actual.set(key, Number(value.read()));
  }
  assert.equal(actual, expected);
});

test.run();
