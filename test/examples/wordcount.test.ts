import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, root, runCli, tempDir } from '../runtime/support/cli.ts';
import { crashTest } from '../runtime/support/crash.ts';

const tmp = tempDir('wordcount');
test.after(() => {
  killAll();
  tmp.remove();
});

function run(input: string, output: string, stateDir: string, extra: string[] = []) {
  return runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    stateDir,
    ...extra,
  ]);
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').trim().split('\n');
}

test('wordcount appends {word, count} each time a word count changes', async () => {
  const input = join(tmp.dir, 'small.txt');
  writeFileSync(input, 'to be or not\nto be\n');
  const result = await run(input, join(tmp.dir, 'small.jsonl'), join(tmp.dir, 'small-state'));
  assert.is(result.code, 0, result.stderr);
  const records = lines(join(tmp.dir, 'small.jsonl')).map((l) => JSON.parse(l) as { word: string; count: number });
  const last = new Map<string, number>();
  for (const r of records) {
    assert.is(r.count, (last.get(r.word) ?? 0) + 1, `${r.word} counts up by one`);
    last.set(r.word, r.count);
  }
  assert.equal(Object.fromEntries(last), { to: 2, be: 2, or: 1, not: 1 });
  assert.is(records.length, 6);
});

test('the sample gives as many outputs as examples/README.md says', async () => {
  const output = join(tmp.dir, 'sample.jsonl');
  const result = await run(join(root, 'examples/data/sample.txt'), output, join(tmp.dir, 'sample-state'));
  assert.is(result.code, 0, result.stderr);
  const stated = /\((\d+) outputs for the sample, the same as embedded\)/.exec(
    readFileSync(join(root, 'examples/README.md'), 'utf8'),
  );
  assert.ok(stated !== null, 'examples/README.md states the number of outputs for the sample');
  assert.is(lines(output).length, Number(stated[1]));
});

test('a second run restores instead of recounting, and processes only lines added since', async () => {
  const input = join(tmp.dir, 'grow.txt');
  const output = join(tmp.dir, 'grow.jsonl');
  const state = join(tmp.dir, 'grow-state');
  writeFileSync(input, 'a b\nb c\n');
  assert.is((await run(input, output, state)).code, 0);
  const first = readFileSync(output, 'utf8');
  const again = await run(input, output, state);
  assert.is(again.code, 0);
  assert.match(again.stderr, /restored checkpoint \d+ at position/);
  assert.is(readFileSync(output, 'utf8'), first, 'nothing new: nothing written');
  appendFileSync(input, 'c d\n');
  assert.is((await run(input, output, state)).code, 0);
  const added = readFileSync(output, 'utf8')
    .slice(first.length)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { word: string; count: number });
  added.sort((x, y) => x.word.localeCompare(y.word));
  assert.equal(added, [
    { word: 'c', count: 2 },
    { word: 'd', count: 1 },
  ]);
});

// A deterministic text: many lines of words drawn from a small vocabulary.
function corpus(lineCount: number, seed: number): string {
  const vocabulary = Array.from({ length: 500 }, (_, i) => `w${i}`);
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < lineCount; i++) {
    const words: string[] = [];
    for (let j = 0; j < 5; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      words.push(vocabulary[x % vocabulary.length]!);
    }
    out.push(words.join(' '));
  }
  return out.join('\n') + '\n';
}

test('SIGKILL at random moments, then finishing, gives the same output bytes and state as a clean run', async () => {
  const input = join(tmp.dir, 'crash.txt');
  writeFileSync(input, corpus(150_000, 7));
  const { clean, crashed, cleanState, crashedState, killed } = await crashTest({
    module: 'examples/wordcount.ts',
    input,
    dir: tmp.dir,
    kills: 5,
  });
  assert.ok(killed > 0, 'at least one run was killed');
  // State: one more line with every word of the vocabulary shows every count, in both.
  appendFileSync(input, Array.from({ length: 500 }, (_, i) => `w${i}`).join(' ') + '\n');
  assert.is((await run(input, clean, cleanState)).code, 0);
  assert.is((await run(input, crashed, crashedState)).code, 0);
  assert.ok(
    readFileSync(crashed).equals(readFileSync(clean)),
    'state identical: the probe line yields the same counts',
  );
});

test.run();
