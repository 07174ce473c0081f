import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect, errors as natsErrors } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import {
  openJetStreamCheckpointStore,
  type JetStreamCheckpointStore,
  type JetStreamCheckpointStoreOptions,
} from '../../runtime/checkpoint/jetstream-store.ts';
import { createCheckpoints } from '../../src/checkpoint/index.ts';
import { startNatsServer, type NatsServerHandle } from '../support/index.ts';
import { assertEveryNodeReadsEachWrite } from '../support/reads-after-writes.ts';
import { startNatsCluster } from '../support/nats-cluster.ts';
import { ToyState, toyMerge } from './support/toy-state.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? `not a StatorError: ${String(error)}`;
  }
  return 'resolved';
}

function open(
  server: NatsServerHandle,
  extra: Partial<JetStreamCheckpointStoreOptions> = {},
): Promise<JetStreamCheckpointStore> {
  return openJetStreamCheckpointStore({ job: 'wordcount', task: 'counter', servers: server.url, ...extra });
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
const bytesOf = (value: string): Uint8Array => Buffer.from(value, 'utf8');

test('jetstream store - puts, gets, lists and deletes parts, a 5 MB part included', async () => {
  await using server = await startNatsServer();
  await using store = await open(server);
  const big = randomBytes(5 * 1024 * 1024);
  await store.putPart('cp-1.state', big);
  await store.putPart('cp-1.timers', bytesOf('timers'));
  await store.putPart('empty', new Uint8Array(0));
  assert.ok(Buffer.from(await store.getPart('cp-1.state')).equals(big), '5 MB part reads back byte for byte');
  assert.is(text(await store.getPart('cp-1.timers')), 'timers');
  assert.is((await store.getPart('empty')).length, 0);
  assert.equal(await store.listParts(), ['cp-1.state', 'cp-1.timers', 'empty']);

  await store.deletePart('cp-1.state');
  await store.deletePart('cp-1.state');
  await store.deletePart('never-written');
  assert.equal(await store.listParts(), ['cp-1.timers', 'empty']);
  assert.is(await codeOf(store.getPart('cp-1.state')), 'CHECKPOINT_PART_MISSING');
  assert.is(await codeOf(store.getPart('never-written')), 'CHECKPOINT_PART_MISSING');
});

test('jetstream store - the manifest is committed with compare-and-set; a stale revision is fenced and writes nothing', async () => {
  await using server = await startNatsServer();
  await using store = await open(server);
  assert.is(await store.readManifest(), undefined);

  const first = await store.commitManifest(bytesOf('m1'), undefined);
  let manifest = await store.readManifest();
  assert.is(text(manifest!.bytes), 'm1');
  assert.is(manifest!.revision, first);

  const second = await store.commitManifest(bytesOf('m2'), first);
  assert.ok(second > first);
  assert.is(await codeOf(store.commitManifest(bytesOf('stale'), first)), 'CHECKPOINT_FENCED');
  assert.is(await codeOf(store.commitManifest(bytesOf('as if first'), undefined)), 'CHECKPOINT_FENCED');
  manifest = await store.readManifest();
  assert.is(text(manifest!.bytes), 'm2', 'the fenced commits wrote nothing');
  assert.is(manifest!.revision, second);
});

test('jetstream store - of two instances of the same task, the one committing on a stale revision is fenced', async () => {
  await using server = await startNatsServer();
  await using a = await open(server);
  await using b = await open(server);
  const r1 = await a.commitManifest(bytesOf('a1'), undefined);
  const seenByB = await b.readManifest();
  assert.is(seenByB?.revision, r1);
  const r2 = await a.commitManifest(bytesOf('a2'), r1);
  const fenced = await b.commitManifest(bytesOf('b2'), seenByB!.revision).then(
    () => undefined,
    (error: unknown) => error as { code: string; expectedRevision: number; actualRevision: number },
  );
  assert.is(fenced?.code, 'CHECKPOINT_FENCED');
  assert.is(fenced?.expectedRevision, r1);
  assert.is(fenced?.actualRevision, r2);
  assert.is(text((await a.readManifest())!.bytes), 'a2');
});

test('jetstream store - a commit whose acknowledgement was lost is retried and succeeds, on a 3-node cluster too', async () => {
  // A clustered stream (nats-server 2.9.10) checks the expected last sequence before duplicates: the
  // retry of a stored write is refused as "wrong last sequence", which is not another writer.
  for (const replicas of [1, 3]) {
    await using servers = replicas === 1 ? await startNatsServer() : await startNatsCluster();
    await using store = await openJetStreamCheckpointStore({
      job: 'wordcount',
      task: 'counter',
      servers: 'urls' in servers ? servers.urls : servers.url,
      replicas,
    });
    const first = await store.commitManifest(bytesOf('m1'), undefined);
    // The next publish is stored, but its acknowledgement never arrives.
    const js = (store as unknown as { js: { publish: (...args: unknown[]) => Promise<unknown> } }).js;
    const publish = js.publish.bind(js);
    let attempts = 0;
    js.publish = async (...args: unknown[]) => {
      if (attempts++ > 0) return publish(...args);
      await publish(...args);
      throw new natsErrors.TimeoutError();
    };
    const second = await store.commitManifest(bytesOf('m2'), first);
    assert.is(attempts, 2, `R${replicas}: one attempt lost its ack, one retry`);
    const manifest = await store.readManifest();
    assert.is(text(manifest!.bytes), 'm2', `R${replicas}`);
    assert.is(manifest!.revision, second, `R${replicas}`);
  }
});

test('jetstream store - on a 3-node cluster, the manifest read right after a commit is that commit, from any node', async () => {
  // KV reads may be answered by any replica (direct get); one that has not applied the commit yet
  // would hand back the revision before it, and the next commit would then be fenced as stale.
  await using cluster = await startNatsCluster();
  const stores: Awaited<ReturnType<typeof openJetStreamCheckpointStore>>[] = [];
  for (const node of cluster.nodes) {
    stores.push(
      await openJetStreamCheckpointStore({ job: 'wordcount', task: 'counter', servers: node.url, replicas: 3 }),
    );
  }
  try {
    let revision: number | undefined;
    // Read through every node, the one that committed and the two others.
    await assertEveryNodeReadsEachWrite(
      stores.length,
      150,
      async (node, round) => (revision = await stores[node]!.commitManifest(bytesOf(`m${round}`), revision)),
      async (node) => (await stores[node]!.readManifest())?.revision,
    );
  } finally {
    for (const store of stores) await store.close();
  }
});

test('jetstream store - different tasks of a job have separate buckets', async () => {
  await using server = await startNatsServer();
  await using counter = await open(server);
  await using other = await open(server, { task: 'counter-2' });
  await counter.putPart('p', bytesOf('counter'));
  await counter.commitManifest(bytesOf('counter manifest'), undefined);
  assert.equal(await other.listParts(), []);
  assert.is(await other.readManifest(), undefined);
  assert.is.not(counter.description, other.description);
});

test('jetstream store - writes retried across a server restart; every committed manifest names parts that are complete', async () => {
  await using server = await startNatsServer();
  await using store = await open(server);
  const written = new Map<string, Buffer>();
  let revision: number | undefined;
  let restart: Promise<void> | undefined;
  for (let checkpoint = 1; checkpoint <= 6; checkpoint++) {
    const parts = [`cp-${checkpoint}.a`, `cp-${checkpoint}.b`];
    const puts = parts.map((name, index) => {
      const bytes = randomBytes(index === 0 ? 2 * 1024 * 1024 : 1000);
      written.set(name, bytes);
      return store.putPart(name, bytes);
    });
    // The server goes down while the 2 MB part is being uploaded: stopped at checkpoint 3, crashed at 5.
    if (checkpoint === 3) restart = server.restart();
    if (checkpoint === 5) restart = restart!.then(() => server.kill()).then(() => server.restart());
    await Promise.all(puts);
    revision = await store.commitManifest(bytesOf(JSON.stringify(parts)), revision);
    // What a restoring reader sees now: the manifest, and every part it names, complete.
    const manifest = await store.readManifest();
    assert.is(manifest?.revision, revision);
    for (const name of JSON.parse(text(manifest!.bytes)) as string[]) {
      assert.ok(Buffer.from(await store.getPart(name)).equals(written.get(name)!), `${name} is complete`);
    }
  }
  await restart;
  assert.ok(
    server.log().filter((line) => line.includes('Server is ready')).length >= 3,
    'the server was restarted twice',
  );
  assert.equal(await store.listParts(), [...written.keys()].sort());
});

test('jetstream store - an upload cut short by a crash leaves the part absent or complete, never partial', async () => {
  await using server = await startNatsServer();
  await using store = await open(server, { retry: { maxAttempts: 1 }, requestTimeoutMs: 1_000 });
  const big = randomBytes(8 * 1024 * 1024);
  const put = store.putPart('cp-1.state', big);
  const killed = server.kill();
  assert.is(await codeOf(put), 'CHECKPOINT_STORE_UNAVAILABLE');
  await killed;
  await server.restart();
  await using reader = await open(server);
  const read = await reader.getPart('cp-1.state').then(
    (bytes) => (Buffer.from(bytes).equals(big) ? 'complete' : `partial (${bytes.length} bytes)`),
    (error: { code?: string }) => error.code,
  );
  assert.ok(read === 'CHECKPOINT_PART_MISSING' || read === 'complete', read);
  // The writer never committed a manifest for it, so none exists.
  assert.is(await reader.readManifest(), undefined);
});

test('jetstream store - clear removes every part and the manifest; the store then reads as new', async () => {
  await using server = await startNatsServer();
  await using store = await open(server);
  await store.putPart('a', bytesOf('a'));
  await store.putPart('b', randomBytes(3 * 1024 * 1024));
  await store.commitManifest(bytesOf('m'), undefined);
  await store.clear();
  assert.equal(await store.listParts(), []);
  assert.is(await store.readManifest(), undefined);
  assert.is(await codeOf(store.getPart('b')), 'CHECKPOINT_PART_MISSING');
  const revision = await store.commitManifest(bytesOf('fresh'), undefined);
  assert.is((await store.readManifest())?.revision, revision);
});

test('jetstream store - close is idempotent, later calls fail, and a connection passed in stays open', async () => {
  await using server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  try {
    const store = await openJetStreamCheckpointStore({ job: 'wordcount', task: 'counter', connection: nc });
    await store.putPart('a', bytesOf('a'));
    await Promise.all([store.close(), store.close()]);
    await store.close();
    assert.is(await codeOf(store.getPart('a')), 'LIFECYCLE_ERROR');
    assert.not.ok(nc.isClosed(), 'the caller owns its connection');
  } finally {
    await nc.close();
  }
});

test('jetstream store - a process that used a store and closed it exits on its own (no handles left)', async () => {
  await using server = await startNatsServer();
  const script = `
    import { openJetStreamCheckpointStore } from './runtime/checkpoint/jetstream-store.ts';
    const store = await openJetStreamCheckpointStore({ job: 'wordcount', task: 'counter', servers: process.argv[1] });
    await store.putPart('p', new Uint8Array(2_000_000));
    await store.getPart('p');
    await store.listParts();
    const revision = await store.commitManifest(new Uint8Array([1]), undefined);
    await store.commitManifest(new Uint8Array([2]), revision).then(() => store.commitManifest(new Uint8Array([3]), revision)).catch(() => {});
    await store.readManifest();
    await store.close();
    console.log('closed');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, server.url], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // Not a timing assertion: a generous bound so a leaked handle fails the test instead of hanging it.
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  assert.is(signal, null, `the process had to be killed: something kept it alive\n${output}`);
  assert.is(code, 0, output);
  assert.match(output, 'closed');
});

test('jetstream store - the checkpoint layer writes, restores in a new instance, and fences the stale writer', async () => {
  await using server = await startNatsServer();
  await using first = await open(server);
  const options = { jobId: 'wordcount', mergeKeyGroupParts: toyMerge, fullEvery: 100, maxChainLength: 100 };
  const writer = createCheckpoints(first, options);
  const state = new ToyState();
  for (let i = 0; i < 20_000; i++) state.set(`key-${i}-${'x'.repeat(40)}`, i);
  await writer.write({ inputs: { in: 20_000 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  state.delete('key-7-' + 'x'.repeat(40));
  state.set('extra', 1);
  await writer.write({ inputs: { in: 20_002 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });

  await using second = await open(server);
  const reader = createCheckpoints(second, options);
  const restored = await reader.load();
  assert.is(restored?.descriptor.inputs['in'], 20_002);
  assert.equal(ToyState.restore(restored!.restoreFor('s', 0)).values, state.values);

  // The restored instance commits next; the old one, still holding the older revision, is fenced.
  await reader.write({ inputs: { in: 20_003 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
  state.set('late', 2);
  assert.is(
    await codeOf(
      writer.write({ inputs: { in: 20_004 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] }),
    ),
    'CHECKPOINT_FENCED',
  );
});

test('jetstream store - options are checked', async () => {
  assert.is(await codeOf(openJetStreamCheckpointStore({ job: 'j', task: 't' })), 'CHECKPOINT_CONFIG');
  assert.is(
    await codeOf(openJetStreamCheckpointStore({ job: '', task: 't', servers: 'nats://127.0.0.1:1' })),
    'CHECKPOINT_CONFIG',
  );
  assert.is(
    await codeOf(
      openJetStreamCheckpointStore({ job: 'j', task: 't', servers: 'nats://127.0.0.1:1', bucketPrefix: 'a.b' }),
    ),
    'CHECKPOINT_CONFIG',
  );
});

for (const how of ['delete', 'purge'] as const) {
  test(`jetstream store - a manifest key removed by kv ${how} outside stator reads as new and the next commit succeeds (as with the file store)`, async () => {
    await using server = await startNatsServer();
    await using store = await open(server);
    const options = { jobId: 'wordcount', mergeKeyGroupParts: toyMerge };
    const before = createCheckpoints(store, options);
    const state = new ToyState();
    state.set('a', 1);
    await before.write({ inputs: { in: 1 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
    await before.close();

    const nc = await connect({ servers: server.url });
    try {
      const kv = await new Kvm(jetstream(nc)).open(store.bucket);
      await (how === 'delete' ? kv.delete('manifest') : kv.purge('manifest'));
    } finally {
      await nc.close();
    }
    assert.is(await store.readManifest(), undefined);

    // A start: lease, then checkpoints; no "changed by another writer (expected revision none, found none)".
    const after = createCheckpoints(store, options);
    assert.is(await after.load(), undefined);
    await after.acquireLease();
    state.set('b', 2);
    await after.write({ inputs: { in: 2 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] });
    assert.equal((await after.list()).length, 1);

    // Fencing still holds: a writer that also read "no manifest" before that commit is fenced.
    assert.is(await codeOf(store.commitManifest(bytesOf('stale'), undefined)), 'CHECKPOINT_FENCED');
    await after.close();
  });
}

test('jetstream store - a corrupt current manifest falls back to the KV history; a bucket of an older version gets that history', async () => {
  await using server = await startNatsServer();
  // A bucket as older versions created it: history 1.
  const nc = await connect({ servers: server.url });
  try {
    const kvm = new Kvm(jetstream(nc));
    await kvm.create('stator-wordcount-counter', { history: 1 });
    await using store = await open(server);
    const options = { jobId: 'wordcount', mergeKeyGroupParts: toyMerge };
    const writer = createCheckpoints(store, options);
    const state = new ToyState();
    for (let round = 1; round <= 2; round++) {
      state.set('k', round);
      await writer.write({
        inputs: { in: round },
        partitions: [{ stage: 's', partition: 0, capture: state.capture() }],
      });
    }
    // Bit rot in the current manifest (a new revision with one bit flipped: the server's files are not ours to edit).
    const kv = await kvm.open(store.bucket);
    const current = (await kv.get('manifest'))!;
    const flipped = current.value.slice();
    flipped[flipped.length - 2]! ^= 0x01;
    await kv.put('manifest', flipped);

    const reader = createCheckpoints(store, options);
    const restored = await reader.load();
    assert.is(restored!.info.id, 2, 'the previous revision lists both checkpoints');
    assert.is(ToyState.restore(restored!.restoreFor('s', 0)).values.get('k'), 2);
    assert.match(reader.manifestFallback!.message, /used the previous manifest \(revision \d+, checkpoints 1, 2\)/);
    state.set('k', 3);
    assert.is(
      (await reader.write({ inputs: { in: 3 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] }))
        .info.id,
      3,
    );
    assert.is(
      await codeOf(
        writer.write({ inputs: { in: 4 }, partitions: [{ stage: 's', partition: 0, capture: state.capture() }] }),
      ),
      'CHECKPOINT_FENCED',
    );
  } finally {
    await nc.close();
  }
});

test.run();
