import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { embeddedRunArgs, killAll, runCli, tempDir } from './support/cli.ts';
import { crashTest } from './support/crash.ts';

const tmp = tempDir('pipeline');
test.after(() => {
  killAll();
  tmp.remove();
});

function corpus(lineCount: number): string {
  let x = 3;
  const out: string[] = [];
  for (let i = 0; i < lineCount; i++) {
    const words: string[] = [];
    for (let j = 0; j < 6; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      words.push(`w${x % 2000}`);
    }
    out.push(words.join(' '));
  }
  return out.join('\n') + '\n';
}

test('two parallel keyed stages: SIGKILL at random moments, then finishing, gives the clean run output byte for byte', async () => {
  const input = join(tmp.dir, 'in.txt');
  writeFileSync(input, corpus(100_000));
  const { killed } = await crashTest({
    module: 'test/runtime/fixtures/two-stage-job.ts',
    input,
    dir: tmp.dir,
    kills: 4,
  });
  assert.ok(killed > 0);
});

// A restore must not change when downstream stages see the watermark: the first stage's output
// watermark is held back by its timers' output timestamps, and after a restore it went on from its
// input watermark instead (past every hold), so the second stage's timers fired only once that was
// passed: 'passed e89' .. 'passed e98' came late, after later events' 'in' lines.
test('a restore between two event-time stages, the first holding its watermark back, gives the output of a run that never stopped', async () => {
  const job = 'test/runtime/fixtures/held-watermark-job.ts';
  const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: `e${i}`, ts: 1000 + i * 10 }));
  const whole = join(tmp.dir, 'held.jsonl');
  writeFileSync(whole, lines.join('\n') + '\n');
  const once = join(tmp.dir, 'held-once.jsonl');
  const first = await runCli(
    embeddedRunArgs({ job, input: whole, output: once, stateDir: join(tmp.dir, 'held-once') }),
  );
  assert.is(first.code, 0, first.stderr);
  // The same input in two runs: the second restores the first one's final checkpoint, taken with
  // events of the first half still held in the first stage.
  const grown = join(tmp.dir, 'held-grown.jsonl');
  const output = join(tmp.dir, 'held-grown-out.jsonl');
  const files = { job, input: grown, output, stateDir: join(tmp.dir, 'held-grown') };
  writeFileSync(grown, lines.slice(0, 100).join('\n') + '\n');
  assert.is((await runCli(embeddedRunArgs(files))).code, 0);
  writeFileSync(grown, lines.join('\n') + '\n');
  const second = await runCli(embeddedRunArgs(files));
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stderr, /restored checkpoint/);
  assert.is(readFileSync(output, 'utf8'), readFileSync(once, 'utf8'));
});

test.run();
