import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, runCli, startCli, tempDir, waitForOutput, waitUntil } from './support/cli.ts';

const tmp = tempDir('embedded');
test.after(() => {
  killAll();
  tmp.remove();
});

const flakyJob = 'test/runtime/fixtures/flaky-job.ts';

function jsonLinesOf(path: string): unknown[] {
  const text = readFileSync(path, 'utf8').trim();
  return text === '' ? [] : text.split('\n').map((l) => JSON.parse(l) as unknown);
}

interface DeadLetterLine {
  readonly stage: string;
  readonly position: number;
  readonly error: { readonly code: string; readonly message: string };
  readonly raw?: string;
  readonly rawBase64?: string;
}

/** `stator run examples/wordcount.ts` over `input`, into outputs named after `name`: its outputs and dead letters. */
async function runWordcount(
  input: string,
  name: string,
  extra: readonly string[] = [],
): Promise<{ outputs: unknown[]; dead: DeadLetterLine[] }> {
  const output = join(tmp.dir, `${name}-out.jsonl`);
  const result = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    join(tmp.dir, `${name}-state`),
    ...extra,
  ]);
  assert.is(result.code, 0, result.stderr);
  return { outputs: jsonLinesOf(output), dead: jsonLinesOf(`${output}.dead.jsonl`) as DeadLetterLine[] };
}

test('failing messages are retried (when state rolls back), then dead-lettered with error, stage and position; undecodable input too; the rest goes on', async () => {
  const input = join(tmp.dir, 'flaky.jsonl');
  const lines = [
    '{"id":"a","n":1}',
    '{"id":"poison","n":1}',
    'not json',
    '{"id":"flaky","n":5}',
    '{"id":"a","n":2}',
    '{"id":"flaky","n":1}',
  ];
  writeFileSync(input, lines.join('\n') + '\n');
  const output = join(tmp.dir, 'flaky-out.jsonl');
  const result = await runCli([
    'run',
    flakyJob,
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    join(tmp.dir, 'flaky-state'),
    '--max-retries',
    '2',
  ]);
  assert.is(result.code, 0, result.stderr);
  const out = jsonLinesOf(output) as Array<{ id: string; sum: number }>;
  const dead = jsonLinesOf(`${output}.dead.jsonl`) as Array<Record<string, unknown>>;
  const offset = (index: number): number => Buffer.byteLength(lines.slice(0, index).join('\n') + '\n');
  // Outputs of a failed attempt never reach the sink.
  assert.not.ok(out.some((o) => o.id === 'must-not-appear'));
  assert.equal(
    out.filter((o) => o.id === 'a'),
    [
      { id: 'a', sum: 1 },
      { id: 'a', sum: 3 },
    ],
  );
  // The failed attempt's write is applied once, never twice: the second "flaky" message sees 5 + 1.
  assert.equal(out.filter((o) => o.id === 'flaky').at(-1), { id: 'flaky', sum: 6 });
  const poison = dead.find((d) => d.key === 'poison')!;
  assert.is(poison.stage, 'sum');
  assert.is(poison.position, offset(1));
  assert.match(JSON.stringify(poison.error), /poison pill/);
  // A failed attempt is rolled back, so a message is retried (3 attempts) before it is a dead letter.
  assert.is(poison.attempts, 3);
  assert.equal(
    out.filter((o) => o.id === 'flaky'),
    [
      { id: 'flaky', sum: 5 },
      { id: 'flaky', sum: 6 },
    ],
  );
  assert.is(dead.length, 2);
  const undecodable = dead.find((d) => d.stage === 'in')!;
  assert.is(undecodable.raw, 'not json');
  assert.is(undecodable.position, offset(2));
  assert.match(result.stderr, new RegExp(`${dead.length} dead letters`));
});

test('--dead-letter chooses the dead-letter file', async () => {
  const input = join(tmp.dir, 'dl.jsonl');
  writeFileSync(input, '{"id":"poison","n":1}\n');
  const deadLetter = join(tmp.dir, 'elsewhere', 'dead.jsonl');
  const output = join(tmp.dir, 'dl-out.jsonl');
  const result = await runCli([
    'run',
    flakyJob,
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    join(tmp.dir, 'dl-state'),
    '--dead-letter',
    deadLetter,
  ]);
  assert.is(result.code, 0, result.stderr);
  assert.is(jsonLinesOf(deadLetter).length, 1);
  assert.not.ok(existsSync(`${output}.dead.jsonl`));
});

test('SIGTERM in follow mode stops intake, writes a final checkpoint and exits 0; the next run resumes after it', async () => {
  const input = join(tmp.dir, 'follow.txt');
  const output = join(tmp.dir, 'follow.jsonl');
  const state = join(tmp.dir, 'follow-state');
  writeFileSync(input, 'alpha beta\n');
  const { child, done } = startCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    state,
    '--follow',
    '--checkpoint-interval',
    '100000',
  ]);
  await waitForOutput(child, 'checkpoint');
  // Not yet: the first checkpoint a follow run writes is at the interval or at stop. Feed more input.
  appendFileSync(input, 'beta gamma\n');
  await waitUntil(() => existsSync(output) && readFileSync(output, 'utf8').includes('gamma'), 'gamma in the output');
  child.kill('SIGTERM');
  const result = await done;
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, /checkpoint \d+ \(stop/);
  const before = readFileSync(output, 'utf8');
  assert.is(jsonLinesOf(output).length, 4);
  appendFileSync(input, 'alpha\n');
  const again = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    state,
  ]);
  assert.is(again.code, 0, again.stderr);
  assert.equal(JSON.parse(readFileSync(output, 'utf8').slice(before.length)), { word: 'alpha', count: 2 });
});

test('a second process on the same state directory is refused while the first runs', async () => {
  const input = join(tmp.dir, 'lease.txt');
  writeFileSync(input, 'x\n');
  const state = join(tmp.dir, 'lease-state');
  const first = startCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'lease1.jsonl'),
    '--state-dir',
    state,
    '--follow',
  ]);
  await waitForOutput(first.child, 'starting from the beginning');
  const second = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    join(tmp.dir, 'lease2.jsonl'),
    '--state-dir',
    state,
  ]);
  assert.is(second.code, 5, second.stderr);
  first.child.kill('SIGTERM');
  assert.is((await first.done).code, 0);
});

test('a second SIGTERM while draining exits at once with 130, without the final checkpoint', async () => {
  const input = join(tmp.dir, 'slow.txt');
  writeFileSync(input, Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n') + '\n');
  const output = join(tmp.dir, 'slow.txt.out');
  const state = join(tmp.dir, 'slow-state');
  const { child, done } = startCli([
    'run',
    'test/runtime/fixtures/slow-job.ts',
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    state,
  ]);
  await waitForOutput(child, 'starting from the beginning');
  child.kill('SIGTERM');
  await waitForOutput(child, 'send it again to exit at once');
  child.kill('SIGTERM');
  const result = await done;
  assert.is(result.code, 130, result.stderr);
  assert.match(result.stderr, /exiting now, without a final checkpoint/);
});

test('an input truncated while followed fails the run with exit 2 and says why', async () => {
  const input = join(tmp.dir, 'shrink.txt');
  writeFileSync(input, 'a b\nc d\n');
  const output = join(tmp.dir, 'shrink.jsonl');
  const { done } = startCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    join(tmp.dir, 'shrink-state'),
    '--follow',
  ]);
  // Truncate only once the lines were read: truncating an unread file is not a truncation.
  await waitUntil(() => existsSync(output) && readFileSync(output, 'utf8').includes('"d"'), 'both lines in the output');
  writeFileSync(input, '');
  const result = await done;
  assert.is(result.code, 2, result.stderr);
  assert.match(result.stderr, /truncated while being followed/);
});

test('input lines that are not UTF-8 are dead letters with their original bytes, as in NATS mode; never merged into one U+FFFD key', async () => {
  const input = join(tmp.dir, 'not-utf8.txt');
  const bad = [
    Buffer.from([0x61, 0x20, 0xc3, 0x28, 0x20, 0xff]), // "a " + an invalid 2-byte sequence + 0xff
    Buffer.from('caf\xe9', 'latin1'), // two different Latin-1 words, both "caf\uFFFD" once replaced
    Buffer.from('caf\xe8', 'latin1'),
  ];
  const lines = [Buffer.from('alpha beta \uFFFD'), ...bad, Buffer.from('alpha')];
  writeFileSync(input, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
  const { outputs, dead } = await runWordcount(input, 'not-utf8');
  // A U+FFFD written as text (valid UTF-8) is an ordinary word.
  assert.equal(outputs, [
    { word: 'alpha', count: 1 },
    { word: 'beta', count: 1 },
    { word: '\uFFFD', count: 1 },
    { word: 'alpha', count: 2 },
  ]);
  assert.is(dead.length, 3);
  let offset = lines[0]!.length + 1;
  for (const [i, letter] of dead.entries()) {
    assert.is(letter.stage, 'in');
    assert.is(letter.position, offset);
    assert.is(letter.error.code, 'INPUT_NOT_UTF8');
    assert.match(letter.error.message, new RegExp(`line at byte ${offset} of .*not-utf8.txt is not valid UTF-8`));
    assert.is(letter.raw, undefined);
    assert.equal([...Buffer.from(letter.rawBase64!, 'base64')], [...bad[i]!], 'the original bytes');
    offset += bad[i]!.length + 1;
  }
});

test('a line over the line limit (64 MiB, or --max-line-bytes) is dead-lettered by position (its bytes stay in the input), not a failed run', async () => {
  // A sparse file: 64 MiB + 1 NUL bytes take no disk space.
  const input = join(tmp.dir, 'long-line.txt');
  const longLineBytes = 64 * 2 ** 20 + 1;
  writeFileSync(input, 'alpha\n');
  truncateSync(input, 6 + longLineBytes);
  const word = 'y'.repeat(1025);
  appendFileSync(input, `\n${word}\nbeta\n`);
  const wordAt = 6 + longLineBytes + 1;
  const byDefault = await runWordcount(input, 'long-line');
  assert.equal(byDefault.outputs, [
    { word: 'alpha', count: 1 },
    { word, count: 1 },
    { word: 'beta', count: 1 },
  ]);
  assert.equal(
    byDefault.dead.map((d) => [d.stage, d.position, d.error.code, d.raw, d.rawBase64]),
    [['in', 6, 'INPUT_LINE_TOO_LONG', undefined, undefined]],
  );
  assert.match(
    byDefault.dead[0]!.error.message,
    new RegExp(`line at byte 6 of .*long-line.txt is ${longLineBytes} bytes, over the ${64 * 2 ** 20}-byte line limit`),
  );
  const limited = await runWordcount(input, 'long-line-1k', ['--max-line-bytes', '1KiB']);
  assert.equal(limited.outputs, [
    { word: 'alpha', count: 1 },
    { word: 'beta', count: 1 },
  ]);
  assert.equal(
    limited.dead.map((d) => [d.position, d.error.code]),
    [
      [6, 'INPUT_LINE_TOO_LONG'],
      [wordAt, 'INPUT_LINE_TOO_LONG'],
    ],
  );
  assert.match(
    limited.dead[1]!.error.message,
    /is 1025 bytes, over the 1024-byte line limit.*raise the limit \(--max-line-bytes\)/,
  );
});

test('a last line without newline is not committed as a line: a rerun after it grew writes what one run over the final file writes', async () => {
  const input = join(tmp.dir, 'grown-line.txt');
  const state = join(tmp.dir, 'grown-line-state');
  const output = join(tmp.dir, 'grown-line.jsonl');
  writeFileSync(input, 'alpha beta\ngam');
  const first = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    state,
  ]);
  assert.is(first.code, 0, first.stderr);
  // One run over this file reads the unterminated line as a message, as before.
  assert.equal(jsonLinesOf(output), [
    { word: 'alpha', count: 1 },
    { word: 'beta', count: 1 },
    { word: 'gam', count: 1 },
  ]);
  appendFileSync(input, 'ma delta\n');
  const second = await runCli([
    'run',
    'examples/wordcount.ts',
    '--input',
    input,
    '--output',
    output,
    '--state-dir',
    state,
  ]);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stderr, /restored checkpoint \d+ at position 10 /);
  const once = join(tmp.dir, 'grown-line-once.jsonl');
  assert.is(
    (
      await runCli([
        'run',
        'examples/wordcount.ts',
        '--input',
        input,
        '--output',
        once,
        '--state-dir',
        join(tmp.dir, 'grown-line-once'),
      ])
    ).code,
    0,
  );
  assert.is(readFileSync(output, 'utf8'), readFileSync(once, 'utf8'));
  // The words of one line come out by partition: compare them as a set.
  const added = (jsonLinesOf(output).slice(2) as { word: string }[]).map((r) => r.word).sort();
  assert.equal(added, ['delta', 'gamma']);
});

test.run();
