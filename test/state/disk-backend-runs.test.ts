// The disk backend as a user runs it: `stator run --state-backend disk --state-memory <small>` on a
// job with many more keys than the budget holds. Its output must be byte for byte a heap run's,
// across a switch of backend between runs (both ways) and across SIGKILLs at random moments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mountSmallFilesystem, reportSkipped } from '../support/small-filesystem.ts';
import { join } from 'node:path';
import { embeddedRunArgs, killAll, runCli, sleep, startCli, tempDir } from '../runtime/support/cli.ts';
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

/** One heap run over `text` (written to `<name>-whole.txt`): the output every disk run over it must give. */
async function heapReference(name: string, text: string): Promise<{ whole: string; reference: string }> {
  const whole = join(tmp.dir, `${name}-whole.txt`);
  writeFileSync(whole, text);
  const reference = join(tmp.dir, `${name}-reference.jsonl`);
  const result = await run(whole, reference, join(tmp.dir, `${name}-reference-state`));
  assert.is(result.code, 0, result.stderr);
  return { whole, reference };
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
  const { whole, reference } = await heapReference('switch', first + second);

  const disk = join(tmp.dir, 'disk.jsonl');
  let result = await run(whole, disk, join(tmp.dir, 'disk-state'), DISK);
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

const WARM = /partition\(s\) restored from their warm local copy/;

/** The warm-copy marks of a wordcount state directory's two partitions. */
function marks(stateDir: string): boolean[] {
  return [0, 1].map((p) => existsSync(join(stateDir, 'wordcount', 'local', `count-${p}`, 'reflects.json')));
}

test('a stopped disk run leaves warm copies the next run reuses; a heap run in between or a changed mark makes it rebuild', async () => {
  const parts = [corpus(3000, 21), corpus(1000, 22), corpus(1000, 23), corpus(1000, 24), corpus(1000, 25)];
  const { reference } = await heapReference('warm', parts.join(''));

  const input = join(tmp.dir, 'warm.txt');
  const output = join(tmp.dir, 'warm.jsonl');
  const state = join(tmp.dir, 'warm-state');
  writeFileSync(input, parts[0]!);
  let result = await run(input, output, state, DISK);
  assert.is(result.code, 0, result.stderr);
  assert.equal(marks(state), [true, true], 'both copies marked after the final checkpoint');

  appendFileSync(input, parts[1]!);
  result = await run(input, output, state, DISK);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, WARM);

  // A heap run moves the checkpoint on: the copies no longer hold its state.
  appendFileSync(input, parts[2]!);
  result = await run(input, output, state);
  assert.is(result.code, 0, result.stderr);
  appendFileSync(input, parts[3]!);
  result = await run(input, output, state, DISK);
  assert.is(result.code, 0, result.stderr);
  assert.not.match(result.stderr, WARM);
  assert.equal(marks(state), [true, true]);

  // A mark naming other state is not trusted.
  const mark = join(state, 'wordcount', 'local', 'count-0', 'reflects.json');
  writeFileSync(mark, readFileSync(mark, 'utf8').replace(/"digest":"./, '"digest":"x'));
  appendFileSync(input, parts[4]!);
  result = await run(input, output, state, DISK);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, /1 partition\(s\) restored from their warm local copy/);
  assert.ok(readFileSync(output).equals(readFileSync(reference)), 'output differs from one heap run');
});

test('a copy a SIGKILLed run wrote to is never reused: the next run rebuilds it and gives the exact output', async () => {
  const first = corpus(3000, 31);
  const second = corpus(40_000, 32);
  const { reference } = await heapReference('killed', first + second);

  const input = join(tmp.dir, 'killed.txt');
  const output = join(tmp.dir, 'killed.jsonl');
  const state = join(tmp.dir, 'killed-state');
  writeFileSync(input, first);
  let result = await run(input, output, state, DISK);
  assert.is(result.code, 0, result.stderr);
  assert.equal(marks(state), [true, true]);

  appendFileSync(input, second);
  const before = statSync(output).size;
  const { child, done } = startCli(embeddedRunArgs({ input, output, stateDir: state }, DISK));
  // Killed once it has written output past the first run's: it reused the copies and changed them.
  while (statSync(output).size <= before && child.exitCode === null) await sleep(5);
  child.kill('SIGKILL');
  const killed = await done;
  assert.is(killed.signal, 'SIGKILL', 'the run was killed before it finished');
  assert.match(killed.stderr, WARM);
  assert.equal(marks(state), [false, false], 'the marks went before the first write');

  result = await run(input, output, state, DISK);
  assert.is(result.code, 0, result.stderr);
  assert.not.match(result.stderr, WARM);
  assert.ok(readFileSync(output).equals(readFileSync(reference)), 'output differs from one heap run');
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

test('a full disk under the local store fails the run saying nothing is lost (no dead letters); the run again where there is room gives the exact output', async () => {
  const fs = mountSmallFilesystem(1024 * 1024);
  if (typeof fs === 'string') return reportSkipped('disk backend - full disk', fs);
  try {
    // 60,000 distinct words: the local stores outgrow the 1 MiB file system before the first checkpoint.
    const { whole, reference } = await heapReference(
      'full',
      Array.from({ length: 60_000 }, (_, i) => `key${i} x${i % 7}`).join('\n') + '\n',
    );
    const output = join(tmp.dir, 'full.jsonl');
    const full = await run(whole, output, join(fs.path, 'state'), [
      '--state-backend',
      'disk',
      '--state-memory',
      '64KiB',
    ]);
    assert.is(full.code, 1, full.stderr);
    assert.match(
      full.stderr,
      /stator: the local state store in .*local\/count-\d failed to write state: .*nothing is lost .*free disk space under --state-dir and run again/,
    );
    assert.not.match(full.stderr, /dead letter/);
    assert.ok(!existsSync(`${output}.dead.jsonl`) || statSync(`${output}.dead.jsonl`).size === 0, 'no dead letters');

    // The same state directory where there is room: its unmarked local copies are rebuilt.
    const roomy = join(tmp.dir, 'full-state');
    cpSync(join(fs.path, 'state'), roomy, { recursive: true });
    const again = await run(whole, output, roomy, DISK);
    assert.is(again.code, 0, again.stderr);
    assert.is(readFileSync(output, 'utf8'), readFileSync(reference, 'utf8'));
  } finally {
    fs.unmount();
  }
});

test('a state directory with no room fails the run at start, typed, saying nothing is lost', async () => {
  const fs = mountSmallFilesystem(1024 * 1024);
  if (typeof fs === 'string') return reportSkipped('disk backend - no room at start', fs);
  try {
    const input = join(tmp.dir, 'no-room.txt');
    writeFileSync(input, corpus(50, 3));
    const output = join(tmp.dir, 'no-room.jsonl');
    const filler = join(fs.path, 'filler');
    // 100 KiB left: the checkpoint store takes its lock, the local store refuses to open.
    writeFileSync(filler, new Uint8Array(1024 * 1024 - 100 * 1024));
    const low = await run(input, output, join(fs.path, 'state'), DISK);
    assert.is(low.code, 1, low.stderr);
    assert.match(
      low.stderr,
      /stator: the local state store in .*local\/count-\d failed to open \(\d+ KiB free on its file system; it needs 256 KiB to start\); nothing is lost/,
    );
    // Nothing left: the checkpoint store's lock fails first, and its message does not promise a retry.
    try {
      for (;;) appendFileSync(filler, new Uint8Array(4096));
    } catch (error) {
      assert.is((error as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    const none = await run(input, output, join(fs.path, 'state-2'), DISK);
    assert.is(none.code, 1, none.stderr);
    assert.match(
      none.stderr,
      /stator: checkpoint store .* failed to .*ENOSPC.*; nothing is lost: free disk space or check the checkpoint store's connection\n/,
    );
    assert.not.match(none.stderr, /retried at the next checkpoint/);
  } finally {
    fs.unmount();
  }
});

test.run();
