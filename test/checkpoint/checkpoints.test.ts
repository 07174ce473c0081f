import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import {
  CheckpointCorruptError,
  CheckpointPartMissingError,
  FencedError,
  JobRunningError,
  createCheckpoints,
  createMemoryCheckpointStore,
} from '../../src/checkpoint/index.ts';
import type {
  CheckpointSnapshot,
  Checkpoints,
  CheckpointsOptions,
  CheckpointStore,
  MemoryCheckpointStore,
} from '../../src/checkpoint/index.ts';
import { JsonCoder, StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import {
  createKeyedStateBackend,
  mergeKeyGroupParts,
  StateError,
  StateNamespaces,
  StateTags,
} from '../../src/state/index.ts';
import { ToyState, toyMerge } from './support/toy-state.ts';

const base = { jobId: 'job', mergeKeyGroupParts: toyMerge } as const;

function open(store: CheckpointStore, options: Partial<CheckpointsOptions> = {}): Checkpoints {
  return createCheckpoints(store, { ...base, ...options });
}

/** A job of one stage with `n` partitions over toy state, fed from one input. */
class ToyJob {
  position = 0;
  constructor(readonly partitions: ToyState[]) {}
  static fresh(n: number): ToyJob {
    return new ToyJob(Array.from({ length: n }, () => new ToyState()));
  }
  apply(event: Event, position: number): void {
    const p = this.partitions[event.key % this.partitions.length]!;
    const key = `k${event.key}`;
    if (event.del) p.delete(key);
    else p.set(key, (p.values.get(key) ?? 0) + event.add);
    p.watermark = position * 10;
    this.position = position;
  }
  snapshot(): CheckpointSnapshot {
    return {
      inputs: { 'in/0': this.position },
      partitions: this.partitions.map((p, i) => ({ stage: 'count', partition: i, capture: p.capture() })),
      sinks: { out: new Uint8Array([this.position & 0xff]) },
    };
  }
  state(): Record<string, number> {
    return Object.fromEntries(this.partitions.flatMap((p) => [...p.values]).sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}
interface Event {
  key: number;
  add: number;
  del: boolean;
}

async function restoreJob(checkpoints: Checkpoints, n: number): Promise<ToyJob> {
  const restored = await checkpoints.load();
  if (restored === undefined) return ToyJob.fresh(n);
  const job = new ToyJob(Array.from({ length: n }, (_, i) => ToyState.restore(restored.restoreFor('count', i))));
  job.position = restored.descriptor.inputs['in/0']!;
  return job;
}

const eventsArb = fc.array(
  fc.record({ key: fc.nat(40), add: fc.integer({ min: 1, max: 9 }), del: fc.nat(9).map((n) => n === 0) }),
  { minLength: 1, maxLength: 120 },
);

test('restart equivalence - restoring at any checkpoint and replaying from position + 1 gives the uninterrupted state', async () => {
  await fc.assert(
    fc.asyncProperty(
      eventsArb,
      fc.array(fc.nat(120)),
      fc.array(fc.nat(120)),
      fc.record(
        {
          fullEvery: fc.integer({ min: 1, max: 4 }),
          // Tiny ratios compact at every change, huge ones never: only the chain length limit merges.
          compactionRatio: fc.constantFrom(0.01, 0.5, 2, 1e9),
          maxChainLength: fc.integer({ min: 1, max: 4 }),
          retain: fc.integer({ min: 1, max: 3 }),
        },
        { requiredKeys: ['maxChainLength', 'retain'] },
      ),
      async (events, checkpointAt, crashAt, options) => {
        const uninterrupted = ToyJob.fresh(3);
        events.forEach((e, i) => uninterrupted.apply(e, i + 1));

        const store = createMemoryCheckpointStore();
        let checkpoints = open(store, options);
        let job = ToyJob.fresh(3);
        const checkpointSet = new Set(checkpointAt);
        const crashSet = new Set(crashAt);
        let crashes = 0;
        for (let i = job.position; i < events.length; i = job.position) {
          job.apply(events[i]!, i + 1);
          if (checkpointSet.has(i)) await checkpoints.write(job.snapshot());
          if (crashSet.has(i) && crashes < 5) {
            crashes++;
            checkpoints = open(store, options); // a new process: in-memory state is gone
            job = await restoreJob(checkpoints, 3);
          }
        }
        assert.equal(job.state(), uninterrupted.state());
      },
    ),
    { numRuns: 100 },
  );
});

test('incremental chains - a delete in a later increment removes the key on restore', async () => {
  const store = createMemoryCheckpointStore();
  const checkpoints = open(store, { fullEvery: 100, maxChainLength: 100 });
  const state = new ToyState();
  for (let i = 0; i < 100; i++) state.set(`k${i}`, i);
  const first = await checkpoints.write({
    inputs: { in: 100 },
    partitions: [{ stage: 's', partition: 0, capture: state.capture() }],
  });
  state.delete('k7');
  state.set('k8', 800);
  const second = await checkpoints.write({
    inputs: { in: 102 },
    partitions: [{ stage: 's', partition: 0, capture: state.capture() }],
  });
  assert.is(first.info.kind, 'full');
  assert.is(second.info.kind, 'incremental');
  assert.is(second.info.parentId, first.info.id);
  assert.is(second.info.stats.changedKeys, 2);
  assert.ok(
    second.info.stats.bytesWritten < first.info.stats.bytesWritten / 5,
    'the increment writes only what changed',
  );
  assert.is(second.info.stats.maxChainLength, 2);

  const restored = await open(store).load();
  const again = ToyState.restore(restored!.restoreFor('s', 0));
  assert.equal(again.values, state.values);
  assert.not.ok(again.values.has('k7'));
  assert.is(again.values.get('k8'), 800);
});

test('compaction - a full checkpoint restores the same state as the chain it replaces, with chains of one', async () => {
  const histories = [
    { fullEvery: 100, maxChainLength: 100 },
    { fullEvery: 2, maxChainLength: 100 },
    { fullEvery: 100, maxChainLength: 2 },
  ];
  const results: Record<string, number>[] = [];
  for (const options of histories) {
    const store = createMemoryCheckpointStore();
    const checkpoints = open(store, { ...options, retain: 2 });
    const state = new ToyState();
    let last;
    for (let round = 0; round < 7; round++) {
      for (let i = 0; i < 30; i++) if ((i + round) % 3 === 0) state.set(`k${i}`, round * 100 + i);
      if (round % 2 === 1) state.delete(`k${round}`);
      last = await checkpoints.write({
        inputs: { in: round },
        partitions: [{ stage: 's', partition: 0, capture: state.capture() }],
      });
    }
    if (options.fullEvery === 2)
      assert.ok(
        (await checkpoints.list()).some((c) => c.kind === 'full' && c.id > 1),
        'a compacted full checkpoint was written',
      );
    if (options.maxChainLength === 2) assert.ok(last!.info.stats.maxChainLength <= 2);
    const restored = ToyState.restore((await open(store).load())!.restoreFor('s', 0));
    assert.equal(restored.values, state.values);
    results.push(Object.fromEntries(restored.values));
  }
  assert.equal(results[1], results[0]);
  assert.equal(results[2], results[0]);
});

test('forced full checkpoint - every chain has length one', async () => {
  const store = createMemoryCheckpointStore();
  const checkpoints = open(store, { fullEvery: 100 });
  const state = new ToyState();
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 20; i++) state.set(`k${i}`, round);
    await checkpoints.write({ inputs: {}, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  }
  const full = await checkpoints.write(
    { inputs: {}, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] },
    { full: true },
  );
  assert.is(full.info.kind, 'full');
  assert.is(full.info.stats.maxChainLength, 1);
  assert.equal(ToyState.restore((await open(store).load())!.restoreFor('s', 0)).values, state.values);
});

async function threeCheckpoints(store: MemoryCheckpointStore): Promise<ToyState[]> {
  const checkpoints = open(store, { retain: 5, fullEvery: 100 });
  const state = new ToyState();
  const states: ToyState[] = [];
  for (let round = 1; round <= 3; round++) {
    for (let i = 0; i < 10; i++) state.set(`k${i}`, round);
    await checkpoints.write({
      inputs: { in: round },
      partitions: [{ stage: 's', partition: 0, capture: state.capture() }],
    });
    states.push(ToyState.restore({ watermark: 0, processingTime: 0, keyGroups: new Map() }));
    for (const [k, v] of state.values) states.at(-1)!.values.set(k, v);
  }
  return states;
}

async function newestPartOf(store: MemoryCheckpointStore, id: number): Promise<string> {
  const parts = await store.listParts();
  return parts.find((p) => p.startsWith(`c${String(id).padStart(10, '0')}-`) && !p.endsWith('descriptor'))!;
}

test('a corrupted part - load reports it and falls back to the previous checkpoint', async () => {
  const store = createMemoryCheckpointStore();
  const states = await threeCheckpoints(store);
  store.faults.corruptPart(await newestPartOf(store, 3), 24 + 3); // a payload byte of its first segment
  const restored = await open(store).load();
  assert.is(restored!.info.id, 2);
  assert.is(restored!.descriptor.inputs['in'], 2);
  assert.is(restored!.skipped.length, 1);
  assert.instance(restored!.skipped[0], CheckpointCorruptError);
  assert.is(restored!.skipped[0]!.code, 'CHECKPOINT_CORRUPT');
  assert.match(restored!.skipped[0]!.message, /checksum mismatch/);
  assert.equal(ToyState.restore(restored!.restoreFor('s', 0)).values, states[1]!.values);
});

test('a truncated part - load reports it and falls back to the previous checkpoint', async () => {
  const store = createMemoryCheckpointStore();
  await threeCheckpoints(store);
  const part = await newestPartOf(store, 3);
  store.faults.truncatePart(part, (await store.getPart(part)).length - 3);
  const restored = await open(store).load();
  assert.is(restored!.info.id, 2);
  assert.match(restored!.skipped[0]!.message, /truncated/);
});

test('a missing part - reported as CheckpointPartMissingError, older checkpoint used', async () => {
  const store = createMemoryCheckpointStore();
  await threeCheckpoints(store);
  await store.deletePart(await newestPartOf(store, 3));
  const restored = await open(store).load();
  assert.is(restored!.info.id, 2);
  assert.instance(restored!.skipped[0], CheckpointPartMissingError);
});

test('after falling back, the next write builds on the restored checkpoint and drops the corrupt one', async () => {
  const store = createMemoryCheckpointStore();
  const states = await threeCheckpoints(store);
  store.faults.corruptPart(await newestPartOf(store, 3));
  const checkpoints = open(store, { retain: 5 });
  const restored = await checkpoints.load();
  const state = ToyState.restore(restored!.restoreFor('s', 0));
  assert.equal(state.values, states[1]!.values);
  state.set('k0', 42);
  const written = await checkpoints.write({
    inputs: { in: 3 },
    partitions: [{ stage: 's', partition: 0, capture: state.capture() }],
  });
  assert.is(written.info.id, 4, 'ids never repeat');
  assert.is(written.info.parentId, 2);
  assert.equal(
    (await checkpoints.list()).map((c) => c.id),
    [1, 2, 4],
  );
  assert.equal(ToyState.restore((await open(store).load())!.restoreFor('s', 0)).values, state.values);
});

test('every checkpoint corrupt - load throws CheckpointCorruptError rather than starting empty', async () => {
  const store = createMemoryCheckpointStore();
  await threeCheckpoints(store);
  for (const part of await store.listParts()) store.faults.corruptPart(part);
  try {
    await open(store).load();
    assert.unreachable('load should throw');
  } catch (error) {
    assert.instance(error, CheckpointCorruptError);
    assert.match((error as Error).message, /none of the 3 retained checkpoints/);
  }
});

test('every checkpoint unreadable - the error says what is wrong with each: the part and its problem', async () => {
  const corrupt = createMemoryCheckpointStore();
  await threeCheckpoints(corrupt);
  for (const part of await corrupt.listParts()) corrupt.faults.truncatePart(part, 10);
  const missing = createMemoryCheckpointStore();
  await threeCheckpoints(missing);
  for (const part of await missing.listParts()) await missing.deletePart(part);
  for (const [store, problem] of [
    [corrupt, /checkpoint 3: part \S+ is corrupt: truncated[^;]*; checkpoint 2: part \S+ is corrupt: /],
    [missing, /checkpoint 3: part \S+ is missing; checkpoint 2: part \S+ is missing; checkpoint 1: /],
  ] as const) {
    try {
      await open(store).load();
      assert.unreachable('load should throw');
    } catch (error) {
      assert.instance(error, CheckpointCorruptError);
      assert.match((error as Error).message, /none of the 3 retained checkpoints \(3, 2, 1\) is readable \(/);
      assert.match((error as Error).message, problem);
    }
  }
});

test('a corrupt manifest - load falls back to the previous manifest the store kept, says so, and ids stay unique', async () => {
  const store = createMemoryCheckpointStore();
  const states = await threeCheckpoints(store);
  store.faults.corruptManifest();
  const checkpoints = open(store, { retain: 5 });
  const restored = await checkpoints.load();
  // The previous manifest lists checkpoints 1 and 2; every part is intact.
  assert.is(restored!.info.id, 2);
  assert.equal(ToyState.restore(restored!.restoreFor('s', 0)).values, states[1]!.values);
  assert.instance(checkpoints.manifestFallback, CheckpointCorruptError);
  assert.match(
    checkpoints.manifestFallback!.message,
    /manifest is corrupt: .*used the previous manifest \(revision 2, checkpoints 1, 2\)/,
  );
  assert.not.match(checkpoints.manifestFallback!.message, /an older checkpoint is used/);
  const state = ToyState.restore(restored!.restoreFor('s', 0));
  state.set('k0', 7);
  const written = await checkpoints.write({
    inputs: { in: 3 },
    partitions: [{ stage: 's', partition: 0, capture: state.capture() }],
  });
  assert.is(written.info.id, 4, 'checkpoint 3 still has parts in the store: its id is not reused');
  const again = open(store);
  assert.equal(ToyState.restore((await again.load())!.restoreFor('s', 0)).values, state.values);
  assert.is(again.manifestFallback, undefined);
});

test('a corrupt manifest and no readable earlier one - the error says so instead of promising an older checkpoint', async () => {
  const store = createMemoryCheckpointStore();
  const first = open(store);
  const state = new ToyState();
  state.set('a', 1);
  await first.write({ inputs: { in: 1 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  store.faults.corruptManifest();
  const error = await open(store)
    .load()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.instance(error, CheckpointCorruptError);
  assert.match(
    (error as Error).message,
    /keeps no earlier manifest to fall back to: restore the state from a backup, or clear the job state/,
  );
  assert.not.match((error as Error).message, /an older checkpoint is used/);
});

test('fencing - a writer whose manifest revision is stale gets FencedError and writes nothing more', async () => {
  const store = createMemoryCheckpointStore();
  const a = open(store);
  const b = open(store);
  const state = new ToyState();
  state.set('x', 1);
  await a.load();
  await b.load();
  await b.write({ inputs: { in: 1 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  state.set('x', 2);
  try {
    await a.write({ inputs: { in: 2 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
    assert.unreachable('a must be fenced');
  } catch (error) {
    assert.instance(error, FencedError);
    assert.is((error as FencedError).code, 'CHECKPOINT_FENCED');
  }
  try {
    await a.prune();
    assert.unreachable('a stays fenced');
  } catch (error) {
    assert.instance(error, FencedError);
  }
  assert.equal(
    (await b.list()).map((c) => c.id),
    [1],
  );
});

test('retention - deletes exactly the parts no retained checkpoint references, orphans included', async () => {
  const store = createMemoryCheckpointStore();
  const checkpoints = open(store, { retain: 2, fullEvery: 3 });
  const state = new ToyState();
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 40; i++) if (i % (round + 2) === 0) state.set(`k${i}`, round);
    await checkpoints.write({ inputs: {}, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  }
  // An orphan of a crash mid-write (parts written, manifest never committed) and a failed write.
  await store.putPart('c0000000099-dead00-s0-p0', new Uint8Array([1, 2, 3]));
  state.set('k1', 99);
  store.faults.failNextCommit();
  await checkpoints
    .write({ inputs: {}, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] })
    .catch(() => undefined);
  const result = await checkpoints.prune();
  assert.ok(result.deletedParts.includes('c0000000099-dead00-s0-p0'));
  assert.ok(
    result.deletedParts.some((p) => p.startsWith('c0000000005-')),
    'parts of the failed write are deleted',
  );

  const retained = await checkpoints.list();
  assert.equal(
    retained.map((c) => c.id),
    [3, 4],
  );
  // Expected live set, computed independently from the retained descriptors.
  const live = new Set<string>();
  const fresh = open(store);
  for (const info of retained) {
    live.add(info.descriptor);
    const restoredCheckpoint = await fresh.load(info.id);
    for (const p of restoredCheckpoint!.descriptor.partitions)
      for (const chain of p.keyGroups.values()) for (const ref of chain) live.add(ref.part);
  }
  assert.equal(await store.listParts(), [...live].sort());
  // Both retained checkpoints still load.
  for (const info of retained) assert.is((await open(store).load(info.id))!.skipped.length, 0);
});

test('a failed write carries its changes into the next checkpoint', async () => {
  const store = createMemoryCheckpointStore();
  const checkpoints = open(store);
  const state = new ToyState();
  state.set('a', 1);
  await checkpoints.write({ inputs: { in: 1 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  state.set('b', 2);
  store.faults.failNextPut();
  try {
    await checkpoints.write({
      inputs: { in: 2 },
      partitions: [{ stage: 's', partition: 0, capture: state.capture() }],
    });
    assert.unreachable('put fails');
  } catch (error) {
    assert.is((error as { retryable?: boolean }).retryable, true);
  }
  state.set('c', 3);
  await checkpoints.write({ inputs: { in: 3 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  const restored = ToyState.restore((await open(store).load())!.restoreFor('s', 0));
  assert.equal(
    restored.values,
    new Map([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]),
  );
});

test('a capture whose values do not encode fails its write and is not carried; its keys go into the next', async () => {
  const store = createMemoryCheckpointStore();
  const checkpoints = open(store, { mergeKeyGroupParts });
  const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  const count = backend.boundState(StateNamespaces.global(), StateTags.value('count', VarLongCoder.of()));
  const names = backend.boundState(StateNamespaces.global(), StateTags.bag('names', JsonCoder.of<unknown>()));
  const capture = () => ({ state: backend.captureChanges(), watermark: 0, processingTime: 0 });
  backend.setCurrentKey('a');
  count.write(1);
  await checkpoints.write({ inputs: { in: 1 }, partitions: [{ stage: 's', partition: 0, capture: capture() }] });
  backend.setCurrentKey('b');
  count.write(2);
  // Refused at write when it does not encode; changed in place afterwards, only the capture sees it.
  const name: { n: unknown } = { n: 3 };
  names.add(name);
  name.n = 3n;
  try {
    await checkpoints.write({ inputs: { in: 2 }, partitions: [{ stage: 's', partition: 0, capture: capture() }] });
    assert.unreachable('the capture does not encode');
  } catch (error) {
    assert.instance(error, StateError);
    assert.match((error as Error).message, /'names'/);
  }
  backend.setCurrentKey('b');
  names.clear();
  names.add('three');
  const written = await checkpoints.write({
    inputs: { in: 3 },
    partitions: [{ stage: 's', partition: 0, capture: capture() }],
  });
  assert.is(written.info.stats.changedKeys, 1, 'b, once: the void capture is not carried');
  const restored = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  for (const [kg, chain] of (await open(store, { mergeKeyGroupParts }).load())!.restoreFor('s', 0)!.keyGroups)
    restored.restoreKeyGroup(kg, chain);
  const restoredCount = restored.boundState(StateNamespaces.global(), StateTags.value('count', VarLongCoder.of()));
  const restoredNames = restored.boundState(StateNamespaces.global(), StateTags.bag('names', JsonCoder.of<unknown>()));
  restored.setCurrentKey('a');
  assert.is(restoredCount.read(), 1);
  restored.setCurrentKey('b');
  assert.is(restoredCount.read(), 2);
  assert.equal([...restoredNames.read()], ['three']);
});

test('beforeCommit failing - nothing is committed', async () => {
  const store = createMemoryCheckpointStore();
  const checkpoints = open(store);
  const state = new ToyState();
  state.set('a', 1);
  const failed = checkpoints.write(
    { inputs: { in: 1 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] },
    { beforeCommit: () => Promise.reject(new Error('output not acknowledged')) },
  );
  await failed.then(
    () => assert.unreachable(),
    (error: Error) => assert.match(error.message, /not acknowledged/),
  );
  assert.equal(await checkpoints.list(), []);
});

test('sink records, input positions and per-partition clocks round trip', async () => {
  const store = createMemoryCheckpointStore();
  const checkpoints = open(store);
  const a = new ToyState();
  const b = new ToyState();
  a.watermark = 1234;
  b.watermark = 99;
  b.processingTime = 777;
  a.set('x', 1);
  await checkpoints.write({
    inputs: { 'orders/0': 17, 'orders/1': 2 ** 40 },
    partitions: [
      { stage: 'split', partition: 0, capture: a.capture() },
      { stage: 'count', partition: 3, capture: b.capture() },
    ],
    sinks: { 'out.jsonl': new Uint8Array([0, 0, 1, 0]) },
  });
  const restored = (await open(store).load())!;
  assert.equal(restored.descriptor.inputs, { 'orders/0': 17, 'orders/1': 2 ** 40 });
  assert.equal([...restored.descriptor.sinks['out.jsonl']!], [0, 0, 1, 0]);
  assert.is(restored.restoreFor('split', 0)!.watermark, 1234);
  assert.is(restored.restoreFor('count', 3)!.processingTime, 777);
  assert.is(restored.restoreFor('count', 0), undefined);
});

test('clear - refused while a live lease holds the job, allowed after release', async () => {
  const store = createMemoryCheckpointStore();
  const runner = open(store);
  await runner.acquireLease();
  const state = new ToyState();
  state.set('a', 1);
  await runner.write({ inputs: {}, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  const admin = open(store);
  try {
    await admin.clear();
    assert.unreachable('clear must be refused');
  } catch (error) {
    assert.instance(error, JobRunningError);
    assert.match((error as Error).message, new RegExp(`pid ${process.pid}`));
  }
  try {
    await open(store).acquireLease();
    assert.unreachable('a second instance must be refused');
  } catch (error) {
    assert.instance(error, JobRunningError);
  }
  await runner.releaseLease();
  await admin.clear();
  assert.equal(await store.listParts(), []);
  assert.is(await admin.latest(), undefined);
});

test('lease - a dead local holder or an expired heartbeat frees the job, and the old holder is fenced', async () => {
  const store = createMemoryCheckpointStore();
  let now = 1_000_000;
  const clock = (): number => now;
  const dead = open(store, { clock, processIdentity: { pid: 999_999, hostname: 'this-host', isAlive: () => true } });
  await dead.acquireLease();
  // Same host, pid not alive: free at once.
  await open(store, { clock, processIdentity: { pid: 1, hostname: 'this-host', isAlive: () => false } }).clear();

  const remote = open(store, {
    clock,
    leaseTtlMs: 5_000,
    processIdentity: { pid: 5, hostname: 'other-host', isAlive: () => true },
  });
  await remote.acquireLease();
  const local = open(store, { clock, processIdentity: { pid: 6, hostname: 'this-host', isAlive: () => true } });
  await local.acquireLease().then(
    () => assert.unreachable(),
    (error) => assert.instance(error, JobRunningError),
  );
  now += 5_000;
  const successor = open(store, { clock, processIdentity: { pid: 6, hostname: 'this-host', isAlive: () => true } });
  await successor.acquireLease();
  await remote.renewLease().then(
    () => assert.unreachable(),
    (error) => assert.instance(error, FencedError),
  );
});

test('load(id) of a pruned checkpoint - CheckpointNotFoundError', async () => {
  const store = createMemoryCheckpointStore();
  await threeCheckpoints(store);
  await open(store)
    .load(7)
    .then(
      () => assert.unreachable(),
      (error: Error) => assert.is((error as { code?: string }).code, 'CHECKPOINT_NOT_FOUND'),
    );
});

test('load with reuseLocal - a partition a local copy serves is not read; committedDigest names the state it must hold', async () => {
  const store = createMemoryCheckpointStore();
  const writer = open(store);
  const job = ToyJob.fresh(2);
  job.apply({ key: 0, add: 1, del: false }, 1);
  job.apply({ key: 1, add: 2, del: false }, 2);
  await writer.write(job.snapshot());
  const digests = [writer.committedDigest('count', 0), writer.committedDigest('count', 1)];
  assert.ok(digests[0] !== undefined && digests[1] !== undefined && digests[0] !== digests[1]);
  assert.is(writer.committedDigest('count', 2), undefined, 'no such partition');
  await writer.close();

  const read: string[] = [];
  const observed: CheckpointStore = Object.assign(Object.create(store) as CheckpointStore, {
    getPart: (name: string) => (read.push(name), store.getPart(name)),
    getPartRange: (name: string, offset: number, length: number) => (
      read.push(name),
      store.getPartRange!(name, offset, length)
    ),
  });
  const reader = open(observed);
  assert.is(reader.committedDigest('count', 0), undefined, 'before a load');
  const seen: string[] = [];
  const loaded = await reader.load(undefined, {
    reuseLocal: (p, digest) => (seen.push(digest), p.partition === 0 && digest === digests[0]),
  });
  assert.equal(seen, digests);
  assert.ok(loaded?.partitions[0]?.reusesLocalCopy === true);
  assert.is(loaded.partitions[0]!.restore.keyGroups.size, 0);
  assert.is(loaded.partitions[1]!.reusesLocalCopy, undefined);
  assert.ok(loaded.partitions[1]!.restore.keyGroups.size > 0);
  assert.not.ok(
    read.some((name) => name.endsWith('-p0')),
    `partition 0's part was read: ${read.join(', ')}`,
  );
  assert.is(reader.committedDigest('count', 0), digests[0]);

  // A write moves the digest of a changed partition only, once committed.
  const next = new ToyJob([
    ToyState.restore(loaded.restoreFor('count', 0)),
    ToyState.restore(loaded.restoreFor('count', 1)),
  ]);
  next.apply({ key: 1, add: 5, del: false }, 3);
  const writing = reader.write(next.snapshot());
  assert.is(reader.committedDigest('count', 1), undefined, 'while a write is under way');
  await writing;
  assert.is(reader.committedDigest('count', 0), digests[0]);
  assert.ok(reader.committedDigest('count', 1) !== digests[1]);
  await reader.close();
});

test.run();
