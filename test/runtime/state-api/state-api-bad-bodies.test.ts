// Saves whose body the server cannot read whole (cut short of its Content-Length, or compressed) are
// refused with a JSON error, and nothing of them is written (embedded mode, a running wordcount).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createLogger, createRuntime, files } from '../../../runtime/index.ts';
import type { JobRuntime } from '../../../runtime/index.ts';
import { startHttpServer } from '../../../runtime/http/index.ts';
import type { HttpServer } from '../../../runtime/http/index.ts';
import { job as wordcount } from '../../../examples/wordcount.ts';
import { waitFor } from '../../support/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'stator-state-bad-bodies-'));
const logger = createLogger('silent');
const input = join(dir, 'in.txt');

let http: HttpServer;
let runtime: JobRuntime;
let running: Promise<unknown>;

/** The key's count, read strongly through the state API. */
async function countOf(key: string): Promise<number | undefined> {
  const response = await fetch(`${http.url}/v1.0/state/wordcount/${key}`);
  if (response.status === 204) return undefined;
  return ((await response.json()) as { count: number }).count;
}

test.before(async () => {
  writeFileSync(input, 'cat\n');
  http = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
  runtime = createRuntime({
    job: wordcount,
    transport: files({ input, output: join(dir, 'out.jsonl'), stateDir: join(dir, 'state'), follow: true }),
    logger,
    http,
    checkpointIntervalMs: 60_000,
  });
  running = runtime.run();
  await waitFor(async () => (await countOf('cat')) === 1, 'the input to be counted');
});

test.after(async () => {
  await runtime.stop();
  await running;
  await http.close();
  rmSync(dir, { recursive: true, force: true });
});

const save = JSON.stringify([{ key: 'cat', value: { count: 99 } }]);

test('a save whose body ends before its Content-Length is a JSON 400 and writes nothing', async () => {
  // The bytes sent are a whole save: only the Content-Length says more was to come.
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(http.address.port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    const length = Buffer.byteLength(save) + 60;
    socket.write(`POST /v1.0/state/wordcount HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${length}\r\n\r\n${save}`);
    socket.end();
  });
  assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(answer, /\r\nContent-Type: application\/json; charset=utf-8\r\n/);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { errorCode: string; message: string };
  assert.is(body.errorCode, 'ERR_MALFORMED_REQUEST');
  assert.match(
    body.message,
    new RegExp(`ended after ${Buffer.byteLength(save)} of its ${Buffer.byteLength(save) + 60} bytes`),
  );
  assert.is(await countOf('cat'), 1, 'nothing was written');
});

test('a gzip-encoded save is refused with 415 and writes nothing', async () => {
  const response = await fetch(`${http.url}/v1.0/state/wordcount`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
    body: gzipSync(save),
  });
  assert.is(response.status, 415);
  assert.is(response.headers.get('accept-encoding'), 'identity');
  assert.is(((await response.json()) as { errorCode: string }).errorCode, 'ERR_UNSUPPORTED_CONTENT_ENCODING');
  assert.is(await countOf('cat'), 1, 'nothing was written');
  const plain = await fetch(`${http.url}/v1.0/state/wordcount`, { method: 'POST', body: save });
  assert.is(plain.status, 204, 'the same save uncompressed is written');
  assert.is(await countOf('cat'), 99);
});

test.run();
