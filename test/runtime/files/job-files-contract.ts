// The behaviour every JobFiles implementation promises, run against each (directory, Object Store).
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import type { ClosableJobFiles } from '../../../runtime/files/closable-job-files.ts';

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function rejects(promise: Promise<unknown>, code: string): Promise<Error & { code: string }> {
  try {
    await promise;
  } catch (error) {
    assert.is((error as { code?: string }).code, code, (error as Error).message);
    return error as Error & { code: string };
  }
  assert.unreachable(`expected a rejection with ${code}`);
  throw new Error('unreachable');
}

/** Registers the contract's tests on `suite`; `open(maxBytes)` opens a fresh, empty area. */
export function jobFilesContract(suite: Test, open: (maxBytes?: number) => Promise<ClosableJobFiles>): void {
  suite('put then get, stat, list and path return what was put, with the Object Store digest', async () => {
    await using files = await open();
    const info = await files.put('tables/zip.json', '{"10115":"Berlin"}');
    assert.is(info.name, 'tables/zip.json');
    assert.is(info.size, 18);
    // sha256 of the bytes, base64url: the digest format NATS uses, in both modes.
    const expected = `SHA-256=${(await import('node:crypto')).createHash('sha256').update('{"10115":"Berlin"}').digest('base64url')}=`;
    assert.is(info.digest, expected);
    assert.is(Buffer.from(await files.get('tables/zip.json')).toString(), '{"10115":"Berlin"}');
    const stat = await files.stat('tables/zip.json');
    assert.is(stat?.digest, info.digest);
    assert.is(stat?.size, 18);
    assert.ok(Math.abs((stat?.modifiedMs ?? 0) - Date.now()) < 60_000);
    assert.is(await files.stat('tables/missing.json'), undefined);
    assert.is((await readFile(await files.path('tables/zip.json'))).toString(), '{"10115":"Berlin"}');
  });

  suite('put takes bytes, text, a web stream and a Node Readable; getStream streams the contents back', async () => {
    await using files = await open();
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    await files.put('bytes.bin', new Uint8Array(big));
    assert.ok(Buffer.from(await files.get('bytes.bin')).equals(big));
    await files.put(
      'web.bin',
      Readable.toWeb(Readable.from([big.subarray(0, 1000), big.subarray(1000)])) as ReadableStream<Uint8Array>,
    );
    assert.ok((await readAll(await files.getStream('web.bin'))).equals(big));
    await files.put('node.txt', Readable.from([Buffer.from('a'), Buffer.from('b')]));
    assert.is(Buffer.from(await files.get('node.txt')).toString(), 'ab');
    const empty = await files.put('empty', new Uint8Array(0));
    assert.is(empty.size, 0);
    assert.is((await files.get('empty')).length, 0);
    assert.is((await readAll(await files.getStream('empty'))).length, 0);
  });

  suite('list filters by prefix and sorts by name; delete removes a file and says whether it existed', async () => {
    await using files = await open();
    for (const name of ['b.txt', 'models/en.bin', 'models/de.bin', 'more.txt', 'a.txt']) await files.put(name, name);
    assert.equal(
      (await files.list()).map((e) => e.name),
      ['a.txt', 'b.txt', 'models/de.bin', 'models/en.bin', 'more.txt'],
    );
    assert.equal(
      (await files.list('models/')).map((e) => e.name),
      ['models/de.bin', 'models/en.bin'],
    );
    assert.equal(
      (await files.list('mo')).map((e) => e.name),
      ['models/de.bin', 'models/en.bin', 'more.txt'],
    );
    assert.equal(
      (await files.list('zzz')).map((e) => e.name),
      [],
    );
    assert.is((await files.list('models/en'))[0]?.size, 'models/en.bin'.length);
    assert.is(await files.delete('models/en.bin'), true);
    assert.is(await files.delete('models/en.bin'), false);
    assert.is(await files.stat('models/en.bin'), undefined);
    await rejects(files.get('models/en.bin'), 'FILE_NOT_FOUND');
    await rejects(files.getStream('models/en.bin'), 'FILE_NOT_FOUND');
    await rejects(files.path('models/en.bin'), 'FILE_NOT_FOUND');
    assert.equal(
      (await files.list('models/')).map((e) => e.name),
      ['models/de.bin'],
    );
  });

  suite('a put replaces the previous version; expectedDigest works like an ETag', async () => {
    await using files = await open();
    const v1 = await files.put('model.bin', 'version 1');
    const v2 = await files.put('model.bin', 'version 2', { expectedDigest: v1.digest });
    assert.is.not(v2.digest, v1.digest);
    const stale = await rejects(
      files.put('model.bin', 'version 3', { expectedDigest: v1.digest }),
      'FILE_DIGEST_MISMATCH',
    );
    assert.match(stale.message, /another writer/);
    assert.is(Buffer.from(await files.get('model.bin')).toString(), 'version 2');
    await rejects(files.put('model.bin', 'again', { expectedDigest: null }), 'FILE_DIGEST_MISMATCH');
    await files.put('fresh.bin', 'first', { expectedDigest: null });
    await rejects(files.put('fresh.bin', 'second', { expectedDigest: null }), 'FILE_DIGEST_MISMATCH');
    await rejects(files.put('absent.bin', 'x', { expectedDigest: v2.digest }), 'FILE_DIGEST_MISMATCH');
    assert.is(await files.stat('absent.bin'), undefined);
    // A deleted file counts as absent.
    await files.delete('fresh.bin');
    await files.put('fresh.bin', 'third', { expectedDigest: null });
    assert.is(Buffer.from(await files.get('fresh.bin')).toString(), 'third');
  });

  suite('names that escape the area are refused before anything is touched', async () => {
    await using files = await open();
    for (const name of ['../escape', '/etc/passwd', 'a/../../b', '..', 'a//b', 'a\\..\\b', '']) {
      await rejects(files.put(name, 'x'), 'FILE_NAME_INVALID');
      await rejects(files.get(name), 'FILE_NAME_INVALID');
      await rejects(files.stat(name), 'FILE_NAME_INVALID');
      await rejects(files.path(name), 'FILE_NAME_INVALID');
      await rejects(files.delete(name), 'FILE_NAME_INVALID');
    }
    assert.equal(await files.list(), []);
  });

  suite('the size limit refuses a put that would exceed it, keeping what was there', async () => {
    await using files = await open(1000);
    assert.is(files.maxBytes, 1000);
    await files.put('a.bin', new Uint8Array(600));
    const error = await rejects(files.put('b.bin', new Uint8Array(500)), 'FILES_LIMIT_EXCEEDED');
    assert.match(error.message, /over the limit of 1000 bytes/);
    assert.match(error.message, /delete files you no longer need, or raise the limit/);
    // Streams are counted as they are written.
    await rejects(
      files.put('c.bin', Readable.from([new Uint8Array(300), new Uint8Array(300)])),
      'FILES_LIMIT_EXCEEDED',
    );
    assert.equal(
      (await files.list()).map((e) => e.name),
      ['a.bin'],
    );
    // Replacing a file counts its new size instead of its old one.
    await files.put('a.bin', new Uint8Array(1000));
    assert.is((await files.stat('a.bin'))?.size, 1000);
  });

  suite('after close every call is refused with FilesClosedError; close is idempotent', async () => {
    const files = await open();
    await files.close();
    await files.close();
    await rejects(
      Promise.resolve().then(() => files.put('a', 'x')),
      'FILES_CLOSED',
    );
    await rejects(
      Promise.resolve().then(() => files.list()),
      'FILES_CLOSED',
    );
  });
}
