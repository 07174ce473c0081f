import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CheckpointInProgressError,
  FencedError,
  createCheckpoints,
  createMemoryCheckpointStore,
} from '../../src/checkpoint/index.ts';
import type { CheckpointSnapshot } from '../../src/checkpoint/index.ts';
import { createCheckpointCoordinator } from '../../runtime/checkpoint/index.ts';
import { ToyState, toyMerge } from './support/toy-state.ts';

function snapshotOf(state: ToyState, position: number): CheckpointSnapshot {
  return { inputs: { in: position }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] };
}

test('coordinator - a slow store makes the next capture wait: one checkpoint in flight, no pile-up', async () => {
  const store = createMemoryCheckpointStore();
  const checkpoints = createCheckpoints(store, { jobId: 'j', mergeKeyGroupParts: toyMerge });
  const committed: number[] = [];
  const coordinator = createCheckpointCoordinator({
    checkpoints,
    trigger: { eventTimeIntervalMs: 10, minSpacingMs: 0, maxSpacingMs: 1e9, clock: () => 0 },
    initialWatermark: 0,
    leaseRenewIntervalMs: 0,
    onCheckpoint: (result) => committed.push(result.info.id),
  });
  const release = store.faults.hold();
  const state = new ToyState();
  let captures = 0;
  let waited = 0;
  // A processing loop that would checkpoint at every message (watermark crosses a boundary each time).
  const loop = (async () => {
    for (let position = 1; position <= 5; position++) {
      state.set(`k${position}`, position);
      state.watermark = position * 10;
      if (coordinator.due(state.watermark) !== undefined) {
        if (coordinator.inFlight) waited++;
        await coordinator.ready();
        captures++;
        void coordinator.start(snapshotOf(state, position), { reason: 'watermark' });
        assert.throws(
          () => coordinator.start(snapshotOf(state, position), { reason: 'watermark' }),
          (e: unknown) => e instanceof CheckpointInProgressError,
        );
      }
    }
  })();
  // Let the loop run as far as it can while the store is held.
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.is(captures, 1, 'the second capture waits for the first write');
  assert.ok(coordinator.inFlight);
  // One checkpoint's writes: its one part and its descriptor (uploaded side by side).
  assert.ok(store.pendingPuts <= 2, "at most the first checkpoint's part and descriptor outstanding");
  release();
  await loop;
  await coordinator.ready();
  assert.is(captures, 5);
  assert.is(waited, 4, 'every later capture found the previous write in flight and waited');
  assert.equal(committed, [1, 2, 3, 4, 5]);
  const restored = ToyState.restore((await checkpoints.load())!.restoreFor('s', 0));
  assert.equal(restored.values, state.values);
  await coordinator.close();
  await coordinator.close();
});

test('coordinator - a retryable failure is reported and the next checkpoint still covers its changes', async () => {
  const store = createMemoryCheckpointStore();
  const checkpoints = createCheckpoints(store, { jobId: 'j', mergeKeyGroupParts: toyMerge });
  const errors: unknown[] = [];
  const coordinator = createCheckpointCoordinator({
    checkpoints,
    leaseRenewIntervalMs: 0,
    onError: (e) => errors.push(e),
  });
  const state = new ToyState();
  state.set('a', 1);
  store.faults.failNextPut();
  assert.is(await coordinator.start(snapshotOf(state, 1), { reason: 'on-demand' }), undefined);
  assert.is(errors.length, 1);
  assert.is(coordinator.state, 'idle');
  state.set('b', 2);
  await coordinator.ready();
  const result = await coordinator.start(snapshotOf(state, 2), { reason: 'on-demand' });
  assert.is(result!.info.stats.changedKeys, 2);
  assert.is(coordinator.lastError, undefined);
  await coordinator.close();
});

test('coordinator - fenced: state failed, ready() rejects, nothing more is due', async () => {
  const store = createMemoryCheckpointStore();
  const checkpoints = createCheckpoints(store, { jobId: 'j', mergeKeyGroupParts: toyMerge });
  await checkpoints.load();
  const other = createCheckpoints(store, { jobId: 'j', mergeKeyGroupParts: toyMerge });
  await other.acquireLease();
  const coordinator = createCheckpointCoordinator({ checkpoints, leaseRenewIntervalMs: 0, onError: () => undefined });
  coordinator.request();
  assert.is(coordinator.due(0), 'on-demand');
  await coordinator.start(snapshotOf(new ToyState(), 1), { reason: 'on-demand' });
  assert.is(coordinator.state, 'failed');
  await coordinator.ready().then(
    () => assert.unreachable(),
    (e) => assert.instance(e, FencedError),
  );
  assert.is(coordinator.due(1e12), undefined);
  await coordinator.close();
});

test.run();
