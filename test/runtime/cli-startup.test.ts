// What `stator` loads at start: a command loads its own modules only, and the packages that only
// some runs use (lmdb for the disk backend, the NATS client for --nats, prom-client for --http,
// pino for --log-format json) load with those runs only, also when the job module imports all of
// stator's runtime API; of rxjs, a run loads the classes it uses, not rxjs's index of every operator.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { embeddedRunArgs, killAll, runCli, tempDir } from './support/cli.ts';

const tmp = tempDir('cli-startup');
const recorder = fileURLToPath(new URL('./support/loaded-packages.mjs', import.meta.url));
test.after(() => {
  killAll();
  tmp.remove();
});

const DEFERRED = ['lmdb', '@nats-io/transport-node', '@nats-io/nats-core', '@nats-io/jetstream', 'prom-client', 'pino'];
/** rxjs's CommonJS index, which requires all of rxjs's 224 files. */
const RXJS_INDEX = '/node_modules/rxjs/dist/cjs/index.js';

let runs = 0;

/** Runs `stator <args>` with the recorder preloaded: its exit code and the deferred packages it loaded. */
async function loadedBy(
  args: readonly string[],
): Promise<{ code: number | null; packages: string[]; rxjsIndex: boolean; rxjsFiles: number; stderr: string }> {
  const log = join(tmp.dir, `loaded-${++runs}.txt`);
  const result = await runCli(args, {
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${recorder}`.trim(),
      STATOR_TEST_LOADED_LOG: log,
    },
  });
  const loaded = readFileSync(log, 'utf8');
  return {
    code: result.code,
    packages: DEFERRED.filter((name) => loaded.includes(`/node_modules/${name}/`)),
    rxjsIndex: loaded.includes(RXJS_INDEX),
    rxjsFiles: loaded.split('\n').filter((line) => line.includes('/node_modules/rxjs/')).length,
    stderr: result.stderr,
  };
}

function files(name: string): { input: string; output: string; stateDir: string } {
  const input = join(tmp.dir, `${name}.txt`);
  writeFileSync(input, 'to be or not to be\n');
  return { input, output: join(tmp.dir, `${name}.jsonl`), stateDir: join(tmp.dir, `${name}-state`) };
}

test('stator --help loads none of lmdb, the NATS client and prom-client', async () => {
  const result = await loadedBy(['--help']);
  assert.is(result.code, 0, result.stderr);
  assert.equal(result.packages, []);
});

test('a heap-backend run without --nats or --http loads none of them (its job imports the whole runtime API)', async () => {
  const run = files('heap');
  const result = await loadedBy(embeddedRunArgs(run));
  assert.is(result.code, 0, result.stderr);
  assert.equal(result.packages, []);
  assert.is(readFileSync(run.output, 'utf8').trim().split('\n').length, 6);
  // Subject and BehaviorSubject with what they need (20 files with rxjs 7.8), not the 224 of its index.
  assert.not.ok(result.rxjsIndex, `${RXJS_INDEX} was loaded`);
  assert.ok(result.rxjsFiles > 0 && result.rxjsFiles < 40, `${result.rxjsFiles} rxjs files loaded`);
});

test('a run with --log-format json loads pino, and only it', async () => {
  const run = files('json');
  const result = await loadedBy(embeddedRunArgs(run, ['--log-format', 'json']));
  assert.is(result.code, 0, result.stderr);
  assert.equal(result.packages, ['pino']);
  assert.match(result.stderr, /^\{"level":"info",.*"job":"wordcount".*"msg":"running job wordcount/m);
});

test('a disk-backend run loads lmdb, and only it', async () => {
  const run = files('disk');
  const result = await loadedBy(embeddedRunArgs(run, ['--state-backend', 'disk']));
  assert.is(result.code, 0, result.stderr);
  assert.equal(result.packages, ['lmdb']);
});

test('a run with --http loads prom-client, and only it', async () => {
  const run = files('http');
  const result = await loadedBy(embeddedRunArgs(run, ['--http', '127.0.0.1:0']));
  assert.is(result.code, 0, result.stderr);
  assert.equal(result.packages, ['prom-client']);
});

test.run();
