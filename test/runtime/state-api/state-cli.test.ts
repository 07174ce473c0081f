// `stator state get|put|delete`: a stopped job's state from its checkpoints; writes through a running job's server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { killAll, runCli, startCli, tempDir } from '../support/cli.ts';
import { httpUrlOf } from '../support/http.ts';

const tmp = tempDir('state-cli');
test.after(() => {
  killAll();
  tmp.remove();
});
const input = join(tmp.dir, 'in.txt');
const stateDir = join(tmp.dir, 'state');

test('get reads a stopped job from its checkpoints; put and delete go through the running job', async () => {
  writeFileSync(input, 'a b a\n');
  const ran = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'out.jsonl'),
    '--state-dir',
    stateDir,
  ]);
  assert.is(ran.code, 0, ran.stderr);
  const got = await runCli(['state', 'get', 'examples/wordcount.ts', '--key', 'a', '--state-dir', stateDir]);
  assert.is(got.code, 0, got.stderr);
  const read = JSON.parse(got.stdout) as { key: string; value: unknown; etag: string };
  assert.equal(read.value, { count: 2 });
  assert.type(read.etag, 'string');
  const absent = await runCli(['state', 'get', 'examples/wordcount.ts', '--key', 'zzz', '--state-dir', stateDir]);
  assert.equal(JSON.parse(absent.stdout), { key: 'zzz', value: null });
  assert.is(absent.stderr, '', 'a key without state in a checkpoint is a null, with nothing on stderr');
  const put = await runCli([
    'state',
    'put',
    'examples/wordcount.ts',
    '--key',
    'a',
    '--value',
    '{"count":5}',
    '--state-dir',
    stateDir,
  ]);
  assert.is(put.code, 2);
  assert.match(put.stderr, /writes are applied by the running job; pass its server with --url/);

  const { child, done } = startCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'out.jsonl'),
    '--state-dir',
    stateDir,
    '--follow',
    '--http',
    '127.0.0.1:0',
  ]);
  const url = await httpUrlOf(child);
  const stale = await runCli([
    'state',
    'put',
    'examples/wordcount.ts',
    '--key',
    'a',
    '--value',
    '{"count":5}',
    '--etag',
    'AAAAAAAAAAAAAAAAAAAAAA',
    '--url',
    url,
  ]);
  assert.is(stale.code, 1, "a first-write with an ETag that is not the key's: 409, exit 1");
  assert.match(stale.stderr, /409: possible etag mismatch/);
  const written = await runCli([
    'state',
    'put',
    'examples/wordcount.ts',
    '--key',
    'a',
    '--value',
    '{"count":5}',
    '--etag',
    read.etag,
    '--url',
    url,
  ]);
  assert.is(written.code, 0, written.stderr);
  const strong = await runCli(['state', 'get', 'examples/wordcount.ts', '--key', 'a', '--url', url]);
  assert.equal((JSON.parse(strong.stdout) as { value: unknown }).value, { count: 5 });
  const deleted = await runCli(['state', 'delete', 'examples/wordcount.ts', '--key', 'b', '--url', url]);
  assert.is(deleted.code, 0, deleted.stderr);
  child.kill('SIGTERM');
  await done;
  const after = await runCli(['state', 'get', 'examples/wordcount.ts', '--key', 'b', '--state-dir', stateDir]);
  assert.equal(JSON.parse(after.stdout), { key: 'b', value: null }, 'the delete is in the final checkpoint');
  const bad = await runCli(['state', 'frobnicate', 'examples/wordcount.ts']);
  assert.is(bad.code, 2);
});

test('get from a --state-dir where the job never checkpointed says so on stderr, besides its null', async () => {
  const elsewhere = join(tmp.dir, 'not-the-state-dir');
  const got = await runCli(['state', 'get', 'examples/wordcount.ts', '--key', 'a', '--state-dir', elsewhere]);
  assert.is(got.code, 0, got.stderr);
  assert.equal(JSON.parse(got.stdout), { key: 'a', value: null });
  assert.match(
    got.stderr,
    /^stator: no checkpoint of job wordcount in file:\S*not-the-state-dir\S*: every key reads as null there; is --state-dir the job's \(default \.\/state\)\?\n$/,
  );
});

test('get from checkpoints refuses an unknown --stage as a bad argument (exit 2), as it does over HTTP and NATS', async () => {
  const result = await runCli([
    'state',
    'get',
    'examples/wordcount.ts',
    '--key',
    'a',
    '--stage',
    'nope',
    '--state-dir',
    join(tmp.dir, 'no-stage'),
  ]);
  assert.is(result.code, 2, result.stderr);
  assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /^stator: 400: state store "wordcount.nope" is not found: .*wordcount.count/);
});

test('an unreachable or malformed --url is exit 2 with the reason, not a bare "fetch failed"', async () => {
  const get = (url: string) => runCli(['state', 'get', 'examples/wordcount.ts', '--key', 'a', '--url', url]);
  // A port that was free a moment ago: nothing listens there, so the connection is refused.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const refused = await get(`http://127.0.0.1:${port}`);
  assert.is(refused.code, 2, refused.stderr);
  assert.is(refused.stderr.trim().split('\n').length, 1, refused.stderr);
  assert.match(
    refused.stderr,
    /cannot reach http:\/\/127\.0\.0\.1:\d+: fetch failed \(connect ECONNREFUSED.*; is the job running with --http there\?/,
  );
  const malformed = await get('localhost:3500');
  assert.is(malformed.code, 2, malformed.stderr);
  assert.match(
    malformed.stderr,
    /--url localhost:3500 is not an http:\/\/ or https:\/\/ URL; e\.g\. --url http:\/\/127\.0\.0\.1:3500/,
  );
});

test.run();
