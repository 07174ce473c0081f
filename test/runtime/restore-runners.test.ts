// restoreRunners into another layout, with the checkpoint service around it: state written in P
// partitions (a base and increments), restored into Q, rebased, written again and restored again
// must give every key its value, every key group exactly once at its new partition, and the
// checkpoint after the rescale must not chain onto the old layout's parts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { createCheckpoints, createMemoryCheckpointStore } from '../../src/checkpoint/index.ts';
import type { Checkpoints } from '../../src/checkpoint/index.ts';
import { partitionForKeyGroup } from '../../src/state/index.ts';
import type { TaskRestore } from '../../src/task/task-runner.ts';
import type { RestoredCheckpoint } from '../../runtime/bindings.ts';
import type { KeyGrouping } from '../../runtime/engine/key-router.ts';
import type { Pipeline } from '../../runtime/engine/pipeline.ts';
import { restoreRunners } from '../../runtime/restore-runners.ts';
import { KeyGroupsChangedError, ScaleOutRescaleError } from '../../runtime/rescale-errors.ts';
import { ToyState, keyGroupOf, toyMerge } from '../checkpoint/support/toy-state.ts';

function grouping(maxKeyGroups: number): KeyGrouping {
  return { maxKeyGroups, keyGroupFor: () => 0, partitionForKeyGroup };
}

/** The structural part of a pipeline restoreRunners uses: one stage whose partitions keep what they get. */
function toyPipeline(parallelism: number): { pipeline: Pipeline; restores: (TaskRestore | undefined)[] } {
  const restores: (TaskRestore | undefined)[] = Array.from({ length: parallelism }, () => undefined);
  const actors = restores.map((_, partition) => ({
    partition,
    runner: { restore: (restore: TaskRestore) => (restores[partition] = restore) },
    restoreWatermark: () => {},
  }));
  return { pipeline: { stages: [{ name: 'count', parallelism, actors }] } as unknown as Pipeline, restores };
}

/** Writes `values` in `partitions` partitions, routed by key group, as the runtime would capture them. */
function layout(values: ReadonlyMap<string, number>, partitions: number, maxKeyGroups: number): ToyState[] {
  const states = Array.from({ length: partitions }, () => new ToyState(maxKeyGroups));
  for (const [key, value] of values) {
    states[partitionForKeyGroup(keyGroupOf(key, maxKeyGroups), maxKeyGroups, partitions)]!.set(key, value);
  }
  return states;
}

function snapshot(states: readonly ToyState[], position: number, maxKeyGroups: number) {
  return {
    inputs: { in: position },
    partitions: states.map((s, partition) => ({ stage: 'count', partition, capture: s.capture() })),
    sinks: {},
    maxKeyGroups,
  };
}

async function restore(checkpoints: Checkpoints, maxKeyGroups: number): Promise<RestoredCheckpoint> {
  const loaded = await checkpoints.load();
  assert.ok(loaded !== undefined);
  return {
    id: loaded.info.id,
    createdAt: loaded.descriptor.createdAt,
    inputs: loaded.descriptor.inputs,
    sinks: loaded.descriptor.sinks,
    partitions: loaded.partitions,
    maxKeyGroups: loaded.descriptor.maxKeyGroups ?? maxKeyGroups,
  };
}

const valuesArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 1000 }), {
  maxKeys: 60,
});

test('state checkpointed in P partitions restores into Q, rebases, and restores again in Q', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 32 }).chain((maxKeyGroups) =>
        fc.record({
          maxKeyGroups: fc.constant(maxKeyGroups),
          from: fc.integer({ min: 1, max: maxKeyGroups }),
          to: fc.integer({ min: 1, max: maxKeyGroups }),
        }),
      ),
      valuesArb,
      valuesArb,
      valuesArb,
      async ({ maxKeyGroups, from, to }, first, second, third) => {
        const store = createMemoryCheckpointStore();
        const options = { jobId: 'job', mergeKeyGroupParts: toyMerge, maxChainLength: 8, fullEvery: 10 } as const;
        const expected = new Map<string, number>();
        // The old layout: a base, then an increment (chains of two where keys changed again).
        let checkpoints = createCheckpoints(store, options);
        const old = layout(new Map(Object.entries(first)), from, maxKeyGroups);
        await checkpoints.write(snapshot(old, 1, maxKeyGroups));
        for (const [key, value] of Object.entries(second)) {
          old[partitionForKeyGroup(keyGroupOf(key, maxKeyGroups), maxKeyGroups, from)]!.set(key, value);
        }
        await checkpoints.write(snapshot(old, 2, maxKeyGroups));
        for (const [key, value] of [...Object.entries(first), ...Object.entries(second)]) expected.set(key, value);
        await checkpoints.close();

        // Restore into the new layout.
        checkpoints = createCheckpoints(store, options);
        const { pipeline, restores } = toyPipeline(to);
        const rescale = restoreRunners(pipeline, await restore(checkpoints, maxKeyGroups), grouping(maxKeyGroups));
        const moved = [...expected.keys()].some(
          (key) =>
            partitionForKeyGroup(keyGroupOf(key, maxKeyGroups), maxKeyGroups, from) !==
            partitionForKeyGroup(keyGroupOf(key, maxKeyGroups), maxKeyGroups, to),
        );
        // Partitions past the new count are a changed layout even when empty.
        assert.is(rescale !== undefined, moved || from > to);
        const states = restores.map((r) => ToyState.restore(r, maxKeyGroups));
        states.forEach((state, partition) => {
          for (const key of state.values.keys()) {
            assert.is(partitionForKeyGroup(keyGroupOf(key, maxKeyGroups), maxKeyGroups, to), partition);
          }
        });
        assert.equal(new Map(states.flatMap((s) => [...s.values])), expected);
        if (rescale !== undefined) await checkpoints.rebase(rescale.seeds);

        // The new layout goes on, checkpoints, and is restored once more.
        for (const [key, value] of Object.entries(third)) {
          states[partitionForKeyGroup(keyGroupOf(key, maxKeyGroups), maxKeyGroups, to)]!.set(key, value);
          expected.set(key, value);
        }
        const written = await checkpoints.write(snapshot(states, 3, maxKeyGroups));
        if (rescale !== undefined) {
          assert.is(written.info.kind, 'full');
          assert.is(written.info.parentId, undefined, 'the first checkpoint after a rescale builds on nothing');
        }
        await checkpoints.close();
        checkpoints = createCheckpoints(store, options);
        const again = await restore(checkpoints, maxKeyGroups);
        if (rescale !== undefined) {
          const prefix = `c${String(again.id).padStart(10, '0')}-`;
          for (const p of again.partitions) assert.ok(p.partition < to);
          const loaded = await checkpoints.load();
          for (const p of loaded!.descriptor.partitions) {
            for (const chain of p.keyGroups.values()) for (const ref of chain) assert.ok(ref.part.startsWith(prefix));
          }
        }
        const next = toyPipeline(to);
        assert.is(
          restoreRunners(next.pipeline, again, grouping(maxKeyGroups)),
          undefined,
          'no rescale the second time',
        );
        const restoredAgain = next.restores.map((r) => ToyState.restore(r, maxKeyGroups));
        assert.equal(new Map(restoredAgain.flatMap((s) => [...s.values])), expected);
        await checkpoints.close();
      },
    ),
    { numRuns: 60 },
  );
});

test('a checkpoint taken with another maxKeyGroups is refused with what to do', async () => {
  const store = createMemoryCheckpointStore();
  const checkpoints = createCheckpoints(store, { jobId: 'job', mergeKeyGroupParts: toyMerge });
  const states = layout(new Map([['a', 1]]), 2, 16);
  await checkpoints.write(snapshot(states, 1, 16));
  const restored = await restore(checkpoints, 16);
  const error = (() => {
    try {
      restoreRunners(toyPipeline(2).pipeline, restored, grouping(32));
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.instance(error, KeyGroupsChangedError);
  assert.is((error as KeyGroupsChangedError).code, 'RESCALE_KEY_GROUPS');
  assert.match((error as Error).message, /maxKeyGroups 32.*set maxKeyGroups back/);
  await checkpoints.close();
});

test("a scaled-out unit's checkpoint from another layout is refused, not restored in part", () => {
  const restore = ToyState.restore(undefined, 16);
  restore.set('a', 1);
  const unitOf = (parallelism: number, partition: number): Pipeline => {
    const actor = { partition, runner: { restore: () => {} }, restoreWatermark: () => {} };
    return { stages: [{ name: 'count', parallelism, actors: [actor] }] } as unknown as Pipeline;
  };
  const capture = restore.capture();
  const keyGroup = capture.state.keyGroups[0]!;
  const restored = (parallelism: Record<string, number> | undefined): RestoredCheckpoint => ({
    id: 7,
    createdAt: 0,
    inputs: {},
    sinks: {},
    partitions: [
      {
        stage: 'count',
        partition: 0,
        restore: {
          watermark: 0,
          processingTime: 0,
          keyGroups: new Map([[keyGroup, [capture.state.encodeKeyGroup(keyGroup)]]]),
        },
      },
    ],
    maxKeyGroups: 16,
    ...(parallelism === undefined ? {} : { parallelism }),
  });
  const owner = partitionForKeyGroup(keyGroup, 16, 6);
  assert.throws(
    () => restoreRunners(unitOf(6, owner), restored({ count: 4 }), grouping(16), 'wordcount'),
    (error: unknown) =>
      error instanceof ScaleOutRescaleError &&
      error.code === 'RESCALE_SCALE_OUT' &&
      /checkpointed by its scaled-out units with parallelism 4 and now has 6/.test(error.message),
  );
  // An older checkpoint without the record: the key group the unit does not own gives it away.
  assert.throws(
    () => restoreRunners(unitOf(6, (owner + 1) % 6), restored(undefined), grouping(16), 'wordcount'),
    (error: unknown) => error instanceof ScaleOutRescaleError,
  );
  assert.is(restoreRunners(unitOf(6, owner), restored({ count: 6 }), grouping(16)), undefined);
});

test.run();
