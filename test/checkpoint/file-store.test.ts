import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { createKeyedStateBackend, mergeKeyGroupParts, StateNamespaces, StateTags } from '../../src/state/index.ts';
import {
  CheckpointPartMissingError,
  CheckpointStoreError,
  FencedError,
  createCheckpoints,
} from '../../src/checkpoint/index.ts';
import { createFileCheckpointStore } from '../../runtime/checkpoint/index.ts';
import { ToyState, toyMerge } from './support/toy-state.ts';
import { mountSmallFilesystem, reportSkipped } from '../support/small-filesystem.ts';

const dirs: string[] = [];
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stator-file-store-'));
  dirs.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('file store - parts are written whole, read back, listed and deleted; a missing part is typed', async () => {
  const store = createFileCheckpointStore({ stateDir: stateDir(), job: 'wc' });
  await store.putPart('c1-a', new Uint8Array([1, 2, 3]));
  await store.putPart('c1-b', new Uint8Array(0));
  assert.equal([...(await store.getPart('c1-a'))], [1, 2, 3]);
  assert.equal(await store.listParts(), ['c1-a', 'c1-b']);
  assert.equal(
    readdirSync(join(store.directory, 'parts')).filter((n) => n.startsWith('.tmp')),
    [],
  );
  await store.deletePart('c1-a');
  await store.deletePart('c1-a');
  await store.getPart('c1-a').then(
    () => assert.unreachable(),
    (e) => assert.instance(e, CheckpointPartMissingError),
  );
  await store.close();
  await store.close();
});

test('file store - the manifest is compare-and-set across two store instances (two processes)', async () => {
  const dir = stateDir();
  const a = createFileCheckpointStore({ stateDir: dir, job: 'wc' });
  const b = createFileCheckpointStore({ stateDir: dir, job: 'wc' });
  assert.is(await a.readManifest(), undefined);
  const r1 = await a.commitManifest(new Uint8Array([1]), undefined);
  const seen = await b.readManifest();
  assert.is(seen!.revision, r1);
  assert.equal([...seen!.bytes], [1]);
  const r2 = await b.commitManifest(new Uint8Array([2]), r1);
  await a.commitManifest(new Uint8Array([3]), r1).then(
    () => assert.unreachable(),
    (e) => assert.instance(e, FencedError),
  );
  assert.equal([...(await a.readManifest())!.bytes], [2]);
  assert.is((await a.readManifest())!.revision, r2);
});

test('file store - of concurrent commits on the same revision exactly one wins', async () => {
  const dir = stateDir();
  const stores = Array.from({ length: 4 }, () => createFileCheckpointStore({ stateDir: dir, job: 'wc' }));
  const r = await stores[0]!.commitManifest(new Uint8Array([0]), undefined);
  const results = await Promise.allSettled(stores.map((s, i) => s.commitManifest(new Uint8Array([i + 1]), r)));
  assert.is(results.filter((x) => x.status === 'fulfilled').length, 1);
  for (const x of results) if (x.status === 'rejected') assert.instance(x.reason, FencedError);
});

test('file store - a commit lock left by a dead process is broken', async () => {
  const store = createFileCheckpointStore({ stateDir: stateDir(), job: 'wc', lockTimeoutMs: 2000 });
  await store.putPart('x', new Uint8Array([1]));
  // pid 2^22+1 is above Linux's default pid_max, so no process has it.
  writeFileSync(join(store.directory, 'LOCK'), `${2 ** 22 + 1} ${(await import('node:os')).hostname()} dead`);
  assert.is(await store.commitManifest(new Uint8Array([1]), undefined), 1);
});

test('file store - clear removes everything, and a writer fenced before it stays fenced', async () => {
  const store = createFileCheckpointStore({ stateDir: stateDir(), job: 'wc' });
  const r = await store.commitManifest(new Uint8Array([1]), undefined);
  await store.putPart('p', new Uint8Array([1]));
  await store.clear();
  assert.is(await store.readManifest(), undefined);
  assert.equal(await store.listParts(), []);
  await store.commitManifest(new Uint8Array([2]), r).then(
    () => assert.unreachable(),
    (e) => assert.instance(e, FencedError),
  );
  assert.ok((await store.commitManifest(new Uint8Array([2]), undefined)) > r, 'revisions keep growing across clear');
});

test('file store - checkpoints survive a new process and a corrupted file falls back to the previous checkpoint', async () => {
  const dir = stateDir();
  const write = createCheckpoints(createFileCheckpointStore({ stateDir: dir, job: 'wc' }), {
    jobId: 'wc',
    mergeKeyGroupParts: toyMerge,
  });
  const state = new ToyState();
  for (let round = 1; round <= 2; round++) {
    for (let i = 0; i < 50; i++) state.set(`k${i}`, round * i);
    await write.write({ inputs: { in: round }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  }
  const store = createFileCheckpointStore({ stateDir: dir, job: 'wc' });
  const latestPart = (await store.listParts()).filter(
    (n) => n.startsWith('c0000000002-') && !n.endsWith('descriptor'),
  )[0]!;
  const path = join(store.directory, 'parts', latestPart);
  const bytes = readFileSync(path);
  bytes[30] = bytes[30]! ^ 0x55;
  writeFileSync(path, bytes);
  const restored = await createCheckpoints(store, { jobId: 'wc', mergeKeyGroupParts: toyMerge }).load();
  assert.is(restored!.info.id, 1);
  assert.is(restored!.skipped.length, 1);
  assert.is(ToyState.restore(restored!.restoreFor('s', 0)).values.get('k10'), 10);
});

for (const where of ['body', 'header'] as const) {
  test(`file store - a flipped bit in the MANIFEST ${where} falls back to MANIFEST.prev; the next commit repairs it and keeps the good one`, async () => {
    const dir = stateDir();
    const options = { jobId: 'wc', mergeKeyGroupParts: toyMerge };
    const write = createCheckpoints(createFileCheckpointStore({ stateDir: dir, job: 'wc' }), options);
    const state = new ToyState();
    for (let round = 1; round <= 2; round++) {
      for (let i = 0; i < 50; i++) state.set(`k${i}`, round * i);
      await write.write({
        inputs: { in: round },
        partitions: [{ stage: 's', partition: 0, capture: state.capture() }],
      });
    }
    const store = createFileCheckpointStore({ stateDir: dir, job: 'wc' });
    const path = join(store.directory, 'MANIFEST');
    const bytes = readFileSync(path);
    const at = where === 'body' ? bytes.length - 3 : 1; // under the envelope's checksum / the STMF magic
    bytes[at] = bytes[at]! ^ 0x04;
    writeFileSync(path, bytes);

    const reader = createCheckpoints(store, options);
    const restored = await reader.load();
    assert.is(restored!.info.id, 1, 'MANIFEST.prev lists checkpoint 1 only');
    assert.is(ToyState.restore(restored!.restoreFor('s', 0)).values.get('k10'), 10);
    assert.match(reader.manifestFallback!.message, /used the previous manifest/);
    // A commit that fails after the fallback must not replace the good MANIFEST.prev by the corrupt MANIFEST.
    const prev = readFileSync(join(store.directory, 'MANIFEST.prev'));
    await reader.acquireLease();
    assert.ok(readFileSync(join(store.directory, 'MANIFEST.prev')).equals(prev), 'MANIFEST.prev kept');
    const again = createCheckpoints(createFileCheckpointStore({ stateDir: dir, job: 'wc' }), options);
    assert.is((await again.load())!.info.id, 1);
    assert.is(again.manifestFallback, undefined, 'the commit replaced the corrupt MANIFEST');
    await reader.close();
  });
}

test('file store - clear() and a deleted MANIFEST leave no MANIFEST.prev to fall back to', async () => {
  const dir = stateDir();
  const store = createFileCheckpointStore({ stateDir: dir, job: 'wc' });
  const options = { jobId: 'wc', mergeKeyGroupParts: toyMerge };
  const checkpoints = createCheckpoints(store, options);
  const state = new ToyState();
  state.set('a', 1);
  await checkpoints.write({ inputs: { in: 1 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  await checkpoints.write({ inputs: { in: 2 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  assert.is((await store.readPreviousManifests()).length, 1);
  rmSync(join(store.directory, 'MANIFEST'));
  await store.commitManifest(new Uint8Array([1]), undefined);
  assert.equal(await store.readPreviousManifests(), [], 'a MANIFEST.prev from before the deletion is gone');
  await store.commitManifest(new Uint8Array([2]), (await store.readManifest())!.revision);
  await store.clear();
  assert.equal(await store.readPreviousManifests(), []);
});

// 1M keys by default takes ~40 s on a busy 2-core machine (mostly populating and capturing state);
// STATOR_CHECKPOINT_KEYS lowers it for quick local runs.
const bigKeys = Number(process.env['STATOR_CHECKPOINT_KEYS'] ?? 1_000_000);
test(`file store - ${bigKeys} keys of real keyed state round trip through a checkpoint`, async () => {
  const keyCoder = StringUtf8Coder.of();
  const tag = StateTags.value('count', VarLongCoder.of());
  const global = StateNamespaces.global();
  const source = createKeyedStateBackend({ keyCoder });
  const count = source.boundState(global, tag);
  const n = bigKeys;
  for (let i = 0; i < n; i++) {
    source.setCurrentKey(`key-${i}`);
    count.write(i);
  }
  const capture = source.captureChanges();
  assert.is(capture.changedKeys, n);
  const dir = stateDir();
  const checkpoints = createCheckpoints(createFileCheckpointStore({ stateDir: dir, job: 'big' }), {
    jobId: 'big',
    mergeKeyGroupParts,
  });
  const { info } = await checkpoints.write({
    inputs: { in: n },
    partitions: [{ stage: 's', partition: 0, capture: { state: capture, watermark: 0, processingTime: 0 } }],
  });
  assert.is(info.stats.keyGroups, source.maxKeyGroups);

  const restored = await createCheckpoints(createFileCheckpointStore({ stateDir: dir, job: 'big' }), {
    jobId: 'big',
    mergeKeyGroupParts,
  }).load();
  const target = createKeyedStateBackend({ keyCoder });
  for (const [kg, chain] of restored!.restoreFor('s', 0)!.keyGroups) target.restoreKeyGroup(kg, chain);
  const restoredCount = target.boundState(global, tag);
  for (const i of [0, 1, Math.floor(n / 13), Math.floor(n / 2), n - 1]) {
    target.setCurrentKey(`key-${i}`);
    assert.is(restoredCount.read(), i);
  }
  let keys = 0;
  for (const _ of target.keys()) keys++;
  assert.is(keys, n);
});

test('file store - on a full disk a part is never renamed into place short, and no temp file is left', async () => {
  const name = 'file store - full disk part';
  const fs = mountSmallFilesystem(256 * 1024);
  if (typeof fs === 'string') return reportSkipped(name, fs);
  try {
    const store = createFileCheckpointStore({ stateDir: fs.path, job: 'wc' });
    // ~1 MiB on 256 KiB: the first write(2) is short, the next fails with ENOSPC.
    const error = await store.putPart('c1-big', new Uint8Array(1024 * 1024).fill(7)).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(error, CheckpointStoreError);
    assert.match((error as Error).message, /ENOSPC|no space/i);
    assert.equal(await store.listParts(), []);
    assert.equal(readdirSync(join(store.directory, 'parts')), []);
    await store.putPart('c1-small', new Uint8Array(1000).fill(1));
    assert.is((await store.getPart('c1-small')).length, 1000);
  } finally {
    fs.unmount();
  }
});

test('file store - a commit on a full disk leaves no empty LOCK behind, and the next commit after space is freed succeeds at once', async () => {
  const name = 'file store - full disk lock';
  const fs = mountSmallFilesystem(256 * 1024);
  if (typeof fs === 'string') return reportSkipped(name, fs);
  try {
    const store = createFileCheckpointStore({ stateDir: fs.path, job: 'wc', lockTimeoutMs: 1000 });
    await store.putPart('c1-a', new Uint8Array([1]));
    const filler = join(fs.path, 'filler');
    try {
      writeFileSync(filler, new Uint8Array(1024 * 1024));
    } catch {
      // ENOSPC once the file system is full: what we want
    }
    const error = await store.commitManifest(new Uint8Array(100).fill(3), undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(error, CheckpointStoreError);
    assert.not.ok(existsSync(join(store.directory, 'LOCK')), 'an empty LOCK was left behind');
    rmSync(filler);
    const revision = await store.commitManifest(new Uint8Array(100).fill(3), undefined);
    assert.equal([...(await store.readManifest())!.bytes], [...new Uint8Array(100).fill(3)]);
    assert.ok(revision >= 1);
  } finally {
    fs.unmount();
  }
});

test.run();
