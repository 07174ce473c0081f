// Issue 18's final proof, not part of `npm test` (it takes hours at its default size): a
// wordcount-style job over `--keys` distinct words (default 50M), every word seen twice (once in
// order, then again in a scrambled order, so the second pass reads keys evicted long before), run
// embedded with the disk backend in processes limited to 1.5 GiB of heap. One run goes through
// uninterrupted; another is SIGKILLed at `--kills` random moments and finished; their outputs must be
// byte for byte identical.
//
//   node --import tsx bench/state-larger-than-memory.ts [--keys 50000000] [--kills 2] [--dir /tmp/...] [--state-memory
// 512MiB] [--checkpoint-interval 2000]
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '50000000' },
    kills: { type: 'string', default: '2' },
    dir: { type: 'string', default: join(tmpdir(), 'stator-larger-than-memory') },
    'state-memory': { type: 'string', default: '512MiB' },
    'checkpoint-interval': { type: 'string', default: '2000' },
  },
});
const keys = Number(values.keys);
const kills = Number(values.kills);
const dir = values.dir;
if (!Number.isSafeInteger(keys) || keys < 10 || !Number.isSafeInteger(kills) || kills < 0)
  throw new Error('--keys >= 10 and --kills >= 0, integers');

/** Writes the input: 10 words a line, every word w0..w(keys-1) in order, then all again scrambled. */
async function writeInput(path: string): Promise<void> {
  const out = createWriteStream(path);
  // An odd multiplier coprime with `keys` visits every index once in the second pass.
  let step = 2_654_435_761 % keys;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  while (gcd(step, keys) !== 1) step++;
  let line: string[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < keys; i++) {
      const word = pass === 0 ? i : Number((BigInt(i) * BigInt(step)) % BigInt(keys));
      line.push(`w${word}`);
      if (line.length === 10) {
        if (!out.write(line.join(' ') + '\n')) await once(out, 'drain');
        line = [];
      }
    }
  }
  if (line.length > 0) out.write(line.join(' ') + '\n');
  out.end();
  await once(out, 'finish');
}

function runArgs(output: string, state: string): string[] {
  return [
    '--max-old-space-size=1536',
    join(root, 'runtime', 'cli', 'bin.js'),
    'run',
    join(root, 'examples', 'wordcount.ts'),
    '--input',
    join(dir, 'input.txt'),
    '--output',
    output,
    '--state-dir',
    state,
    '--state-backend',
    'disk',
    '--state-memory',
    values['state-memory'],
    '--checkpoint-interval',
    values['checkpoint-interval'],
    '--log-level',
    'warn',
  ];
}

function run(
  args: string[],
  killAfterMs?: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - started });
    });
  });
}

async function digest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
console.log(`writing ${keys} distinct words, each twice, to ${dir}/input.txt`);
await writeInput(join(dir, 'input.txt'));

const clean = await run(runArgs(join(dir, 'clean.jsonl'), join(dir, 'clean-state')));
console.log(`uninterrupted run: exit ${clean.code} in ${(clean.ms / 1000).toFixed(0)} s`);
if (clean.code !== 0) throw new Error('the uninterrupted run failed');

let killed = 0;
for (let k = 0; k < kills; k++) {
  const at = Math.floor(clean.ms * (0.2 + 0.6 * Math.random()));
  const result = await run(runArgs(join(dir, 'crashed.jsonl'), join(dir, 'crashed-state')), at);
  if (result.signal === 'SIGKILL') killed++;
  console.log(
    `run ${k + 1}: ${result.signal === 'SIGKILL' ? `SIGKILL after ${(at / 1000).toFixed(0)} s` : `exit ${result.code} before the kill`}`,
  );
}
const final = await run(runArgs(join(dir, 'crashed.jsonl'), join(dir, 'crashed-state')));
if (final.code !== 0) throw new Error('the run finishing after the kills failed');
const [a, b] = await Promise.all([digest(join(dir, 'clean.jsonl')), digest(join(dir, 'crashed.jsonl'))]);
console.log(JSON.stringify({ keys, killed, cleanSeconds: Math.round(clean.ms / 1000), identical: a === b, sha256: a }));
if (a !== b) {
  console.error('outputs differ');
  process.exitCode = 1;
}
