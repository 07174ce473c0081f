import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { mountSmallFilesystem, reportSkipped } from '../support/small-filesystem.ts';
import { join } from 'node:path';
import { embeddedRunArgs, killAll, root, runCli, tempDir } from './support/cli.ts';
import { ExitCode } from '../../runtime/cli/exit-codes.ts';

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
  // Every command's description starts in one column, the longest name's included.
  const commands = result.stdout.slice(result.stdout.indexOf('Commands:\n') + 'Commands:\n'.length).split('\n\n')[0]!;
  const columns = commands.split('\n').map((row) => /^ {2}\S.*? {2,}(?=\S)/.exec(row)?.[0].length);
  assert.ok(columns.length >= 7 && columns.every((column) => column === columns[0]), commands);
});

test('stator run --help prints its options and exits 0', async () => {
  const result = await runCli(['run', '--help']);
  assert.is(result.code, 0);
  assert.match(result.stdout, /--state-dir/);
  assert.match(result.stdout, /--checkpoint-interval/);
});

test('stator run --help lists exactly the exit codes the command has', async () => {
  const result = await runCli(['run', '--help']);
  const listed = /Exit codes: ([^]*)$/.exec(result.stdout)![1]!;
  const codes = [...listed.matchAll(/(?:^|,\s+)(\d+) /g)].map((match) => Number(match[1]));
  assert.equal(
    codes.sort((a, b) => a - b),
    Object.values(ExitCode).sort((a, b) => a - b),
  );
});

test('a run of one line says so in the singular: 1 message read, 1 checkpoint written, 0 dead letters', async () => {
  const input = join(tmp.dir, 'one-line.txt');
  writeFileSync(input, 'alpha alpha\n');
  const result = await runCli(
    embeddedRunArgs({ input, output: join(tmp.dir, 'one-line.jsonl'), stateDir: join(tmp.dir, 'one-line-state') }),
  );
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, /: 1 key changed,/);
  assert.match(result.stderr, /job wordcount completed: 1 message read, 1 checkpoint written, 0 dead letters\n/);
});

test('an unknown option is one line on stderr and exit code 2', async () => {
  const result = await runCli(['run', 'examples/wordcount.ts', '--bogus']);
  assert.is(result.code, 2);
  assert.is(result.stderr.trim().split('\n').length, 1);
  assert.match(result.stderr, /--bogus/);
});

test('a bad --checkpoint-interval is exit code 2', async () => {
  const result = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    'x',
    '--output',
    'y',
    '--checkpoint-interval',
    'soon',
  ]);
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

test('a module whose export is close to a job (no sink, a task class, another name) is exit code 4 saying what to change', async () => {
  const from = (path: string) => JSON.stringify(pathToFileURL(join(root, path)).href);
  const header =
    `import { StatefulTask, StringUtf8Coder } from ${from('src/index.ts')};\n` +
    `import { defineJob, json, lines } from ${from('runtime/index.ts')};\n` +
    'export class Echo extends StatefulTask { invoke(m, ctx) { ctx.output(m.value); } }\n';
  const chain = "defineJob({ name: 'near' }).source(lines()).keyBy((l) => l, StringUtf8Coder.of())";
  const cases = [
    [
      `export const job = ${chain}.process(() => new Echo());`,
      /^job is a defineJob\(\.\.\.\) chain without its sink: end it with \.sink\(json\(\)\)/,
    ],
    [
      `export default ${chain};`,
      /^default is a defineJob\(\.\.\.\) chain that ends at keyBy\(\.\.\.\): add \.process\(/,
    ],
    ['export default Echo;', /^default is a task class, not a job: .*\.process\(\(\) => new Echo\(\)\)/],
    [
      `export const wordcount = ${chain}.process(() => new Echo()).sink(json());`,
      /^wordcount is a job: export it as `export default wordcount`/,
    ],
  ] as const;
  for (const [index, [body, expected]] of cases.entries()) {
    const module = join(tmp.dir, `near-${index}.mjs`);
    writeFileSync(module, `${header}${body}\n`);
    const result = await runCli(['run', module, '--input', 'x', '--output', join(tmp.dir, 'o.jsonl')]);
    assert.is(result.code, 4, result.stderr);
    const advice = /exports no job \(exports: [^)]*\): (.*)\n$/.exec(result.stderr);
    assert.ok(advice, result.stderr);
    assert.match(advice[1]!, expected);
  }
});

test('a module that fails to load is exit code 3 with the reason', async () => {
  const module = join(tmp.dir, 'broken.ts');
  writeFileSync(module, 'throw new Error("boom at import");\n');
  const result = await runCli(['run', module, '--input', 'x', '--output', join(tmp.dir, 'o.jsonl')]);
  assert.is(result.code, 3);
  assert.match(result.stderr, /boom at import/);
});

test('a module importing a name its dependency does not export is exit code 3 naming it, not a "syntax error"', async () => {
  writeFileSync(join(tmp.dir, 'dep.mjs'), 'export const there = 1;\n');
  const module = join(tmp.dir, 'missing-export.mjs');
  writeFileSync(module, "import { StatefullTask } from './dep.mjs';\nexport default StatefullTask;\n");
  const result = await runCli(['run', module, '--input', 'x', '--output', join(tmp.dir, 'o.jsonl')]);
  assert.is(result.code, 3);
  assert.match(
    result.stderr,
    /failed to load: The requested module '\.\/dep\.mjs' does not provide an export named 'StatefullTask' at \S*missing-export\.mjs:1\n$/,
  );
  assert.not.match(result.stderr, /syntax error/);
});

test('a task factory that throws fails the run in one line naming the stage, then where the job threw: exit code 1', async () => {
  const result = await runCli(
    embeddedRunArgs({
      job: 'test/runtime/fixtures/factory-throws-job.ts',
      input: 'examples/data/sample.txt',
      output: join(tmp.dir, 'factory-throws.jsonl'),
      stateDir: join(tmp.dir, 'factory-throws-state'),
    }),
  );
  assert.is(result.code, 1, result.stderr);
  const report = result.stderr.slice(result.stderr.indexOf('stator: '));
  assert.match(
    report,
    /^stator: the task factory of stage broken threw: the task factory failed\nstator: thrown by the job's code:\nError: the task factory failed\n\s+at (?:\S+\.)?brokenTask \(.*factory-throws-job\.ts:\d+:\d+\)/,
  );
  assert.not.match(report, /unexpected error/);
});

test('a missing input file is exit code 2 naming the file', async () => {
  const result = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    join(tmp.dir, 'missing.txt'),
    '--output',
    join(tmp.dir, 'o.jsonl'),
    '--state-dir',
    join(tmp.dir, 's'),
  ]);
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
  const args = [
    'run',
    'examples/wordcount.ts',
    '--input',
    'examples/data/sample.txt',
    '--output',
    output,
    '--state-dir',
    state,
  ];
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

test('a directory given as --input is exit code 2 saying so', async () => {
  const dir = join(tmp.dir, 'a-directory');
  mkdirSync(dir, { recursive: true });
  const result = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    dir,
    '--output',
    join(tmp.dir, 'd.jsonl'),
    '--state-dir',
    join(tmp.dir, 'd-state'),
  ]);
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, /input .*a-directory is a directory; pass a file with --input/);
  assert.not.match(result.stderr, /EISDIR/);
});

test('a full disk under --output fails the run with a message naming the output file', async () => {
  const fs = mountSmallFilesystem(32 * 1024);
  if (typeof fs === 'string') return reportSkipped('cli - full disk output', fs);
  try {
    // The sample's ~1,900 outputs are ~60 KB: more than the 32 KiB file system holds.
    const output = join(fs.path, 'out.jsonl');
    const result = await runCli([
      'run',
      'examples/wordcount.ts',
      '--input',
      'examples/data/sample.txt',
      '--output',
      output,
      '--state-dir',
      join(tmp.dir, 'enospc-state'),
    ]);
    assert.is(result.code, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`cannot write ${output.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOSPC`));
  } finally {
    fs.unmount();
  }
});

test('a full disk under --state-dir fails the final checkpoint saying nothing is lost; the run again after it gives the exact output', async () => {
  const fs = mountSmallFilesystem(256 * 1024);
  if (typeof fs === 'string') return reportSkipped('cli - full disk state', fs);
  try {
    // 20,000 distinct words: a full checkpoint of ~800 KB, more than the 256 KiB file system holds.
    const input = join(tmp.dir, 'many-words.txt');
    writeFileSync(
      input,
      Array.from({ length: 2000 }, (_, i) => Array.from({ length: 10 }, (_, j) => `w${i * 10 + j}`).join(' ')).join(
        '\n',
      ) + '\n',
    );
    const run = (output: string, state: string) =>
      runCli(['run', 'examples/wordcount.ts', '--input', input, '--output', output, '--state-dir', state]);
    const reference = join(tmp.dir, 'many-words-reference.jsonl');
    assert.is((await run(reference, join(tmp.dir, 'many-words-reference-state'))).code, 0);

    const output = join(tmp.dir, 'many-words.jsonl');
    const full = await run(output, join(fs.path, 'state'));
    assert.is(full.code, 1, full.stderr);
    const last = full.stderr.trim().split('\n').at(-1)!;
    assert.match(last, /the final checkpoint was not written: checkpoint store .* failed to .*ENOSPC/);
    assert.match(last, /nothing is lost: .*run again: the job resumes from its last committed checkpoint/);
    assert.not.match(last, /retried at the next checkpoint/);

    // The same state directory, moved where there is room: the rerun gives one uninterrupted run's output.
    const roomy = join(tmp.dir, 'many-words-state');
    cpSync(join(fs.path, 'state'), roomy, { recursive: true });
    const again = await run(output, roomy);
    assert.is(again.code, 0, again.stderr);
    assert.is(readFileSync(output, 'utf8'), readFileSync(reference, 'utf8'));
  } finally {
    fs.unmount();
  }
});

test('state, checkpoints and dead letters are private to the user (0700/0600); the output follows the umask; an existing output emptied at a first run is logged', async () => {
  const state = join(tmp.dir, 'private-state');
  const output = join(tmp.dir, 'private.jsonl');
  const deadLetter = join(tmp.dir, 'private.dead.jsonl');
  writeFileSync(output, 'left over from an earlier run\n');
  const result = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    'examples/data/sample.txt',
    '--output',
    output,
    '--dead-letter',
    deadLetter,
    '--state-dir',
    state,
  ]);
  assert.is(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /private\.jsonl exists with 30 bytes that no checkpoint covers \(a first run, or the job's checkpoints were cleared\): emptying it/,
  );
  const mode = (path: string): number => statSync(path).mode & 0o777;
  const umask = process.umask();
  for (const dir of [
    state,
    join(state, 'wordcount'),
    join(state, 'wordcount', 'main'),
    join(state, 'wordcount', 'main', 'parts'),
  ])
    assert.is(mode(dir), 0o700 & ~umask, dir);
  assert.is(mode(join(state, 'wordcount', 'main', 'MANIFEST')), 0o600 & ~umask);
  assert.is(mode(join(state, 'wordcount', 'main', 'MANIFEST.prev')), 0o600 & ~umask);
  const parts = join(state, 'wordcount', 'main', 'parts');
  for (const part of readdirSync(parts)) assert.is(mode(join(parts, part)), 0o600 & ~umask, part);
  assert.is(mode(deadLetter), 0o600 & ~umask);
  // A new output file is created as the umask says.
  const fresh = join(tmp.dir, 'fresh.jsonl');
  const second = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    'examples/data/sample.txt',
    '--output',
    fresh,
    '--state-dir',
    join(tmp.dir, 'fresh-state'),
  ]);
  assert.is(second.code, 0, second.stderr);
  assert.is(mode(fresh), 0o666 & ~umask);
  assert.not.match(second.stderr, /emptying it/);
});

test('stator --version prints the package version', async () => {
  const result = await runCli(['--version']);
  assert.is(result.code, 0, result.stderr);
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.is(result.stdout, `stator ${version}\n`);
});

test('--max-line-bytes 0 (or a fraction of a byte) says the limit must be at least 1 byte; a word is not a size', async () => {
  const base = ['run', 'examples/wordcount.ts', '--input', 'x', '--output', 'y', '--max-line-bytes'];
  const answers = await Promise.all(['0', '0.5', 'lots'].map((size) => runCli([...base, size])));
  assert.equal(
    answers.map((answer) => [answer.code, answer.stderr]),
    [
      [2, 'stator: --max-line-bytes 0 is less than 1 byte: the limit must be at least 1 byte\n'],
      [2, 'stator: --max-line-bytes 0.5 is less than 1 byte: the limit must be at least 1 byte\n'],
      [
        2,
        'stator: --max-line-bytes lots is not a size; give bytes or a number with KiB, MiB, GiB (or KB, MB, GB), e.g. 256MiB\n',
      ],
    ],
  );
});

test('a mistyped option names the one it is close to', async () => {
  const typo = await runCli(['run', 'examples/wordcount.ts', '--input', 'x', '--ouput', 'y']);
  assert.is(typo.code, 2);
  assert.is(
    typo.stderr,
    'stator: stator run: unknown option --ouput (did you mean --output?); see stator run --help\n',
  );
  const files = await runCli(['files', 'list', '--jbo', 'j']);
  assert.is(
    files.stderr,
    'stator: stator files: unknown option --jbo (did you mean --job?); see stator files --help\n',
  );
});

test('a negative --max-retries is one line saying what is wrong; an unknown option has no stray quotes', async () => {
  const negative = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    'x',
    '--output',
    'y',
    '--max-retries',
    '-1',
  ]);
  assert.is(negative.code, 2);
  assert.is(negative.stderr, 'stator: --max-retries -1 is not an integer >= 0\n');
  const unknown = await runCli(['run', 'examples/wordcount.ts', '--bogus-flag']);
  assert.is(unknown.code, 2);
  assert.is(unknown.stderr, 'stator: stator run: unknown option --bogus-flag; see stator run --help\n');
  const dash = await runCli(['run', 'examples/wordcount.ts', '--input', '-x']);
  assert.is(dash.code, 2);
  assert.is(dash.stderr.trim().split('\n').length, 1);
  assert.match(dash.stderr, /--input needs a value; write a value that starts with '-' as --input=-value/);
});

test('--nats (or NATS_URL) together with --input/--output/--follow is refused, not silently ignored', async () => {
  const flags = await runCli([
    'run',
    'examples/wordcount.ts',
    '--nats',
    'nats://127.0.0.1:1',
    '--input',
    'in.txt',
    '--output',
    'out.jsonl',
  ]);
  assert.is(flags.code, 2, flags.stderr);
  assert.match(
    flags.stderr,
    /--input, --output are embedded-mode options, but --nats selects NATS mode .*drop --input, --output, or drop --nats to run embedded/,
  );
  const env = await runCli(['run', 'examples/wordcount.ts', '--follow'], {
    env: { NATS_URL: 'nats://127.0.0.1:1' },
  });
  assert.is(env.code, 2, env.stderr);
  assert.match(env.stderr, /--follow is an embedded-mode option, but NATS_URL is set.*unset NATS_URL to run embedded/);
  const lineLimit = await runCli(['run', 'examples/wordcount.ts', '--max-line-bytes', '1MiB'], {
    env: { NATS_URL: 'nats://127.0.0.1:1' },
  });
  assert.is(lineLimit.code, 2, lineLimit.stderr);
  assert.match(lineLimit.stderr, /--max-line-bytes is an embedded-mode option, but NATS_URL is set/);
  // --state-dir is read in NATS mode too (the file area's local cache): accepted, so the run goes on to connect.
  const stateDir = await runCli(['run', 'examples/wordcount.ts', '--state-dir', 'state'], {
    env: { NATS_URL: 'nats://127.0.0.1:1' },
  });
  assert.is(stateDir.code, 69, stateDir.stderr);
});

test('--replicas, --lease-ttl and --max-unit-failures configure the workers of a NATS-mode job: refused embedded', async () => {
  for (const [flag, value] of [
    ['--replicas', '3'],
    ['--lease-ttl', '3000'],
    ['--max-unit-failures', '3'],
  ] as const) {
    const embedded = await runCli([
      'run',
      'examples/wordcount.ts',
      '--input',
      'in.txt',
      '--output',
      'out.txt',
      flag,
      value,
    ]);
    assert.is(embedded.code, 2, embedded.stderr);
    assert.match(
      embedded.stderr,
      new RegExp(`${flag} configures the workers of a job on NATS: add --nats <url>`),
      embedded.stderr,
    );
  }
});

test('--input-partitions needs --scale-out and a positive integer', async () => {
  const noScaleOut = await runCli([
    'run',
    'examples/wordcount.ts',
    '--nats',
    'nats://127.0.0.1:1',
    '--input-partitions',
    '3',
  ]);
  assert.is(noScaleOut.code, 2, noScaleOut.stderr);
  assert.match(noScaleOut.stderr, /--input-partitions configures a scaled-out job: add --scale-out/);
  const zero = await runCli([
    'run',
    'examples/wordcount.ts',
    '--nats',
    'nats://127.0.0.1:1',
    '--scale-out',
    '--input-partitions',
    '0',
  ]);
  assert.is(zero.code, 2, zero.stderr);
  assert.match(zero.stderr, /--input-partitions 0 is not an integer >= 1/);
});

test.run();
