// The disk backend as a user runs it: `stator run --state-backend disk --state-memory <small>` on a
// job with many more keys than the budget holds. Its output must be byte for byte a heap run's,
// across a switch of backend between runs (both ways) and across SIGKILLs at random moments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { embeddedRunArgs, killAll, runCli, tempDir } from '../runtime/support/cli.ts';
import { crashTest } from '../runtime/support/crash.ts';

const tmp = tempDir('disk-backend');
test.after(() => {
  killAll();
  tmp.remove();
});

/** Room for ~70 keys per partition of wordcount (two partitions): most of 5,000 words are on disk. */
const DISK = ['--state-backend', 'disk', '--state-memory', '32KiB'];

function run(input: string, output: string, stateDir: string, extra: readonly string[] = []) {
  return runCli(embeddedRunArgs({ input, output, stateDir }, extra));
}

// Deterministic lines of words from a vocabulary of `words` (skewed: low numbers come more often).
function corpus(lineCount: number, seed: number, words = 5000): string {
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < lineCount; i++) {
    const line: string[] = [];
    for (let j = 0; j < 6; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const r = (x >>> 8) / 2 ** 24;
      line.push(`w${Math.floor(words * r * r)}`);
    }
    out.push(line.join(' '));
  }
  return out.join('\n') + '\n';
}

test('bad --state-backend and --state-memory are exit code 2 saying what to give', async () => {
  const base = ['run', 'examples/wordcount.ts', '--input', 'x', '--output', 'y'];
  let result = await runCli([...base, '--state-backend', 'rocks']);
  assert.is(result.code, 2);
  assert.match(result.stderr, /--state-backend rocks is unknown; use heap .* or disk/);
  result = await runCli([...base, '--state-memory', 'lots']);
  assert.is(result.code, 2);
  assert.match(result.stderr, /--state-memory lots is not a size.*256MiB/);
  result = await runCli([...base, '--state-backend', 'heap', '--state-memory', '1GiB']);
  assert.is(result.code, 2);
  assert.match(result.stderr, /drop one of --state-backend heap and --state-memory/);
});

test("a disk run gives a heap run's output; switching backend between runs (both ways) restores the same state", async () => {
  const first = corpus(3000, 11);
  const second = corpus(3000, 12);
  const whole = join(tmp.dir, 'whole.txt');
  writeFileSync(whole, first + second);
  const reference = join(tmp.dir, 'reference.jsonl');
  let result = await run(whole, reference, join(tmp.dir, 'reference-state'));
  assert.is(result.code, 0, result.stderr);

  const disk = join(tmp.dir, 'disk.jsonl');
  result = await run(whole, disk, join(tmp.dir, 'disk-state'), DISK);
  assert.is(result.code, 0, result.stderr);
  assert.ok(readFileSync(disk).equals(readFileSync(reference)), 'disk output differs from heap output');
  const local = join(tmp.dir, 'disk-state', 'wordcount', 'local');
  assert.ok(existsSync(join(local, 'count-0')), 'working copy under <state-dir>/<job>/local/');
  for (const path of [local, join(local, 'count-0')])
    assert.is(statSync(path).mode & 0o777, 0o700, `${path} is private to the user`);

  for (const [name, firstArgs, secondArgs] of [
    ['heap-then-disk', [], DISK],
    ['disk-then-heap', DISK, []],
  ] as const) {
    const input = join(tmp.dir, `${name}.txt`);
    const output = join(tmp.dir, `${name}.jsonl`);
    const state = join(tmp.dir, `${name}-state`);
    writeFileSync(input, first);
    result = await run(input, output, state, firstArgs);
    assert.is(result.code, 0, result.stderr);
    appendFileSync(input, second);
    result = await run(input, output, state, secondArgs);
    assert.is(result.code, 0, result.stderr);
    assert.ok(
      readFileSync(output).equals(readFileSync(reference)),
      `${name}: output differs from one heap run over the whole input`,
    );
  }
});

test("SIGKILL of a disk-backend run at random moments, then finishing, gives a clean heap run's output", async () => {
  const input = join(tmp.dir, 'crash.txt');
  writeFileSync(input, corpus(25_000, 7));
  const { killed } = await crashTest({
    module: 'examples/wordcount.ts',
    input,
    dir: tmp.dir,
    kills: 3,
    crashedArgs: DISK,
  });
  assert.ok(killed > 0, 'at least one run was killed');
});

test.run();
