// Shared by the NATS fault tests: deterministic wordcount input, a paced producer, the job as a CLI
// process, reading the output stream back, and the exactly-once check against an uninterrupted
// embedded run over the same input.
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor as waitForCondition, waitForProgress } from '../support/wait-for.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { createMemoryCheckpointStore } from '../../src/checkpoint/index.ts';
import { createEmbeddedRuntime, createLogger } from '../../runtime/index.ts';
import {
  createStreamSink,
  ensureSubjectStream,
  openStreamSource,
  subjectStreamName,
  type NatsLink,
} from '../../runtime/nats/index.ts';
import { job as wordcount } from '../../examples/wordcount.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Deterministic text: `lines` lines of 5 words from a 300-word vocabulary. */
export function text(lines: number, seed = 7): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const words: string[] = [];
    for (let w = 0; w < 5; w++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      words.push(`w${seed % 300}`);
    }
    out.push(words.join(' '));
  }
  return out;
}

/**
 * Publishes `lines` to wordcount.in, `chunk` lines at a time with `pauseMs` between chunks (so input
 * keeps flowing while a test kills things), line i with id `in:<firstIndex + i>`: the producer's own retries
 * across a server restart are deduplicated too.
 */
export async function produce(
  link: NatsLink,
  lines: readonly string[],
  chunk = lines.length,
  pauseMs = 0,
  firstIndex = 0,
): Promise<void> {
  await ensureSubjectStream(await link.jetstreamManager(), 'wordcount.in', {
    defaultName: subjectStreamName('wordcount.in'),
  });
  await using sink = createStreamSink(link, { window: 256 });
  for (let i = 0; i < lines.length; i++) {
    if (sink.congested) await sink.whenUncongested();
    sink.publish({ subject: 'wordcount.in', data: encoder.encode(lines[i]!), msgId: `in:${firstIndex + i}` });
    if ((i + 1) % chunk === 0 && pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  await sink.flush();
}

export interface JobProcess {
  readonly child: ChildProcess;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `stator run examples/wordcount.ts --nats <url>` as a child process. */
export function startJob(url: string, extra: readonly string[] = []): JobProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'runtime/cli/main.ts',
      'run',
      'examples/wordcount.ts',
      '--nats',
      url,
      '--checkpoint-interval',
      '200',
      ...extra,
    ],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NATS_URL: '' },
    },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => stderr, exited };
}

/**
 * Starts wordcount jobs (as startJob) that are SIGKILLed when the test file's tests end, also
 * after a failure; a job that exited is forgotten. `after` registers the hook (uvu's test.after).
 */
export function killedAfterTests(
  after: (hook: () => void) => void,
): (url: string, extra?: readonly string[]) => JobProcess {
  const running = new Set<JobProcess>();
  after(() => {
    for (const job of running) job.child.kill('SIGKILL');
  });
  return (url, extra = []) => {
    const job = startJob(url, extra);
    running.add(job);
    void job.exited.then(() => running.delete(job));
    return job;
  };
}

export async function streamMessages(link: NatsLink, stream: string): Promise<number> {
  try {
    return (await (await link.jetstreamManager()).streams.info(stream)).state.messages;
  } catch {
    return 0;
  }
}

/**
 * Waits until the job committed a checkpoint while running (any trigger but the final stop: a job
 * that has worked off its input before the first watermark trigger checkpoints for max-spacing), or
 * exited.
 */
export function checkpointed(job: JobProcess): Promise<void> {
  return waitFor(
    () => /checkpoint \d+ \((?!stop)[a-z-]+,/.test(job.stderr()) || job.child.exitCode !== null,
    'a checkpoint',
  );
}

/** Polls `condition` every 100 ms (90 s guard against a hang); see test/support/wait-for.ts. */
export function waitFor(condition: () => Promise<boolean> | boolean, what: string, limitMs = 90_000): Promise<void> {
  return waitForCondition(condition, what, { limitMs, intervalMs: 100 });
}

/**
 * Waits until WORDCOUNT_OUT holds `count` messages, or `stopped()` says the job ended, for as long as
 * the stream or the job's log keeps growing: a replay stores nothing new (its outputs are duplicates)
 * until it passes what earlier runs stored, but logs its checkpoints.
 */
export function waitForAllOutputs(
  link: NatsLink,
  count: number,
  log: () => number,
  stopped: () => boolean,
): Promise<void> {
  return waitForProgress(
    async () => (await streamMessages(link, 'WORDCOUNT_OUT')) >= count || stopped(),
    async () => (await streamMessages(link, 'WORDCOUNT_OUT')) + log(),
    'every output',
  );
}

/** The first `count` messages of WORDCOUNT_OUT, as text. */
export async function readOutputs(link: NatsLink, count: number): Promise<string[]> {
  const out: string[] = [];
  await using source = await openStreamSource(link, {
    stream: 'WORDCOUNT_OUT',
    filterSubject: 'wordcount.out',
    startSeq: 1,
  });
  while (out.length < count) for (const r of (await source.nextBatch()) ?? []) out.push(decoder.decode(r.data));
  return out;
}

/** What an uninterrupted embedded run of wordcount writes for `lines`, one output per line. */
export async function referenceOutputs(lines: readonly string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'stator-reference-'));
  try {
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.jsonl');
    writeFileSync(input, `${lines.join('\n')}\n`);
    await createEmbeddedRuntime({
      job: wordcount,
      input,
      output,
      store: createMemoryCheckpointStore(),
      logger: createLogger('silent'),
    }).run();
    return readFileSync(output, 'utf8').trimEnd().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The output stream holds exactly the reference run's outputs: each once, each word's counts
 * 1..n in order (so every input word was counted once); with `sameOrder`, in the very same order.
 */
export function assertSameOutputs(
  actual: readonly string[],
  reference: readonly string[],
  sameOrder: boolean,
  context: string,
): void {
  assert.is(actual.length, reference.length, `${actual.length} outputs for ${reference.length} expected (${context})`);
  const perWord = (outputs: readonly string[]): Map<string, number[]> => {
    const map = new Map<string, number[]>();
    for (const line of outputs) {
      const { word, count } = JSON.parse(line) as { word: string; count: number };
      const counts = map.get(word) ?? [];
      counts.push(count);
      map.set(word, counts);
    }
    return map;
  };
  const got = perWord(actual);
  const want = perWord(reference);
  for (const [word, counts] of want) {
    const seen = got.get(word) ?? [];
    // Without the order guarantee (publishes retried across a server crash), compare as sets.
    if (!sameOrder) seen.sort((a, b) => a - b);
    assert.equal(seen, counts, `${word}: counts ${seen.join(',')} stored, ${counts.join(',')} expected (${context})`);
  }
  assert.is(got.size, want.size, `words without an expected count were output (${context})`);
  if (sameOrder)
    assert.ok(
      actual.every((line, i) => line === reference[i]),
      `output order differs from the uninterrupted run (${context})`,
    );
}
