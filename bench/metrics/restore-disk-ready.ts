// restore.disk.readyMs as a user meets it: `stator run` of the compiled package (its bin,
// dist/runtime/cli/main.js, in an application whose job imports 'stator') restarted on a job with a
// large state, from process start to the first new message's output in the output file. One
// wordcount state of `keys` distinct words is built once, as a run of the job over them leaves it,
// by restore-state-builder.ts (the job's steps and task runners and the runtime's checkpoint code,
// without the run's pipeline; a checkpoint is the same whichever backend or process wrote it:
// docs/state-backends.md); its checkpoint is copied for the disk side, whose first run (untimed)
// restores it cold and leaves a warm local copy; then each side is restarted alternately, each time
// with one more input line (one word already counted, so the first message reads restored state).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  createWriteStream,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChildJson } from '../lib/child.ts';
import { compileStator } from '../lib/compiled-stator.ts';
import type { BuiltJobState } from '../lib/job-state-builder.ts';

const builderPath = fileURLToPath(new URL('./restore-state-builder.ts', import.meta.url));

const DISK = ['--state-backend', 'disk', '--state-memory', '256MiB'];

/** Writes `keys` distinct words w0..w(keys-1), ten a line. */
async function writeWords(path: string, keys: number): Promise<void> {
  const out = createWriteStream(path);
  let line: string[] = [];
  for (let i = 0; i < keys; i++) {
    line.push(`w${i}`);
    if (line.length === 10 || i === keys - 1) {
      if (!out.write(line.join(' ') + '\n')) await once(out, 'drain');
      line = [];
    }
  }
  out.end();
  await once(out, 'finish');
}

interface Started {
  /** Process start to the first byte of new output, ms. */
  readonly firstOutputMs: number;
  /** The run's own log: "running job" to that first output (without Node's and the job module's loading), ms. */
  readonly inProcessMs: number;
  readonly warm: boolean;
}

/** One `stator run`, timed from spawn to the output file growing; resolves when it exited 0. */
async function runOnce(
  command: readonly string[],
  cwd: string,
  args: readonly string[],
  output: string,
  signal: AbortSignal,
): Promise<Started> {
  let before = 0;
  try {
    before = statSync(output).size;
  } catch {
    // no output yet
  }
  const started = performance.now();
  const startedAt = Date.now();
  const child = spawn(command[0]!, [...command.slice(1), ...args], {
    cwd,
    // As a user's shell starts it: no loader inherited from the bench process.
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
    signal,
    killSignal: 'SIGKILL',
  });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  let firstOutputMs: number | undefined;
  let firstOutputAt = 0;
  while (firstOutputMs === undefined && child.exitCode === null && child.signalCode === null) {
    let size = before;
    try {
      size = statSync(output).size;
    } catch {
      // not created yet
    }
    if (size > before) {
      firstOutputMs = performance.now() - started;
      firstOutputAt = Date.now();
    } else await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const [code] = await exited;
  if (code !== 0) throw new Error(`stator run exited with ${code}: ${log.trim().split('\n').slice(-3).join(' | ')}`);
  if (firstOutputMs === undefined) throw new Error('stator run exited before any output appeared');
  const running = /^(\S+) info {2}running job/m.exec(log);
  const runningAt = running === null ? startedAt : Date.parse(running[1]!);
  return { firstOutputMs, inProcessMs: firstOutputAt - runningAt, warm: /warm local copy/.test(log) };
}

export interface RestoreReady {
  readonly keys: number;
  /** Compiling stator (tsc), ms. */
  readonly compileMs: number;
  /** Building the state (restore-state-builder.ts, a process of its own), ms. */
  readonly buildMs: number;
  /** Of which: the lines through the job's task runners, and the checkpoint's write, ms. */
  readonly buildProcessMs: number;
  readonly buildCheckpointMs: number;
  /** The disk side's first run: a cold restore, then its local copy written and marked at the stop, ms. */
  readonly warmMs: number;
  readonly checkpointBytes: number;
  readonly disk: readonly Started[];
  readonly heap: readonly Started[];
}

/**
 * Compiles stator, builds the state, warms the disk side's local copy, then restarts each backend
 * `repetitions` times, alternating; removes everything after.
 */
export async function measureRestoreReady(
  keys: number,
  repetitions: number,
  signal: AbortSignal,
  progress: (fraction: number) => void,
): Promise<RestoreReady> {
  const dir = mkdtempSync(join(tmpdir(), 'stator-restore-ready-'));
  try {
    const compiled = performance.now();
    const stator = await compileStator(dir, signal);
    const compileMs = performance.now() - compiled;
    const job = stator.writeExample('wordcount.ts');
    const side = (name: 'disk' | 'heap') => ({
      input: join(dir, `${name}.txt`),
      output: join(dir, `${name}.jsonl`),
      state: join(dir, `${name}-state`),
    });
    const disk = side('disk');
    const heap = side('heap');
    const argsOf = (s: typeof disk, extra: readonly string[]) => [
      'run',
      job,
      '--input',
      s.input,
      '--output',
      s.output,
      '--state-dir',
      s.state,
      ...extra,
    ];
    const run = (s: typeof disk, extra: readonly string[]) =>
      runOnce(stator.command, stator.appDir, argsOf(s, extra), s.output, signal);
    await writeWords(heap.input, keys);
    progress(0.1);
    const building = performance.now();
    // The bin's heap flags: a larger young generation, as the runs that restore this state have.
    const built = await runChildJson<BuiltJobState>(
      builderPath,
      [heap.input, heap.output, heap.state],
      signal,
      stator.nodeFlags,
    );
    const buildMs = performance.now() - building;
    if (built.keys !== keys) throw new Error(`the state holds ${built.keys} keys, expected ${keys}`);
    copyFileSync(heap.input, disk.input);
    copyFileSync(heap.output, disk.output);
    cpSync(join(heap.state, 'wordcount', 'main'), join(disk.state, 'wordcount', 'main'), { recursive: true });
    const parts = join(heap.state, 'wordcount', 'main', 'parts');
    const checkpointBytes = readdirSync(parts).reduce((sum, name) => sum + statSync(join(parts, name)).size, 0);
    progress(0.3);
    const warmed = performance.now();
    appendFileSync(disk.input, `w${keys - 1}\n`);
    if ((await run(disk, DISK)).warm) throw new Error('the disk side had a warm local copy before its first run');
    const warmMs = performance.now() - warmed;
    progress(0.4);
    const samples: Record<'disk' | 'heap', Started[]> = { disk: [], heap: [] };
    for (let rep = 0; rep < repetitions; rep++) {
      const word = `w${(rep * 7_919_993) % keys}\n`;
      for (const name of rep % 2 === 0 ? (['heap', 'disk'] as const) : (['disk', 'heap'] as const)) {
        const s = name === 'disk' ? disk : heap;
        appendFileSync(s.input, word);
        samples[name].push(await run(s, name === 'disk' ? DISK : []));
      }
      progress(0.4 + (0.6 * (rep + 1)) / repetitions);
    }
    return {
      keys,
      compileMs,
      buildMs,
      buildProcessMs: built.processMs,
      buildCheckpointMs: built.checkpointMs,
      warmMs,
      checkpointBytes,
      disk: samples.disk,
      heap: samples.heap,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
