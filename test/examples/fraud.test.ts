import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, root, runCli, tempDir } from '../runtime/support/cli.ts';

const tmp = tempDir('fraud');
test.after(() => {
  killAll();
  tmp.remove();
});

interface Alert {
  card: string;
  ts: number;
  rule: string;
  detail: string;
}

test('fraud flags the burst and the unusual merchant in the sample, and nothing else', async () => {
  const input = join(root, 'examples/data/transactions.jsonl');
  const output = join(tmp.dir, 'out.jsonl');
  const result = await runCli([
    'run',
    'examples/fraud.ts',
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    join(tmp.dir, 'state'),
  ]);
  assert.is(result.code, 0, result.stderr);
  const alerts = readFileSync(output, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Alert);
  assert.equal(
    alerts.map((a) => [a.card, a.rule]),
    [
      ['4000-0002', 'unusual-merchant'],
      ['4000-0002', 'burst'],
      ['4000-0003', 'unusual-merchant'],
    ],
  );
  assert.match(alerts[1]!.detail, /3 transactions totalling 1315.5/);
  assert.match(alerts[2]!.detail, /900 at new merchant jeweller/);
});

test('a run split in two by a checkpoint flags the same as one run', async () => {
  const input = join(root, 'examples/data/transactions.jsonl');
  const lines = readFileSync(input, 'utf8').trim().split('\n');
  const whole = join(tmp.dir, 'whole.jsonl');
  assert.is(
    (
      await runCli([
        'run',
        'examples/fraud.ts',
        '--input',
        input,
        '--output',
        whole,
        '--state-dir',
        join(tmp.dir, 'whole-state'),
      ])
    ).code,
    0,
  );
  // The first half, then the whole file: the second run restores and reads only the rest. Bursts and
  // merchant history span the split (state restored), and the watermark's final value after the
  // first half only expires old entries, so the alerts are the same.
  const partial = join(tmp.dir, 'in.jsonl');
  writeFileSync(partial, lines.slice(0, 40).join('\n') + '\n');
  const split = join(tmp.dir, 'split.jsonl');
  const state = join(tmp.dir, 'split-state');
  assert.is(
    (await runCli(['run', 'examples/fraud.ts', '--input', partial, '--output', split, '--state-dir', state])).code,
    0,
  );
  writeFileSync(partial, lines.join('\n') + '\n');
  const second = await runCli([
    'run',
    'examples/fraud.ts',
    '--input',
    partial,
    '--output',
    split,
    '--state-dir',
    state,
  ]);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stderr, /restored checkpoint/);
  assert.is(readFileSync(split, 'utf8'), readFileSync(whole, 'utf8'));
});

test('a transaction whose merchant is null is dead-lettered with the reason; the alerts and the checkpoint are as without it', async () => {
  const input = join(root, 'examples/data/transactions.jsonl');
  const clean = join(tmp.dir, 'clean.jsonl');
  assert.is(
    (
      await runCli([
        'run',
        'examples/fraud.ts',
        '--input',
        input,
        '--output',
        clean,
        '--state-dir',
        join(tmp.dir, 'clean-state'),
      ])
    ).code,
    0,
  );
  // MapState<string, ...> cannot hold a null key: the turn that writes it fails (and is rolled
  // back), not every checkpoint after it.
  const bad = join(tmp.dir, 'with-null.jsonl');
  writeFileSync(
    bad,
    readFileSync(input, 'utf8') + '{"card":"4000-0001","ts":1767225700000,"amount":5,"merchant":null}\n',
  );
  const output = join(tmp.dir, 'with-null-out.jsonl');
  const state = join(tmp.dir, 'with-null-state');
  const first = await runCli(['run', 'examples/fraud.ts', '--input', bad, '--output', output, '--state-dir', state]);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stderr, /\b1 dead letter\b/);
  assert.is(readFileSync(output, 'utf8'), readFileSync(clean, 'utf8'));
  const letters = readFileSync(`${output}.dead.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { key: string; error: { message: string } });
  assert.is(letters.length, 1);
  assert.is(letters[0]!.key, '4000-0001');
  assert.match(letters[0]!.error.message, /MapState key null does not encode with StringUtf8Coder/);
  // And the state checkpointed with it restores: a rerun reads nothing new and succeeds.
  const again = await runCli(['run', 'examples/fraud.ts', '--input', bad, '--output', output, '--state-dir', state]);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /restored checkpoint/);
});

test.run();
