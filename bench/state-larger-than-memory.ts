// Issue 18's final proof, not part of `npm test` (it takes hours at its default size): a
// wordcount-style job over `--keys` distinct words (default 50M), every word seen twice (once in
// order, then again in a scrambled order, so the second pass reads keys evicted long before), run
// embedded with the disk backend in processes limited to 1.5 GiB of heap. One run goes through
// uninterrupted; another is SIGKILLed at `--kills` random moments and finished; their outputs must be
// byte for byte identical, and each must hold every word exactly twice, first with count 1, then 2.
// `--check per-key` skips the uninterrupted run (half the time at 50M keys) and proves the
// interrupted output by that per-key check alone: the expected output is known from the input, only
// the interleaving of keys across partitions is the runtime's.
//
//   node --import tsx bench/state-larger-than-memory.ts [--keys 50000000] [--kills 2] [--dir /tmp/...] [--state-memory
// 512MiB] [--checkpoint-interval 2000] [--out bench/results/state-larger-than-memory-50m.json]
// [--uninterrupted-only | --check per-key [--kill-at 0.6]]
//
// --out writes what was measured as JSON: wall time, messages/s and peak RSS of every process, when
// the kills came, the sizes on disk, the machine's load, and whether the outputs are identical.
import { execFileSync, spawn } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
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
    out: { type: 'string' },
    // Only the uninterrupted run (to measure it, e.g. its checkpoints): no proof.
    'uninterrupted-only': { type: 'boolean', default: false },
    // `uninterrupted`: compare with an uninterrupted run, byte for byte; `per-key`: no such run.
    check: { type: 'string', default: 'uninterrupted' },
    // With --check per-key: every kill at this share of the complete output's bytes, not at random
    // (runs to compare, e.g. two commits' cold restores of the same state).
    'kill-at': { type: 'string' },
  },
});
const check = values.check;
if (check !== 'uninterrupted' && check !== 'per-key') throw new Error('--check is uninterrupted or per-key');
if (check === 'per-key' && values['uninterrupted-only'])
  throw new Error('--uninterrupted-only runs no interrupted run to check per key');
const keys = Number(values.keys);
const kills = Number(values.kills);
const dir = values.dir;
const HEAP_LIMIT_MIB = 1536;
if (!Number.isSafeInteger(keys) || keys < 10 || !Number.isSafeInteger(kills) || kills < 0)
  throw new Error('--keys >= 10 and --kills >= 0, integers');
const killAtFraction = values['kill-at'] === undefined ? undefined : Number(values['kill-at']);
if (killAtFraction !== undefined && (check !== 'per-key' || !(killAtFraction > 0 && killAtFraction < 1)))
  throw new Error('--kill-at is a share of the output between 0 and 1, with --check per-key');

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
    `--max-old-space-size=${HEAP_LIMIT_MIB}`,
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
    // Info, as JSON: the checkpoint lines are counted (see CheckpointTally); the rest at warn and
    // above is passed on to this process's stderr.
    '--log-level',
    'info',
    '--log-format',
    'json',
  ];
}

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly ms: number;
  /**
   * Spawn to the first growth of the output file past its size at the spawn (sampled every 200 ms),
   * or undefined when it did not grow.
   */
  readonly firstOutputMs: number | undefined;
  /** The highest VmHWM (peak resident set) read from /proc while the process ran, in bytes; 0 off Linux. */
  readonly peakRssBytes: number;
  readonly checkpoints: CheckpointTally;
}

/** The checkpoints a run committed, from its log: how many, the bytes of parts they wrote, how long each took. */
interface CheckpointTally {
  count: number;
  full: number;
  bytesWritten: number;
  maxBytesWritten: number;
  /** Trigger to commit, summed and the longest. */
  totalMs: number;
  maxMs: number;
  maxPausedMs: number;
}

function tallyLine(tally: CheckpointTally, line: string): boolean {
  let event: {
    level?: string;
    checkpointId?: number;
    kind?: string;
    bytesWritten?: number;
    durationMs?: number;
    pausedMs?: number;
  };
  try {
    event = JSON.parse(line) as typeof event;
  } catch {
    return false;
  }
  if (event.checkpointId === undefined || event.bytesWritten === undefined) return event.level === 'info';
  tally.count++;
  if (event.kind === 'full') tally.full++;
  tally.bytesWritten += event.bytesWritten;
  tally.maxBytesWritten = Math.max(tally.maxBytesWritten, event.bytesWritten);
  tally.totalMs += event.durationMs ?? 0;
  tally.maxMs = Math.max(tally.maxMs, event.durationMs ?? 0);
  tally.maxPausedMs = Math.max(tally.maxPausedMs, event.pausedMs ?? 0);
  return true;
}

/** The process's peak resident set so far (VmHWM), in bytes; 0 when /proc cannot tell. */
function peakRss(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** The machine's 1-minute load average, sampled while the runs go (the machine may be shared). */
const loads: number[] = [loadavg()[0]!];
const loadSampler = setInterval(() => loads.push(loadavg()[0]!), 30_000);

/** When to SIGKILL a run: after a time, or once its output file has reached a size (its progress). */
type KillAt = { readonly afterMs: number } | { readonly outputPath: string; readonly outputBytes: number };

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function run(args: string[], output: string, killAt?: KillAt): Promise<RunResult> {
  const started = Date.now();
  const outputAtStart = fileSize(output);
  let firstOutputMs: number | undefined;
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'] });
  const checkpoints: CheckpointTally = {
    count: 0,
    full: 0,
    bytesWritten: 0,
    maxBytesWritten: 0,
    totalMs: 0,
    maxMs: 0,
    maxPausedMs: 0,
  };
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (!tallyLine(checkpoints, line)) process.stderr.write(line + '\n');
  });
  const timer =
    killAt === undefined || !('afterMs' in killAt)
      ? undefined
      : setTimeout(() => child.kill('SIGKILL'), killAt.afterMs);
  // VmHWM only grows: the last sample before the exit is within one interval of the peak's time.
  let peak = 0;
  const sample = (): void => {
    if (child.pid !== undefined) peak = Math.max(peak, peakRss(child.pid));
    if (firstOutputMs === undefined && fileSize(output) > outputAtStart) firstOutputMs = Date.now() - started;
    if (killAt !== undefined && 'outputPath' in killAt && fileSize(killAt.outputPath) >= killAt.outputBytes)
      child.kill('SIGKILL');
  };
  const sampler = setInterval(sample, 200);
  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      clearInterval(sampler);
      if (timer !== undefined) clearTimeout(timer);
      reject(error);
    });
    child.on('exit', sample);
    child.on('close', (code, signal) => {
      clearInterval(sampler);
      if (timer !== undefined) clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - started, firstOutputMs, peakRssBytes: peak, checkpoints });
    });
  });
}

/** Bytes a directory tree takes on disk (allocated blocks: LMDB's map file is sparse). */
function diskBytes(path: string): number {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.blocks * 512;
  let total = stat.blocks * 512;
  for (const name of readdirSync(path)) total += diskBytes(join(path, name));
  return total;
}

/** Sizes of a run's state directory: the local working copies and the checkpoint store (the rest). */
function stateSizes(state: string): { localStoreBytes: number; checkpointStoreBytes: number } {
  const local = diskBytes(join(state, 'wordcount', 'local'));
  return { localStoreBytes: local, checkpointStoreBytes: diskBytes(state) - local };
}

function described(r: RunResult, messages?: number) {
  return {
    exitCode: r.code,
    signal: r.signal,
    wallSeconds: r.ms / 1000,
    ...(r.firstOutputMs === undefined ? {} : { firstOutputSeconds: r.firstOutputMs / 1000 }),
    ...(messages === undefined ? {} : { messagesPerSec: Math.round(messages / (r.ms / 1000)) }),
    peakRssMiB: Math.round(r.peakRssBytes / 2 ** 20),
    checkpoints: r.checkpoints,
  };
}

async function digest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The output's size when complete: each word's line twice, `{"word":"w<i>","count":<1|2>}` and a newline. */
function expectedOutputBytes(): number {
  // Digits of 0..keys-1: the numbers of each width, 0-9 taking one digit.
  let digits = 0;
  for (let width = 1, low = 0; low < keys; width++, low = 10 ** (width - 1))
    digits += (Math.min(keys, 10 ** width) - low) * width;
  return 2 * (23 * keys + digits);
}

interface PerKeyCheck {
  readonly lines: number;
  /** Words seen exactly twice, first with count 1 then with count 2. */
  readonly complete: number;
  /** The first line that breaks the rule (a count out of order, a word seen again, a line not of this job), if any. */
  readonly firstProblem?: string;
  readonly ok: boolean;
}

/**
 * Checks an output per key: every word w0..w(keys-1) exactly twice, first with count 1, then 2,
 * and nothing else. Two bits of state a word, so 50M words take 50 MB.
 */
async function checkPerKey(path: string): Promise<PerKeyCheck> {
  const seen = new Uint8Array(keys);
  let lines = 0;
  let complete = 0;
  let firstProblem: string | undefined;
  const pattern = /^\{"word":"w(\d+)","count":([12])\}$/;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    lines++;
    const match = pattern.exec(line);
    const word = match === null ? -1 : Number(match[1]);
    const count = match === null ? 0 : Number(match[2]);
    if (word < 0 || word >= keys || seen[word] !== count - 1) {
      firstProblem ??= `line ${lines}: ${line.slice(0, 80)} (the word's earlier count: ${word >= 0 && word < keys ? seen[word] : 'not a word of the input'})`;
      continue;
    }
    seen[word] = count;
    if (count === 2) complete++;
  }
  const ok = firstProblem === undefined && complete === keys && lines === 2 * keys;
  return { lines, complete, ...(firstProblem === undefined ? {} : { firstProblem }), ok };
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const startedAt = new Date();
const loadAtStart = loadavg();
console.log(`writing ${keys} distinct words, each twice, to ${dir}/input.txt`);
await writeInput(join(dir, 'input.txt'));
const messages = 2 * keys;
const outputBytes = expectedOutputBytes();

let clean: RunResult | undefined;
let cleanCheck: PerKeyCheck | undefined;
if (check === 'uninterrupted') {
  clean = await run(runArgs(join(dir, 'clean.jsonl'), join(dir, 'clean-state')), join(dir, 'clean.jsonl'));
  console.log(
    `uninterrupted run: exit ${clean.code} in ${(clean.ms / 1000).toFixed(0)} s, peak RSS ${(clean.peakRssBytes / 2 ** 20).toFixed(0)} MiB, checkpoints ${JSON.stringify(clean.checkpoints)}`,
  );
  if (clean.code !== 0) throw new Error('the uninterrupted run failed');
  cleanCheck = await checkPerKey(join(dir, 'clean.jsonl'));
  console.log(`uninterrupted output per key: ${JSON.stringify(cleanCheck)}`);
}
const cleanSizes = clean === undefined ? undefined : stateSizes(join(dir, 'clean-state'));

if (values['uninterrupted-only'] && clean !== undefined) {
  clearInterval(loadSampler);
  const record = {
    name: 'state-larger-than-memory (uninterrupted only)',
    commit: gitCommit(),
    load: { atStart: loadAtStart.map((l) => Number(l.toFixed(2))), atEnd: loadavg().map((l) => Number(l.toFixed(2))) },
    keys,
    stateMemory: values['state-memory'],
    uninterrupted: { ...described(clean, messages), ...cleanSizes, perKeyCheck: cleanCheck },
  };
  console.log(JSON.stringify(record));
  if (values.out !== undefined) writeFileSync(values.out, JSON.stringify(record, null, 2) + '\n');
  process.exit(cleanCheck?.ok === true ? 0 : 1);
}

// Kill moments: with an uninterrupted run, at random times within 20-80 % of its duration; without
// one, at random points of progress (sizes of the output, 10-90 % of the complete output's bytes),
// later ones further on.
const killPoints =
  clean === undefined
    ? Array.from({ length: kills }, () => killAtFraction ?? 0.1 + 0.8 * Math.random()).sort((x, y) => x - y)
    : Array.from({ length: kills }, () => 0.2 + 0.6 * Math.random());
const crashedOutput = join(dir, 'crashed.jsonl');
const interrupted: { killAt: { afterSeconds: number } | { outputFraction: number }; run: RunResult }[] = [];
let killed = 0;
for (const [k, point] of killPoints.entries()) {
  const killAt: KillAt =
    clean === undefined
      ? { outputPath: crashedOutput, outputBytes: Math.floor(point * outputBytes) }
      : { afterMs: Math.floor(clean.ms * point) };
  const result = await run(runArgs(crashedOutput, join(dir, 'crashed-state')), crashedOutput, killAt);
  const at =
    'afterMs' in killAt ? { afterSeconds: killAt.afterMs / 1000 } : { outputFraction: Number(point.toFixed(4)) };
  interrupted.push({ killAt: at, run: result });
  if (result.signal === 'SIGKILL') killed++;
  console.log(
    `run ${k + 1}: ${result.signal === 'SIGKILL' ? `SIGKILL after ${(result.ms / 1000).toFixed(0)} s (${JSON.stringify(at)})` : `exit ${result.code} before the kill`}, peak RSS ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
  );
}
const final = await run(runArgs(crashedOutput, join(dir, 'crashed-state')), crashedOutput);
console.log(
  `finishing run: exit ${final.code} in ${(final.ms / 1000).toFixed(0)} s, first new output after ${final.firstOutputMs === undefined ? '-' : (final.firstOutputMs / 1000).toFixed(1)} s`,
);
if (final.code !== 0) throw new Error('the run finishing after the kills failed');
const crashedCheck = await checkPerKey(crashedOutput);
console.log(`interrupted output per key: ${JSON.stringify(crashedCheck)}`);
const [a, b] = await Promise.all([
  clean === undefined ? Promise.resolve(undefined) : digest(join(dir, 'clean.jsonl')),
  digest(crashedOutput),
]);
clearInterval(loadSampler);
const identical = a === undefined ? undefined : a === b;
const proven = crashedCheck.ok && (cleanCheck?.ok ?? true) && identical !== false && killed > 0;
const summary = { keys, killed, check, identical, perKeyOk: crashedCheck.ok, proven };
console.log(JSON.stringify(summary));
if (values.out !== undefined) {
  const all = [...(clean === undefined ? [] : [clean]), ...interrupted.map((i) => i.run), final];
  const record = {
    name: 'state-larger-than-memory',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    commit: gitCommit(),
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    load: {
      atStart: loadAtStart.map((l) => Number(l.toFixed(2))),
      atEnd: loadavg().map((l) => Number(l.toFixed(2))),
      oneMinuteSamples: { count: loads.length, min: Math.min(...loads), max: Math.max(...loads), mean: mean(loads) },
    },
    workload: {
      keys,
      messages,
      inputBytes: statSync(join(dir, 'input.txt')).size,
      heapLimitMiB: HEAP_LIMIT_MIB,
      stateBackend: 'disk',
      stateMemory: values['state-memory'],
      checkpointIntervalMs: Number(values['checkpoint-interval']),
    },
    check,
    ...(clean === undefined
      ? {}
      : { uninterrupted: { ...described(clean, messages), ...cleanSizes, perKeyCheck: cleanCheck } }),
    interrupted: {
      kills: interrupted.map((i) => ({ ...i.killAt, ...described(i.run) })),
      killed,
      finishing: described(final),
      totalWallSeconds: (interrupted.reduce((n, i) => n + i.run.ms, 0) + final.ms) / 1000,
      messagesPerSec: Math.round(messages / ((interrupted.reduce((n, i) => n + i.run.ms, 0) + final.ms) / 1000)),
      ...stateSizes(join(dir, 'crashed-state')),
      perKeyCheck: crashedCheck,
    },
    peakRssMiB: Math.round(Math.max(...all.map((r) => r.peakRssBytes)) / 2 ** 20),
    outputBytes: { expected: outputBytes, interrupted: statSync(crashedOutput).size },
    ...(identical === undefined ? {} : { outputsIdentical: identical, sha256: { uninterrupted: a, interrupted: b } }),
    sha256Interrupted: b,
    proven,
  };
  writeFileSync(values.out, JSON.stringify(record, null, 2) + '\n');
  console.log(`wrote ${values.out}`);
}
if (!proven) {
  console.error(
    killed === 0
      ? 'no run was killed: nothing is proven (a smaller --keys finishes before its kill moments?)'
      : 'the outputs are not what the input implies: see the per-key checks above',
  );
  process.exitCode = 1;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : Number((xs.reduce((n, x) => n + x, 0) / xs.length).toFixed(2));
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
