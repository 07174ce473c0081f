// The runs the output-path metrics share: examples/wordcount.ts (one output per word) over the
// bundled sample repeated, as a user runs it — NATS mode with the input already in the stream,
// embedded mode over the same lines in a file — plus the raw baseline: plain nats.js publishes
// with a Nats-Msg-Id header into a stream, as many as the job's outputs. The runs are made once per
// bench process and shared by the metrics that read them (jetstream.outputsPerSec,
// jetstream.wordcountLinesPerSec, runtime.intakePauseMs, checkpoint.commitLatencyMs).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headers } from '@nats-io/transport-node';
import { job as wordcount } from '../../examples/wordcount.ts';
import { createRuntime, files, nats, type RuntimeEvent } from '../../runtime/index.ts';
import { DEFAULT_CHECKPOINT_INTERVAL_MS } from '../../runtime/defaults.ts';
import {
  createStreamSink,
  ensureStream,
  ensureSubjectStream,
  subjectStreamName,
  type NatsLink,
} from '../../runtime/nats/index.ts';
import { quietLogger } from '../lib/quiet-logger.ts';
import { openFilledServer, type BenchServer } from './jetstream-fixture.ts';

const INPUT_SUBJECT = 'wordcount.in';
const OUTPUT_STREAM = 'WORDCOUNT_OUT';
/** Embedded runs checkpoint more often, so each gives several intake pauses to measure (100 ms in quick mode). */
const EMBEDDED_CHECKPOINT_INTERVAL_MS = 500;

const encoder = new TextEncoder();
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface WordcountWorkload {
  /** Times the sample is repeated. */
  readonly repeat: number;
  readonly lines: readonly string[];
  /** Outputs wordcount writes for them (one per word). */
  readonly outputs: number;
}

/** The bundled sample repeated: 207 lines, 1,924 words each time (200 times: 41,400 lines, 384,800 outputs). */
export function sampleWorkload(repeat: number): WordcountWorkload {
  const sample = readFileSync(fileURLToPath(new URL('../../examples/data/sample.txt', import.meta.url)), 'utf8');
  const once = sample.endsWith('\n') ? sample.slice(0, -1).split('\n') : sample.split('\n');
  const lines: string[] = [];
  for (let i = 0; i < repeat; i++) lines.push(...once);
  let outputs = 0;
  for (const line of lines) outputs += line.split(/\s+/).filter((word) => word.length > 0).length;
  return { repeat, lines, outputs };
}

/** One checkpoint of a run, from the runtime's events. */
export interface CheckpointSample {
  readonly reason: string;
  /** Intake paused for the cut. */
  readonly pausedMs: number;
  /** The cut began → the manifest committed. */
  readonly commitMs: number;
}

export interface NatsWordcountRun {
  /** Start of the run (its first restore) → every output stored in the output stream. */
  readonly ms: number;
  readonly linesPerSec: number;
  readonly outputsPerSec: number;
  readonly checkpoints: readonly CheckpointSample[];
  /** Restores during the run: more than 1 when the job's unit restarted (e.g. fenced after late heartbeats). */
  readonly restores: number;
}

export interface EmbeddedWordcountRun {
  readonly ms: number;
  readonly linesPerSec: number;
  readonly checkpoints: readonly CheckpointSample[];
}

export { quietLogger };

function checkpointsOf(events: readonly RuntimeEvent[]): CheckpointSample[] {
  const samples: CheckpointSample[] = [];
  for (const event of events) {
    if (event.type === 'checkpoint')
      samples.push({ reason: event.reason, pausedMs: event.pausedMs, commitMs: event.durationMs });
  }
  return samples;
}

/** A nats-server of its own with the workload's lines in `wordcount.in`. */
export interface WordcountServer extends BenchServer {
  readonly workload: WordcountWorkload;
}

export async function openWordcountServer(workload: WordcountWorkload): Promise<WordcountServer> {
  const opened = await openFilledServer(async (link) => {
    await ensureSubjectStream(
      await link.jetstreamManager(),
      INPUT_SUBJECT,
      { defaultName: subjectStreamName(INPUT_SUBJECT) },
      link.features,
    );
    await using sink = createStreamSink(link);
    for (let i = 0; i < workload.lines.length; i++) {
      if (sink.congested) await sink.whenUncongested();
      sink.publish({ subject: INPUT_SUBJECT, data: encoder.encode(workload.lines[i]!), msgId: `line:${i}` });
    }
    await sink.flush();
  });
  return {
    server: opened.server,
    link: opened.link,
    workload,
    [Symbol.asyncDispose]: () => opened[Symbol.asyncDispose](),
  };
}

/** Deletes every stream but the input: the next run starts from scratch (no checkpoint, empty output). */
async function resetJob(link: NatsLink): Promise<void> {
  const jsm = await link.jetstreamManager();
  const input = subjectStreamName(INPUT_SUBJECT);
  for await (const name of jsm.streams.names()) if (name !== input) await jsm.streams.delete(name);
}

/** Messages in WORDCOUNT_OUT (0 while it does not exist). */
export async function storedOutputs(link: NatsLink): Promise<number> {
  try {
    return (await (await link.jetstreamManager()).streams.info(OUTPUT_STREAM)).state.messages;
  } catch {
    return 0;
  }
}

/**
 * examples/wordcount.ts in NATS mode over the stream, at the default checkpoint interval, from its
 * start (restored) until every output is stored; then stopped (drain, final checkpoint).
 */
export async function natsWordcount(
  target: WordcountServer,
  signal: AbortSignal,
  checkpointIntervalMs = DEFAULT_CHECKPOINT_INTERVAL_MS,
): Promise<NatsWordcountRun> {
  await resetJob(target.link);
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  signal.addEventListener('abort', abort, { once: true });
  const runtime = createRuntime({
    job: wordcount,
    transport: nats({ servers: target.server.url }),
    signal: controller.signal,
    logger: quietLogger,
    checkpointIntervalMs,
  });
  const events: RuntimeEvent[] = [];
  let started = 0;
  let restores = 0;
  runtime.events.subscribe((event) => {
    // A unit that restarts mid-run restores again: the run still counts from its first start.
    if (event.type === 'restored' && restores++ === 0) started = now();
    events.push(event);
  });
  const running = runtime.run();
  running.catch(() => {});
  let finished = 0;
  try {
    const deadline = Date.now() + 300_000;
    while (finished === 0) {
      if (runtime.state === 'failed' || runtime.state === 'stopped') break;
      if (Date.now() > deadline) throw new Error('NATS-mode wordcount did not store every output within 300 s');
      signal.throwIfAborted();
      if ((await storedOutputs(target.link)) >= target.workload.outputs) finished = now();
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    controller.abort();
    signal.removeEventListener('abort', abort);
    await running;
  }
  if (finished === 0 || started === 0)
    throw new Error(`NATS-mode wordcount ended (${runtime.state}) before storing every output`);
  const stored = await storedOutputs(target.link);
  if (stored !== target.workload.outputs)
    throw new Error(`the output stream holds ${stored} messages, expected ${target.workload.outputs}`);
  const ms = finished - started;
  return {
    ms,
    linesPerSec: (target.workload.lines.length / ms) * 1000,
    outputsPerSec: (target.workload.outputs / ms) * 1000,
    checkpoints: checkpointsOf(events),
    restores,
  };
}

/**
 * The best plain nats.js publish rate with a Nats-Msg-Id header into a stream on the same server:
 * as many messages as the job's outputs, payloads like its outputs, no acknowledgement requested,
 * timed until the stream has stored them all.
 */
export async function rawPublishWithMsgId(target: WordcountServer): Promise<number> {
  const jsm = await target.link.jetstreamManager();
  const stream = 'RAW_OUT';
  await jsm.streams.delete(stream).catch(() => false);
  await ensureStream(jsm, { name: stream, subjects: ['raw.out'], minDuplicateWindowMs: 120_000 });
  const nc = target.link.nc;
  const count = target.workload.outputs;
  const start = now();
  for (let i = 0; i < count; i++) {
    const h = headers();
    h.set('Nats-Msg-Id', `raw:${i}`);
    nc.publish('raw.out', encoder.encode(`{"word":"w${i % 1000}","count":${i}}`), { headers: h });
    // Let the socket drain now and then, as a producer with this many messages must.
    if (i % 4096 === 4095) await nc.flush();
  }
  await nc.flush();
  for (;;) {
    const stored = (await jsm.streams.info(stream)).state.messages;
    if (stored >= count) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const ms = now() - start;
  await jsm.streams.delete(stream);
  return (count / ms) * 1000;
}

/** The same lines through embedded mode (file in, file out, file checkpoints with fsync). */
export async function embeddedWordcount(
  workload: WordcountWorkload,
  checkpointIntervalMs = EMBEDDED_CHECKPOINT_INTERVAL_MS,
): Promise<EmbeddedWordcountRun> {
  const dir = mkdtempSync(join(tmpdir(), 'stator-bench-wordcount-'));
  try {
    const input = join(dir, 'in.txt');
    writeFileSync(input, `${workload.lines.join('\n')}\n`);
    const runtime = createRuntime({
      job: wordcount,
      transport: files({ input, output: join(dir, 'out.jsonl'), stateDir: join(dir, 'state') }),
      checkpointIntervalMs,
      logger: quietLogger,
    });
    const events: RuntimeEvent[] = [];
    let started = 0;
    runtime.events.subscribe((event) => {
      if (event.type === 'restored' && started === 0) started = now();
      events.push(event);
    });
    await runtime.run();
    const ms = now() - started;
    return { ms, linesPerSec: (workload.lines.length / ms) * 1000, checkpoints: checkpointsOf(events) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface WordcountRuns {
  readonly workload: WordcountWorkload;
  readonly nats: readonly NatsWordcountRun[];
  readonly embedded: readonly EmbeddedWordcountRun[];
  /** The NATS runs' checkpoint interval: the default, or 1 s in quick mode (a short run sees several). */
  readonly natsCheckpointIntervalMs: number;
  readonly embeddedCheckpointIntervalMs: number;
  /** msg/s of rawPublishWithMsgId, one per repetition. */
  readonly rawPublish: readonly number[];
}

type MakeRuns<T> = (quick: boolean, signal: AbortSignal, progress: (fraction: number) => void) => Promise<T>;

/**
 * Makes the runs once per bench process (per quick/full) for every metric that reads them; a failed
 * attempt is not kept, so the next metric tries again.
 */
function sharedRuns<T>(make: MakeRuns<T>): MakeRuns<T> {
  let shared: { quick: boolean; runs: Promise<T> } | undefined;
  return (quick, signal, progress) => {
    if (shared === undefined || shared.quick !== quick) {
      const runs = make(quick, signal, progress);
      shared = { quick, runs };
      runs.catch(() => {
        if (shared?.runs === runs) shared = undefined;
      });
    }
    return shared.runs;
  };
}

/**
 * The shared runs (made on first use): full, the sample × 200 (the 41,400 lines) five
 * times in each mode and five raw publish runs, interleaved (an embedded run lasts well under a
 * second, so its rate swings with whatever else the machine does: the median needs more than three);
 * quick, × 20 once, NATS checkpoints every second.
 */
export const wordcountRuns: MakeRuns<WordcountRuns> = sharedRuns((quick, signal, progress) =>
  makeRuns(quick, signal, progress),
);

async function makeRuns(
  quick: boolean,
  signal: AbortSignal,
  progress: (fraction: number) => void,
): Promise<WordcountRuns> {
  const workload = sampleWorkload(quick ? 20 : 200);
  const repetitions = quick ? 1 : 5;
  const natsCheckpointIntervalMs = quick ? 1000 : DEFAULT_CHECKPOINT_INTERVAL_MS;
  const embeddedCheckpointIntervalMs = quick ? 100 : EMBEDDED_CHECKPOINT_INTERVAL_MS;
  await using target = await openWordcountServer(workload);
  progress(0.1);
  const natsRuns: NatsWordcountRun[] = [];
  const embeddedRuns: EmbeddedWordcountRun[] = [];
  const rawPublish: number[] = [];
  for (let rep = 0; rep < repetitions; rep++) {
    signal.throwIfAborted();
    rawPublish.push(await rawPublishWithMsgId(target));
    natsRuns.push(await natsWordcount(target, signal, natsCheckpointIntervalMs));
    embeddedRuns.push(await embeddedWordcount(workload, embeddedCheckpointIntervalMs));
    progress(0.1 + (0.9 * (rep + 1)) / repetitions);
  }
  return {
    workload,
    nats: natsRuns,
    embedded: embeddedRuns,
    rawPublish,
    natsCheckpointIntervalMs,
    embeddedCheckpointIntervalMs,
  };
}

/** The runs runtime.intakePauseMs reads: enough checkpoints under a backlog in each mode. */
export interface IntakePauseRuns {
  readonly workload: WordcountWorkload;
  readonly nats: readonly NatsWordcountRun[];
  readonly natsCheckpointIntervalMs: number;
  /** Embedded mode over a longer input: it works off the NATS runs' input in well under a second. */
  readonly embeddedWorkload: WordcountWorkload;
  readonly embedded: readonly EmbeddedWordcountRun[];
  readonly embeddedCheckpointIntervalMs: number;
}

/**
 * Runs for the intake pause (made on first use): NATS mode over the sample × 200 with a checkpoint
 * every second (about five per run under the backlog), embedded mode over the sample × 2,000 with one
 * every 500 ms; three runs of each (quick: × 20 and × 200, once).
 */
export const intakePauseRuns: MakeRuns<IntakePauseRuns> = sharedRuns((quick, signal, progress) =>
  makeIntakePauseRuns(quick, signal, progress),
);

async function makeIntakePauseRuns(
  quick: boolean,
  signal: AbortSignal,
  progress: (fraction: number) => void,
): Promise<IntakePauseRuns> {
  const workload = sampleWorkload(quick ? 20 : 200);
  const embeddedWorkload = sampleWorkload(quick ? 200 : 2000);
  const repetitions = quick ? 1 : 3;
  const natsCheckpointIntervalMs = quick ? 200 : 1000;
  const embeddedCheckpointIntervalMs = quick ? 100 : EMBEDDED_CHECKPOINT_INTERVAL_MS;
  await using target = await openWordcountServer(workload);
  progress(0.1);
  const nats: NatsWordcountRun[] = [];
  const embedded: EmbeddedWordcountRun[] = [];
  for (let rep = 0; rep < repetitions; rep++) {
    signal.throwIfAborted();
    nats.push(await natsWordcount(target, signal, natsCheckpointIntervalMs));
    embedded.push(await embeddedWordcount(embeddedWorkload, embeddedCheckpointIntervalMs));
    progress(0.1 + (0.9 * (rep + 1)) / repetitions);
  }
  return { workload, nats, natsCheckpointIntervalMs, embeddedWorkload, embedded, embeddedCheckpointIntervalMs };
}

/** The runs checkpoint.commitLatencyMs reads: NATS mode at the default interval, long enough for several cuts. */
export interface CommitLatencyRuns {
  readonly workload: WordcountWorkload;
  readonly nats: readonly NatsWordcountRun[];
  readonly natsCheckpointIntervalMs: number;
}

/**
 * Runs for the commit latency (made on first use): NATS mode over the sample × 1,000 (207,000 lines,
 * about 20 s on a quiet machine: several checkpoints at the default interval under the backlog), two
 * runs; quick: × 20 with a checkpoint every second, once. The shared × 200 runs end before the
 * default interval's first trigger on a quiet machine.
 */
export const commitLatencyRuns: MakeRuns<CommitLatencyRuns> = sharedRuns(async (quick, signal, progress) => {
  const workload = sampleWorkload(quick ? 20 : 1000);
  const repetitions = quick ? 1 : 2;
  const natsCheckpointIntervalMs = quick ? 1000 : DEFAULT_CHECKPOINT_INTERVAL_MS;
  await using target = await openWordcountServer(workload);
  progress(0.1);
  const nats: NatsWordcountRun[] = [];
  for (let rep = 0; rep < repetitions; rep++) {
    signal.throwIfAborted();
    nats.push(await natsWordcount(target, signal, natsCheckpointIntervalMs));
    progress(0.1 + (0.9 * (rep + 1)) / repetitions);
  }
  return { workload, nats, natsCheckpointIntervalMs };
});
