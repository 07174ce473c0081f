// The package as a user gets it: `npm pack` (prepack builds dist/), the tarball installed into a fresh
// application in a temp directory, then used the ways the README says — plain node, node --test, tsc
// with a stock nodenext config, `npx stator run` of a .mjs and a .ts job — and checked by attw.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// Children run as a user's would: no loader inherited from this test process.
const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '' };
const timeout = 600_000;
const maxBuffer = 64 * 1024 * 1024;

const COUNT_TASK = `
const COUNT = StateTags.value('count', VarLongCoder.of());
class CountPerKey extends StatefulTask {
  open() { this.count = this.state(COUNT); }
  invoke(message, ctx) {
    const n = Number(this.count.read() ?? 0) + 1;
    this.count.write(n);
    ctx.emit(\`\${message.key}: \${n}\`);
  }
}
`;

const APP_MJS = `
import { StatefulTask, StateTags, StringUtf8Coder, VarLongCoder } from 'stator';
import { CoderUtils, VarIntCoder } from 'stator/coders';
import { defineJob, createRuntime, files } from 'stator/runtime';
import { TaskHarness } from 'stator/testing';
import { partitionOf } from 'stator/client';
${COUNT_TASK}
const h = TaskHarness.of(() => new CountPerKey(), { keyCoder: StringUtf8Coder.of() });
await h.open();
for (const word of ['to', 'be', 'to']) await h.process(word, word, 1000);
console.log(JSON.stringify({
  outputs: h.outputValues(),
  varint300: [...CoderUtils.encodeToByteArray(VarIntCoder.of(), 300)],
  runtime: [typeof defineJob, typeof createRuntime, typeof files],
  partitions: ['alice', 'zoë'].map((key) => partitionOf(key, 3)),
}));
`;

const NODE_TEST_MJS = `
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatefulTask, StateTags, StringUtf8Coder, VarLongCoder } from 'stator';
import { TaskHarness } from 'stator/testing';
${COUNT_TASK}
test('counts per key, and a restored task goes on counting', async () => {
  const h = TaskHarness.of(() => new CountPerKey(), { keyCoder: StringUtf8Coder.of() });
  await h.open();
  for (const word of ['to', 'be', 'to']) await h.process(word, word, 1000);
  assert.deepEqual(h.outputValues(), ['to: 1', 'be: 1', 'to: 2']);
  const h2 = await TaskHarness.restore(() => new CountPerKey(), h.snapshot(), { keyCoder: StringUtf8Coder.of() });
  await h2.process('to', 'to', 2000);
  assert.deepEqual(h2.outputValues(), ['to: 3']);
});
`;

const JOB_MJS = `
import { StatefulTask, StateTags, StringUtf8Coder, VarLongCoder } from 'stator';
import { defineJob, lines, text } from 'stator/runtime';
${COUNT_TASK}
export default defineJob({ name: 'count-mjs' })
  .source(lines())
  .keyBy((line) => line, StringUtf8Coder.of())
  .process(() => new CountPerKey())
  .sink(text());
`;

// A TypeScript consumer: type-checked with tsc, and run as a job by \`npx stator run\`.
const JOB_TS = `
import { StatefulTask, StateTags, StringUtf8Coder, VarLongCoder } from 'stator';
import type { Message, ProcessContext, TaskContext, ValueState } from 'stator';
import { CoderUtils } from 'stator/coders';
import type { Coder } from 'stator/coders';
import { createRuntime, defineJob, files, json, lines } from 'stator/runtime';
import type { CheckpointStore, Job, JobRuntime } from 'stator/runtime';
import { TaskHarness } from 'stator/testing';
import { partitionOf } from 'stator/client';

export interface WordCount {
  readonly word: string;
  readonly count: number;
}

const COUNT = StateTags.value('count', VarLongCoder.of());

export class CountWords extends StatefulTask<string, WordCount, string> {
  private count!: ValueState<number | bigint>;
  override open(_ctx: TaskContext): void {
    this.count = this.state(COUNT);
  }
  override invoke(message: Message<string, string>, ctx: ProcessContext<WordCount, string>): void {
    const count = Number(this.count.read() ?? 0) + 1;
    this.count.write(count);
    ctx.emit({ word: message.key, count });
  }
}

export const job: Job = defineJob({ name: 'count-ts' })
  .source(lines())
  .flatMap((line) => line.split(/\\s+/).filter((word) => word.length > 0))
  .keyBy((word) => word, StringUtf8Coder.of())
  .process(() => new CountWords(), { name: 'count' })
  .sink(json<WordCount>());

export default job;

// Not run by the job: type-checked only.
export async function typesOnly(): Promise<void> {
  const coder: Coder<string> = StringUtf8Coder.of();
  const bytes: Uint8Array = CoderUtils.encodeToByteArray(coder, 'x');
  const harness = TaskHarness.of(() => new CountWords(), { keyCoder: coder });
  await harness.open();
  await harness.process('a', 'a', 1);
  const counts: WordCount[] = harness.outputValues();
  const runtime: JobRuntime = createRuntime({ job, transport: files({ input: 'in.txt', output: 'out.jsonl' }) });
  await runtime.run();
  const store: CheckpointStore | undefined = undefined;
  void store;
  const partition: number = partitionOf(new TextEncoder().encode('key'), 8);
  void partition;
  void bytes;
  void counts;
}
`;

// The README's "Run a job from your own code": imports the job module by its .ts name, as Node's type
// stripping and tsx run it.
const MAIN_TS = `
import { createRuntime, files, nats } from 'stator/runtime';
import { job } from './job.ts';

const controller = new AbortController();
process.once('SIGTERM', () => controller.abort());
const runtime = createRuntime({
  job,
  transport: files({ input: 'in.txt', output: 'out/counts.jsonl', stateDir: './state' }),
  signal: controller.signal,
  checkpointIntervalMs: 5000,
});
const other = nats({ servers: 'nats://127.0.0.1:4222', connection: { token: process.env.TOKEN } });
runtime.stateChanges.subscribe((state) => console.log('state', state));
runtime.events.subscribe((event) => {
  if (event.type === 'checkpoint') console.log('checkpoint', event.checkpointId);
});
const result = await runtime.run();
console.log(result.reason, result.messagesRead, result.checkpoints, other);
`;

// The README's tsconfig.json, with skipLibCheck false spelled out.
const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    target: 'es2022',
    types: ['node'],
    strict: true,
    allowImportingTsExtensions: true,
    skipLibCheck: false,
    noEmit: true,
  },
  include: ['job.ts', 'main.ts'],
};

let work = '';
let app = '';
let tarball = '';

test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'stator-packed-'));
  app = join(work, 'app');
  // --ignore-scripts=false: prepack (the build) must run even where a user's npm config disables scripts.
  const packed = await run(npm, ['pack', '--json', '--pack-destination', work, '--ignore-scripts=false'], {
    cwd: root,
    env,
    timeout,
    maxBuffer,
  });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string }];
  tarball = join(work, info.filename);
  const typesNode = JSON.parse(await readFile(join(root, 'node_modules/@types/node/package.json'), 'utf8')) as {
    version: string;
  };
  await mkdir(app);
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'stator-consumer', private: true, type: 'module' }, null, 2),
  );
  await run(
    npm,
    ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, `@types/node@${typesNode.version}`],
    { cwd: app, env, timeout, maxBuffer },
  );
  await writeFile(join(app, 'app.mjs'), APP_MJS);
  await writeFile(join(app, 'count.test.mjs'), NODE_TEST_MJS);
  await writeFile(join(app, 'job.mjs'), JOB_MJS);
  await writeFile(join(app, 'job.ts'), JOB_TS);
  await writeFile(join(app, 'main.ts'), MAIN_TS);
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  await writeFile(join(app, 'in.txt'), 'to be or not to be\nto\n');
});

test.after(async () => {
  if (work !== '') await rm(work, { recursive: true, force: true });
});

test('the tarball ships dist/ with declarations and no test/, bench/, .ci/ or sources', async () => {
  const { stdout } = await run('tar', ['-tzf', tarball], { maxBuffer });
  const paths = stdout.split('\n').filter((line) => line.length > 0);
  for (const expected of [
    'package/dist/src/index.js',
    'package/dist/src/index.d.ts',
    'package/dist/src/testing.d.ts',
    'package/dist/runtime/client.d.ts',
    'package/dist/runtime/cli/main.js',
    'package/dist/runtime/status/page/index.html',
    'package/dist/runtime/status/page/status.js',
    'package/dist/runtime/status/page/status.css',
  ]) {
    assert.ok(paths.includes(expected), `${expected} missing from the tarball`);
  }
  const unwanted = paths.filter(
    (path) =>
      /^package\/(test|bench|\.ci|examples|docs|scratch)\//.test(path) ||
      (/\.ts$/.test(path) && !/\.d\.ts$/.test(path)),
  );
  assert.equal(unwanted, []);
});

test('plain node imports stator, stator/coders, stator/runtime, stator/testing and stator/client and runs a TaskHarness', async () => {
  const { stdout } = await run(process.execPath, ['app.mjs'], { cwd: app, env, timeout });
  assert.equal(JSON.parse(stdout), {
    outputs: ['to: 1', 'be: 1', 'to: 2'],
    varint300: [172, 2],
    runtime: ['function', 'function', 'function'],
    // FNV-1a 32 of the UTF-8 bytes, modulo 3 (what nats-server's {{partition(3,1)}} gives these keys).
    partitions: [2, 1],
  });
});

test('node --test runs a TaskHarness test', async () => {
  const { stdout } = await run(process.execPath, ['--test', 'count.test.mjs'], { cwd: app, env, timeout });
  assert.match(stdout, /# pass 1/);
  assert.match(stdout, /# fail 0/);
});

test('tsc --noEmit passes over a TypeScript consumer (module nodenext, skipLibCheck false)', async () => {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const result = await run(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json'], {
    cwd: app,
    env,
    timeout,
    maxBuffer,
  }).catch((error: { stdout?: string }) => {
    assert.unreachable(`tsc reported errors:\n${error.stdout ?? String(error)}`);
  });
  assert.equal(result?.stdout, '');
});

test('npx stator run runs a .mjs job and a .ts job embedded', async () => {
  await run(
    'npx',
    [
      '--no-install',
      'stator',
      'run',
      'job.mjs',
      '--input',
      'in.txt',
      '--output',
      'out-mjs.txt',
      '--state-dir',
      'state',
    ],
    { cwd: app, env, timeout },
  );
  assert.equal((await readFile(join(app, 'out-mjs.txt'), 'utf8')).split('\n'), ['to be or not to be: 1', 'to: 1', '']);
  await run(
    'npx',
    [
      '--no-install',
      'stator',
      'run',
      'job.ts',
      '--input',
      'in.txt',
      '--output',
      'out-ts.jsonl',
      '--state-dir',
      'state',
    ],
    { cwd: app, env, timeout },
  );
  const counts = (await readFile(join(app, 'out-ts.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { word: string; count: number });
  const last = new Map(counts.map(({ word, count }) => [word, count]));
  assert.equal(Object.fromEntries(last), { to: 3, be: 2, or: 1, not: 1 });
});

test('a .ts job in a package without "type": "module" (npm init -y writes commonjs) runs too', async () => {
  const cjs = join(work, 'cjs-app');
  await mkdir(cjs);
  await writeFile(join(cjs, 'package.json'), JSON.stringify({ name: 'cjs-app', version: '1.0.0', type: 'commonjs' }));
  await writeFile(join(cjs, 'job.ts'), JOB_TS.replace("name: 'count-ts'", "name: 'count-cjs'"));
  await writeFile(join(cjs, 'in.txt'), 'a b a\n');
  // The app's stator: node resolves it from the first app's node_modules through a symlink.
  await run('ln', ['-s', join(app, 'node_modules'), join(cjs, 'node_modules')]);
  await run(
    join(cjs, 'node_modules/.bin/stator'),
    ['run', 'job.ts', '--input', 'in.txt', '--output', 'out.jsonl', '--state-dir', 'state'],
    { cwd: cjs, env, timeout },
  );
  assert.equal((await readFile(join(cjs, 'out.jsonl'), 'utf8')).trim().split('\n').length, 3);
});

test('a job module with a syntax error fails with one line naming the error and its location', async () => {
  await writeFile(join(app, 'broken.mjs'), "import { defineJob } from 'stator/runtime';\nconst x = ;\n");
  const failure = await run(
    'npx',
    ['--no-install', 'stator', 'run', 'broken.mjs', '--input', 'in.txt', '--output', 'x.txt'],
    { cwd: app, env, timeout },
  ).then(
    () => ({ code: 0, stderr: 'a broken job ran' }),
    (error: { code: number; stderr: string }) => error,
  );
  assert.is(failure.code, 3);
  const lines = failure.stderr.trim().split('\n');
  assert.equal(lines.length, 1, failure.stderr);
  assert.match(lines[0]!, /syntax error: Unexpected token ';' at .*broken\.mjs:2/);
});

test('attw finds no problem with the packed types', async () => {
  const attw = join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js');
  // esm-only: stator is an ES module package (CommonJS callers use require(esm) or import()).
  const result = await run(process.execPath, [attw, tarball, '--profile', 'esm-only', '--format', 'ascii'], {
    cwd: root,
    env,
    timeout,
    maxBuffer,
  }).catch((error: { stdout?: string }) =>
    assert.unreachable(`attw reported problems:\n${error.stdout ?? String(error)}`),
  );
  // Exit code 0 is attw's verdict (it exits 1 on any problem the profile counts); it checked every entry point.
  for (const entry of ['stator', 'stator/coders', 'stator/runtime', 'stator/testing', 'stator/client']) {
    assert.ok((result?.stdout ?? '').includes(`"${entry}"`), `attw did not check ${entry}:\n${result?.stdout ?? ''}`);
  }
});

test.run();
