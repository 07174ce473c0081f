import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, runCli, startCli, tempDir } from './support/cli.ts';
import { httpUrlOf } from './support/http.ts';

const tmp = tempDir('cli-http');
test.after(() => {
  killAll();
  tmp.remove();
});

test('stator run --http 127.0.0.1:0 serves /healthz while the job runs and closes with it', async () => {
  const input = join(tmp.dir, 'in.txt');
  writeFileSync(input, 'alpha beta\n');
  const { child, done } = startCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'out.jsonl'),
    '--state-dir',
    join(tmp.dir, 'state'),
    '--follow',
    '--http',
    '127.0.0.1:0',
  ]);
  const url = await httpUrlOf(child);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const health = await fetch(`${url}/healthz`);
  assert.is(health.status, 200);
  assert.is(((await health.json()) as { status: string }).status, 'ok');
  const missing = await fetch(`${url}/nothing-here`);
  assert.is(missing.status, 404);
  assert.is(((await missing.json()) as { errorCode: string }).errorCode, 'ERR_NOT_FOUND');
  child.kill('SIGTERM');
  const result = await done;
  assert.is(result.code, 0, result.stderr);
  await fetch(`${url}/healthz`).then(
    () => assert.unreachable('the server still answers after exit'),
    (error: Error & { cause?: { code?: string } }) => assert.is(error.cause?.code, 'ECONNREFUSED'),
  );
});

test('a malformed --http is exit code 2 naming the flag', async () => {
  const result = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    'x',
    '--output',
    join(tmp.dir, 'o.jsonl'),
    '--http',
    'localhost',
  ]);
  assert.is(result.code, 2);
  assert.match(result.stderr, /--http "localhost": no port/);
});

test('an --http port in use is exit code 2 saying so', async () => {
  const input = join(tmp.dir, 'in2.txt');
  writeFileSync(input, 'alpha\n');
  const first = startCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'o1.jsonl'),
    '--state-dir',
    join(tmp.dir, 's1'),
    '--follow',
    '--http',
    ':0',
  ]);
  const url = await httpUrlOf(first.child);
  const port = new URL(url).port;
  const second = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'o2.jsonl'),
    '--state-dir',
    join(tmp.dir, 's2'),
    '--http',
    `127.0.0.1:${port}`,
  ]);
  assert.is(second.code, 2, second.stderr);
  assert.match(second.stderr, /in use/);
  first.child.kill('SIGTERM');
  assert.is((await first.done).code, 0);
});

test.run();
