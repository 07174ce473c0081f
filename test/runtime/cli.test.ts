import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, runCli, tempDir } from './support/cli.ts';

const tmp = tempDir('cli');
// Job modules live in an ES module package, as in a user's project.
writeFileSync(join(tmp.dir, 'package.json'), '{ "type": "module" }\n');
test.after(() => {
  killAll();
  tmp.remove();
});

test('stator --help prints the commands and exits 0', async () => {
  const result = await runCli(['--help']);
  assert.is(result.code, 0);
  assert.match(result.stdout, /stator <command>/);
  assert.match(result.stdout, /checkpoints list/);
});

test('stator run --help prints its options and exits 0', async () => {
  const result = await runCli(['run', '--help']);
  assert.is(result.code, 0);
  assert.match(result.stdout, /--state-dir/);
  assert.match(result.stdout, /--checkpoint-interval/);
});

test('an unknown option is one line on stderr and exit code 2', async () => {
  const result = await runCli(['run', 'examples/wordcount.ts', '--bogus']);
  assert.is(result.code, 2);
  assert.is(result.stderr.trim().split('\n').length, 1);
  assert.match(result.stderr, /--bogus/);
});

test('a bad --checkpoint-interval is exit code 2', async () => {
  const result = await runCli(['run', 'examples/wordcount.ts', '--input', 'x', '--output', 'y', '--checkpoint-interval', 'soon']);
  assert.is(result.code, 2);
  assert.match(result.stderr, /--checkpoint-interval soon/);
});

test('embedded mode without --input is exit code 2 and says what to pass', async () => {
  const result = await runCli(['run', 'examples/wordcount.ts', '--output', join(tmp.dir, 'o.jsonl')]);
  assert.is(result.code, 2);
  assert.match(result.stderr, /--input/);
});

test('a missing job module is exit code 3', async () => {
  const result = await runCli(['run', join(tmp.dir, 'nope.ts'), '--input', 'x', '--output', join(tmp.dir, 'o.jsonl')]);
  assert.is(result.code, 3);
  assert.match(result.stderr, /not found/);
  assert.is(result.stderr.trim().split('\n').length, 1);
});

test('a module that exports no job is exit code 4 and lists its exports', async () => {
  const module = join(tmp.dir, 'nojob.ts');
  writeFileSync(module, 'export const answer = 42;\n');
  const result = await runCli(['run', module, '--input', 'x', '--output', join(tmp.dir, 'o.jsonl')]);
  assert.is(result.code, 4);
  assert.match(result.stderr, /exports no job \(exports: answer\)/);
});

test('a module that fails to load is exit code 3 with the reason', async () => {
  const module = join(tmp.dir, 'broken.ts');
  writeFileSync(module, 'throw new Error("boom at import");\n');
  const result = await runCli(['run', module, '--input', 'x', '--output', join(tmp.dir, 'o.jsonl')]);
  assert.is(result.code, 3);
  assert.match(result.stderr, /boom at import/);
});

test('a missing input file is exit code 2 naming the file', async () => {
  const result = await runCli(['run', 'examples/wordcount.ts', '--input', join(tmp.dir, 'missing.txt'), '--output', join(tmp.dir, 'o.jsonl'), '--state-dir', join(tmp.dir, 's')]);
  assert.is(result.code, 2);
  assert.match(result.stderr, /missing\.txt/);
});

test('an unknown command is exit code 2', async () => {
  const result = await runCli(['frobnicate']);
  assert.is(result.code, 2);
  assert.match(result.stderr, /unknown command/);
});

test('NATS_URL selects NATS mode, never embedded: an unreachable server is a non-zero exit', async () => {
  const result = await runCli(['run', 'examples/wordcount.ts'], { env: { NATS_URL: 'nats://127.0.0.1:1' } });
  // Either NATS mode is not in this build (6), or it is and fails to connect (non-zero): never embedded.
  assert.ok(result.code !== 0);
  assert.not.match(result.stderr, /embedded mode needs --input/);
});

test('a flipped bit in the MANIFEST file: the rerun falls back to MANIFEST.prev, says so, and gives the same output (exit 0, not 5)', async () => {
  const state = join(tmp.dir, 'flip-state');
  const output = join(tmp.dir, 'flip.jsonl');
  const args = ['run', 'examples/wordcount.ts', '--input', 'examples/data/sample.txt', '--output', output, '--state-dir', state];
  const first = await runCli(args);
  assert.is(first.code, 0, first.stderr);
  const expected = readFileSync(output, 'utf8');
  const manifest = join(state, 'wordcount', 'main', 'MANIFEST');
  const bytes = readFileSync(manifest);
  bytes[bytes.length - 5]! ^= 0x10; // a bit of the manifest's msgpack body, under its checksum
  writeFileSync(manifest, bytes);
  const second = await runCli(args);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stderr, /manifest is corrupt: checksum mismatch.*used the previous manifest/);
  assert.is(readFileSync(output, 'utf8'), expected);
});

test.run();
