// Rescaling an embedded job between runs (`stator run --parallelism`): its state moves by key group
// into the new partition count, and the output is what one uninterrupted run gives: per word, the
// same counts in the same order, each once. Stopped gracefully (SIGTERM, a final checkpoint) or
// killed (SIGKILL: the restart replays from the last checkpoint, in the new layout).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { embeddedRunArgs, killAll, runCli, startCli, tempDir, waitForOutput, waitUntil } from './support/cli.ts';
import { assertSamePerKey } from '../scale-out/per-key.ts';
import { text } from '../nats/wordcount-support.ts';

const tmp = tempDir('rescale');
test.after(() => {
  killAll();
  tmp.remove();
});

function corpus(lineCount: number, seed: number): string {
  return `${text(lineCount, seed).join('\n')}\n`;
}

function lines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text === '' ? [] : text.trimEnd().split('\n');
}

const wordOf = (line: string): string => (JSON.parse(line) as { word: string }).word;

function args(input: string, output: string, state: string, parallelism: number, extra: string[] = []): string[] {
  return embeddedRunArgs({ input, output, stateDir: state }, ['--parallelism', `count=${parallelism}`, ...extra]);
}

async function reference(name: string, text: string): Promise<{ input: string; outputs: string[] }> {
  const input = join(tmp.dir, `${name}.txt`);
  writeFileSync(input, text);
  const output = join(tmp.dir, `${name}-reference.jsonl`);
  const result = await runCli(args(input, output, join(tmp.dir, `${name}-reference-state`), 2));
  assert.is(result.code, 0, result.stderr);
  return { input, outputs: lines(output) };
}

test('4 -> 6 between runs over a growing input: exact per key, and a later restore reads the new layout', async () => {
  const text = corpus(30_000, 3);
  const cut = text.indexOf('\n', text.length / 3) + 1;
  const more = text.indexOf('\n', (text.length * 2) / 3) + 1;
  const { outputs } = await reference('grow', text);
  const input = join(tmp.dir, 'grow-run.txt');
  const output = join(tmp.dir, 'grow.jsonl');
  const state = join(tmp.dir, 'grow-state');
  writeFileSync(input, text.slice(0, cut));
  const first = await runCli(args(input, output, state, 4));
  assert.is(first.code, 0, first.stderr);
  appendFileSync(input, text.slice(cut, more));
  const second = await runCli(args(input, output, state, 6));
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stderr, /rescaled stage count from 4 to 6 partitions: \d+ key groups restored/);
  // The first checkpoint after the rescale is full (a periodic one, under load, or the final one).
  const afterRescale = second.stderr.slice(second.stderr.search(/rescaled stage count/));
  assert.match(afterRescale, /checkpoint \d+ \([a-z-]+, full\)/);
  assert.not.match(afterRescale.slice(0, afterRescale.search(/, full\)/)), /checkpoint \d+ \([a-z-]+, incremental/);
  appendFileSync(input, text.slice(more));
  const third = await runCli(args(input, output, state, 6));
  assert.is(third.code, 0, third.stderr);
  assert.not.match(third.stderr, /rescaled/);
  assertSamePerKey(lines(output), outputs, wordOf);
});

/**
 * Runs with `from` partitions until its first checkpoint, stops it with `signal`, and restarts it
 * with `to` until every output is there: the output must be the uninterrupted run's, per word.
 */
async function stopAndRescale(name: string, seed: number, from: number, to: number, signal: NodeJS.Signals) {
  const { input, outputs } = await reference(name, corpus(120_000, seed));
  const output = join(tmp.dir, `${name}.jsonl`);
  const state = join(tmp.dir, `${name}-state`);
  const interval = ['--checkpoint-interval', '50', '--follow'];
  const run = startCli(args(input, output, state, from, interval));
  await waitForOutput(run.child, 'checkpoint 1 ', 120_000);
  run.child.kill(signal);
  const stopped = await run.done;
  if (signal === 'SIGKILL') assert.is(stopped.signal, 'SIGKILL');
  // Stopped gracefully: a final checkpoint (or none needed: the last one covered everything read).
  else assert.match(stopped.stderr, /job wordcount stopped:/);
  const partial = lines(output).length;
  const restart = startCli(args(input, output, state, to, interval));
  await waitForOutput(restart.child, 'restored checkpoint', 120_000);
  await waitUntil(() => lines(output).length >= outputs.length, 'every output', 180_000);
  restart.child.kill('SIGTERM');
  const result = await restart.done;
  assert.is(result.code, 0, result.stderr);
  if (partial < outputs.length)
    assert.match(result.stderr, new RegExp(`rescaled stage count from ${from} to ${to} partitions`));
  assertSamePerKey(lines(output), outputs, wordOf);
}

test('6 -> 4 after a SIGTERM mid-run (a final checkpoint): exact per key', async () => {
  await stopAndRescale('term', 5, 6, 4, 'SIGTERM');
});

test('4 -> 6 after a SIGKILL mid-run: the restart replays from the last checkpoint in the new layout', async () => {
  await stopAndRescale('kill', 9, 4, 6, 'SIGKILL');
});

test('--parallelism names a stage the job has and stays within maxKeyGroups', async () => {
  const input = join(tmp.dir, 'bad.txt');
  writeFileSync(input, 'a\n');
  const refused = [
    ['nope=3', /--parallelism names stage nope, which job wordcount does not have; its keyed stages: count/],
    ['129', /exceeds job wordcount's maxKeyGroups \(128\)/],
    ['count=0', /is not <n> or <stage>=<n> with n >= 1/],
  ] as const;
  for (const [value, message] of refused) {
    const output = join(tmp.dir, 'bad.jsonl');
    const result = await runCli([
      'run',
      'examples/wordcount.ts',
      '--input',
      input,
      '--output',
      output,
      '--parallelism',
      value,
    ]);
    assert.is(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
  }
});

test.run();
