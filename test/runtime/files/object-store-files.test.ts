import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { jetstream } from '@nats-io/jetstream';
import { filesBucketName, openObjectStoreFiles } from '../../../runtime/files/object-store-files.ts';
import { startNatsServer, type NatsServerHandle } from '../../support/index.ts';
import { jobFilesContract } from './job-files-contract.ts';

const root = mkdtempSync(join(tmpdir(), 'stator-object-store-files-'));
let server: NatsServerHandle;
let nc: NatsConnection;
let n = 0;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? `not a StatorError: ${String(error)}`;
  }
  return 'resolved';
}

const contract = suite('object store files (NATS mode): contract');
contract.before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});
jobFilesContract(contract, (maxBytes) =>
  openObjectStoreFiles({ connection: nc, job: `contract-${++n}`, cacheDir: join(root, `c${n}`), maxBytes }),
);
contract.run();

const own = suite('object store files (NATS mode)');

/** An area of its own job and cache whose files are stored in chunks of `chunkBytes`. */
const openWithChunks = (job: string, chunkBytes: number) =>
  openObjectStoreFiles({ connection: nc, job, cacheDir: join(root, job), chunkBytes });
own.after(async () => {
  await nc.close();
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

own(
  'the bucket is stator-<job>-files in the Object Store layout: nats.js reads what the area wrote, and back',
  async () => {
    await using files = await openObjectStoreFiles({ connection: nc, job: 'layout', cacheDir: join(root, 'layout') });
    assert.is(files.description, 'nats:stator-layout-files');
    assert.is(filesBucketName('word-count'), 'stator-word_2dcount-files');
    const big = Buffer.alloc(300_000, 7);
    const info = await files.put('models/en.bin', big);
    const os = await new Objm(jetstream(nc)).open('stator-layout-files');
    const seen = await os.info('models/en.bin');
    assert.is(seen?.digest, info.digest);
    assert.is(seen?.chunks, 3);
    assert.ok(Buffer.from((await os.getBlob('models/en.bin'))!).equals(big));
    await os.putBlob({ name: 'from-nats-js.txt' }, Buffer.from('hi'));
    assert.is(Buffer.from(await files.get('from-nats-js.txt')).toString(), 'hi');
    // Names beyond ASCII are UTF-8 in the subject, as the nats CLI encodes them.
    await files.put('tables/zürich ✓.json', '{}');
    assert.equal(
      (await files.list('tables/')).map((e) => e.name),
      ['tables/zürich ✓.json'],
    );
    // A replaced version's chunks are purged: only the current chunks and one metadata message per name remain.
    await files.put('models/en.bin', 'small');
    const jsm = await jetstreamManager(nc);
    const stream = await jsm.streams.info('OBJ_stator-layout-files', { subjects_filter: '$O.stator-layout-files.C.>' });
    assert.is(Object.keys(stream.state.subjects ?? {}).length, 3);
  },
);

own('two areas on one job (two workers) see each other’s writes as soon as put resolves', async () => {
  await using a = await openObjectStoreFiles({ connection: nc, job: 'shared', cacheDir: join(root, 'sa') });
  const other = await connect({ servers: server.url });
  try {
    await using b = await openObjectStoreFiles({ connection: other, job: 'shared', cacheDir: join(root, 'sb') });
    const v1 = await a.put('table.json', '[1]');
    assert.is((await b.stat('table.json'))?.digest, v1.digest);
    assert.is(readFileSync(await b.path('table.json'), 'utf8'), '[1]');
    const v2 = await b.put('table.json', '[2]', { expectedDigest: v1.digest });
    assert.is(Buffer.from(await a.get('table.json')).toString(), '[2]');
    assert.is((await a.stat('table.json'))?.digest, v2.digest);
    assert.is(await a.delete('table.json'), true);
    assert.is(await b.stat('table.json'), undefined);
    assert.is(await b.delete('table.json'), false);
  } finally {
    await other.close();
  }
});

own('expectedDigest between concurrent writers on separate connections: exactly one wins', async () => {
  const connections = await Promise.all(Array.from({ length: 6 }, () => connect({ servers: server.url })));
  try {
    const areas = await Promise.all(
      connections.map((connection, i) =>
        openObjectStoreFiles({ connection, job: 'race', cacheDir: join(root, `race-${i}`) }),
      ),
    );
    const base = await areas[0]!.put('counter', 'base');
    for (const expected of [base.digest, null]) {
      if (expected === null) await areas[0]!.delete('counter');
      const outcomes = await Promise.all(
        areas.map((area, i) =>
          codeOf(area.put('counter', `writer ${i} `.repeat(30_000), { expectedDigest: expected })),
        ),
      );
      assert.is(outcomes.filter((code) => code === 'resolved').length, 1, outcomes.join(','));
      assert.is(outcomes.filter((code) => code === 'FILE_DIGEST_MISMATCH').length, areas.length - 1);
      const winner = outcomes.indexOf('resolved');
      assert.is(Buffer.from(await areas[3]!.get('counter')).toString(), `writer ${winner} `.repeat(30_000));
    }
    // The losers wrote nothing: the stream holds the winner's chunks only.
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('OBJ_stator-race-files', { subjects_filter: '$O.stator-race-files.C.>' });
    assert.is(Object.keys(info.state.subjects ?? {}).length, 1);
    await Promise.all(areas.map((area) => area.close()));
  } finally {
    await Promise.all(connections.map((connection) => connection.close()));
  }
});

own(
  'without expectedDigest, concurrent writers of one name: the last commit wins and no chunks are left behind',
  async () => {
    await using files = await openObjectStoreFiles({ connection: nc, job: 'lww', cacheDir: join(root, 'lww') });
    await Promise.all(Array.from({ length: 8 }, (_, i) => files.put('f', Buffer.alloc(200_000, i))));
    const final = await files.get('f');
    assert.is(final.length, 200_000);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('OBJ_stator-lww-files', { subjects_filter: '$O.stator-lww-files.C.>' });
    assert.is(Object.keys(info.state.subjects ?? {}).length, 1);
  },
);

own(
  'path(): downloads once, a restart reuses the verified copy, a corrupted copy is detected and fetched again',
  async () => {
    const cacheDir = join(root, 'cache');
    const content = Buffer.alloc(500_000);
    for (let i = 0; i < content.length; i++) content[i] = (i * 13) & 0xff;
    let inode: number;
    {
      await using files = await openObjectStoreFiles({ connection: nc, job: 'cache', cacheDir });
      await files.put('models/m.bin', content);
      const path = await files.path('models/m.bin');
      assert.is(path, join(cacheDir, 'models', 'm.bin'));
      assert.ok(readFileSync(path).equals(content));
      inode = statSync(path).ino;
      assert.is(await files.path('models/m.bin'), path);
      assert.is(statSync(path).ino, inode);
    }
    // A restart: a new area on the same cache hashes the copy, finds it current, and keeps it.
    {
      await using files = await openObjectStoreFiles({ connection: nc, job: 'cache', cacheDir });
      const path = await files.path('models/m.bin');
      assert.is(statSync(path).ino, inode, 'the restart downloaded the file again');
      // Corrupt the copy in place (same size, same inode): detected by digest, downloaded again.
      const bad = Buffer.from(content);
      bad[1234] = bad[1234]! ^ 0xff;
      writeFileSync(path, bad);
      const again = await files.path('models/m.bin');
      assert.ok(readFileSync(again).equals(content));
      assert.is.not(statSync(again).ino, inode);
      // A new version elsewhere replaces the copy on the next path().
      await files.put('models/m.bin', 'v2');
      assert.is(readFileSync(await files.path('models/m.bin'), 'utf8'), 'v2');
    }
    {
      // Corrupted while no process ran: caught on the first path() of the next one.
      writeFileSync(join(cacheDir, 'models', 'm.bin'), 'v3');
      await using files = await openObjectStoreFiles({ connection: nc, job: 'cache', cacheDir });
      assert.is(readFileSync(await files.path('models/m.bin'), 'utf8'), 'v2');
      // The cache can hold a name and a folder of the same name in turn (the Object Store holds both).
      await files.put('models/m.bin/inner', 'x');
      assert.is(readFileSync(await files.path('models/m.bin/inner'), 'utf8'), 'x');
      assert.is(readFileSync(await files.path('models/m.bin'), 'utf8'), 'v2');
      // delete drops the local copy.
      await files.delete('models/m.bin');
      assert.throws(() => statSync(join(cacheDir, 'models', 'm.bin')));
    }
  },
);

own('path(): a copy of many chunks holds them in order, however its writes are scheduled', async () => {
  await using files = await openWithChunks('many-chunks', 1024);
  const content = Buffer.alloc(2_000_000);
  for (let i = 0; i < content.length; i++) content[i] = (i * 31 + (i >> 10)) & 0xff;
  await files.put('big.bin', content);
  assert.ok(readFileSync(await files.path('big.bin')).equals(content));
});

own('a chunk altered in the stream is reported as FileCorruptError, by get, getStream and path', async () => {
  await using files = await openObjectStoreFiles({ connection: nc, job: 'corrupt', cacheDir: join(root, 'corrupt') });
  const info = await files.put('x.bin', Buffer.alloc(1000, 1));
  // Rewrite the metadata with another digest: what a damaged chunk looks like to a reader.
  const os = await new Objm(jetstream(nc)).open('stator-corrupt-files');
  const meta = await os.info('x.bin');
  const jsm = await jetstreamManager(nc);
  const message = await jsm.streams.getMessage('OBJ_stator-corrupt-files', {
    last_by_subj: `$O.stator-corrupt-files.M.${Buffer.from('x.bin').toString('base64url')}=`,
  });
  assert.ok(message !== null && meta !== null);
  const body = { ...message.json<Record<string, unknown>>(), digest: info.digest.replace(/^SHA-256=./, 'SHA-256=A') };
  await jetstream(nc).publish(message.subject, JSON.stringify(body));
  assert.is(await codeOf(files.get('x.bin')), 'FILE_CORRUPT');
  assert.is(await codeOf(files.path('x.bin')), 'FILE_CORRUPT');
  const stream = await files.getStream('x.bin');
  assert.is(
    await codeOf(
      (async () => {
        for await (const _ of stream as unknown as AsyncIterable<Uint8Array>);
      })(),
    ),
    'FILE_CORRUPT',
  );
});

own('create: false refuses a job without a bucket (a tool must not create one)', async () => {
  const error = await openObjectStoreFiles({
    connection: nc,
    job: 'never-ran',
    cacheDir: join(root, 'never'),
    create: false,
  }).catch((e: unknown) => e as Error & { code: string });
  assert.is((error as { code?: string }).code, 'FILES_UNAVAILABLE');
  assert.match((error as Error).message, /no file area for job never-ran/);
  const jsm = await jetstreamManager(nc);
  assert.is(
    await jsm.streams.info('OBJ_stator-never_2dran-files').then(
      () => 'exists',
      () => 'missing',
    ),
    'missing',
  );
});

own('property: put/get round trip of random bytes across chunk boundaries (small chunks)', async () => {
  await using files = await openWithChunks('property', 64);
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 0, maxLength: 700 }),
      fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 6 }),
      async (bytes, cuts) => {
        // The same bytes as one array and as a stream cut at arbitrary points.
        const pieces: Uint8Array[] = [];
        let at = 0;
        for (const cut of cuts) {
          if (at >= bytes.length) break;
          pieces.push(bytes.subarray(at, at + cut));
          at += cut;
        }
        pieces.push(bytes.subarray(at));
        const whole = await files.put('p.bin', bytes);
        const streamed = await files.put(
          'p.bin',
          (async function* () {
            yield* pieces;
          })(),
        );
        assert.is(streamed.digest, whole.digest);
        assert.is(streamed.size, bytes.length);
        assert.ok(Buffer.from(await files.get('p.bin')).equals(Buffer.from(bytes)));
        assert.ok(readFileSync(await files.path('p.bin')).equals(Buffer.from(bytes)));
      },
    ),
    { numRuns: 40 },
  );
});

own.run();
