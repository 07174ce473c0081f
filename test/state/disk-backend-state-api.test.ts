// The state API on the disk backend, as a user runs it: far more keys than a 32 KiB budget holds,
// so the keys the API reads and writes have been evicted to the local store and are read back. A
// key's ETag is part of its state: it must be the same whether the key is in the heap cache or on
// disk, must change only when the key does, and must survive a SIGKILL (whose restart restores
// cold from the checkpoints: a killed run's local copy is never reused) with every acknowledged
// write applied once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { killAll, startCli, tempDir } from '../runtime/support/cli.ts';
import { httpUrlOf } from '../runtime/support/http.ts';
import { waitFor } from '../support/index.ts';

const tmp = tempDir('disk-backend-state-api');
test.after(() => {
  killAll();
  tmp.remove();
});

const input = join(tmp.dir, 'in.txt');
const WORDS = 3000;

/** Every word w0..w(WORDS-1) once, ten a line. */
function allWords(): string {
  const lines: string[] = [];
  for (let i = 0; i < WORDS; i += 10)
    lines.push(Array.from({ length: Math.min(10, WORDS - i) }, (_, j) => `w${i + j}`).join(' '));
  return lines.join('\n') + '\n';
}

function start(): { child: ChildProcess; url: Promise<string>; done: Promise<unknown> } {
  const { child, done } = startCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'out.jsonl'),
    '--state-dir',
    join(tmp.dir, 'state'),
    '--state-backend',
    'disk',
    '--state-memory',
    '32KiB',
    '--follow',
    '--http',
    '127.0.0.1:0',
    '--checkpoint-interval',
    '200',
  ]);
  return { child, url: httpUrlOf(child), done };
}

/** A strong read: the count and the ETag, or undefined when the key has no state. */
async function read(url: string, key: string): Promise<{ count: number; etag: string } | undefined> {
  const response = await fetch(`${url}/v1.0/state/wordcount/${key}?consistency=strong`);
  if (response.status === 204) return undefined;
  assert.is(response.status, 200, await response.clone().text());
  return { count: ((await response.json()) as { count: number }).count, etag: response.headers.get('etag')! };
}

/** A key's count, or undefined while the job is not running yet (a strong read answers 503 then). */
async function countOnceUp(url: string, key: string): Promise<number | undefined> {
  const response = await fetch(`${url}/v1.0/state/wordcount/${key}?consistency=strong`);
  return response.status === 200 ? ((await response.json()) as { count: number }).count : undefined;
}

async function save(url: string, key: string, count: number, etag: string): Promise<number> {
  const body = [{ key, value: { count }, etag, options: { concurrency: 'first-write' } }];
  const response = await fetch(`${url}/v1.0/state/wordcount`, { method: 'POST', body: JSON.stringify(body) });
  await response.arrayBuffer();
  return response.status;
}

test('ETags and writes of evicted keys: stable across eviction, first-write-wins, intact after SIGKILL', async () => {
  writeFileSync(input, allWords() + allWords());
  let run = start();
  let url = await run.url;
  await waitFor(async () => (await countOnceUp(url, `w${WORDS - 1}`)) === 2, 'the input to be counted');

  // w0 was last written 3,000 keys ago: read back from the store, twice, with one ETag.
  const before = (await read(url, 'w0'))!;
  assert.is(before.count, 2);
  assert.equal(await read(url, 'w0'), before, 'a read changes nothing');

  assert.is(await save(url, 'w0', 500, before.etag), 204);
  assert.is(await save(url, 'w0', 600, before.etag), 409, 'the stale ETag loses');
  const written = (await read(url, 'w0'))!;
  assert.is(written.count, 500);
  assert.is.not(written.etag, before.etag);

  // Every other key again: w0 is evicted with its new value and ETag, and read back.
  appendFileSync(input, allWords().replace(/\bw0 /, ''));
  await waitFor(async () => (await read(url, `w${WORDS - 1}`))?.count === 3, 'the second pass');
  assert.equal(await read(url, 'w0'), written, 'eviction keeps the value and the ETag');
  assert.is((await read(url, 'w1500'))!.count, 3);

  // SIGKILL right after an acknowledged write to another evicted key.
  const w1 = (await read(url, 'w1'))!;
  assert.is(await save(url, 'w1', 7, w1.etag), 204);
  const w1Written = (await read(url, 'w1'))!;
  run.child.kill('SIGKILL');
  await run.done;

  run = start();
  url = await run.url;
  await waitFor(async () => (await countOnceUp(url, 'w1')) === 7, 'the restart', {
    limitMs: 30_000,
  });
  assert.equal(await read(url, 'w1'), w1Written);
  assert.equal(await read(url, 'w0'), written);
  assert.is((await read(url, `w${WORDS - 1}`))!.count, 3);
  assert.is(await save(url, 'w0', 9, before.etag), 409, 'the ETag before the write stays stale');
  assert.is(await save(url, 'w0', 9, written.etag), 204);
  assert.is((await read(url, 'w0'))!.count, 9);
  run.child.kill('SIGTERM');
  await run.done;
});

test.run();
