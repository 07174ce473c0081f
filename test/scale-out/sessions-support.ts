// The event-time scale-out tests' job and data: session windows per user over page views of 40 users
// (a little out of order, within the job's 10 s, with gaps that split sessions), the reference run
// in one embedded process, and a worker that runs until every session is stored.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringUtf8Coder } from '../../src/index.ts';
import { createMemoryCheckpointStore } from '../../src/checkpoint/index.ts';
import { createEmbeddedRuntime, createLogger, defineJob, json, jsonLines, type Job } from '../../runtime/index.ts';
import { openStreamSource, type NatsLink } from '../../runtime/nats/index.ts';
import { Sessionize, type PageView, type Session } from '../../examples/sessions.ts';
import { waitForProgress } from '../support/wait-for.ts';
import { startWorker } from './in-process-worker.ts';

export type Line = PageView | { readonly watermark: number };

/** The end of the input as a watermark message: a stream never ends by itself. */
export const END: Line = { watermark: 8.64e15 };

/** Sessions per user; `partitions`: the input is pre-partitioned into that many subjects. */
export function sessionsJob(name: string, parallelism: number, partitions?: number): Job {
  return defineJob({ name })
    .source(
      jsonLines<Line>({
        timestamp: (line) => (line as PageView).ts,
        maxOutOfOrdernessMs: 10_000,
        watermark: (line) => ('watermark' in line ? line.watermark : undefined),
        ...(partitions === undefined ? {} : { partitions }),
      }),
    )
    .keyBy((view) => (view as PageView).user, StringUtf8Coder.of())
    .process(() => new Sessionize() as never, { name: 'sessionize', parallelism })
    .sink(json<Session>());
}

/** `count` page views, the same for the same count. */
export function views(count: number): PageView[] {
  let seed = 11;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const out: PageView[] = [];
  let ts = 1_767_225_600_000;
  for (let i = 0; i < count; i++) {
    ts += next() % 120_000;
    if (next() % 50 === 0) ts += 40 * 60 * 1000;
    out.push({ user: `u${next() % 40}`, ts: ts - (next() % 8_000), page: `/p${next() % 9}` });
  }
  return out;
}

/** Each user's sessions (JSON lines) in output order. */
export function perUser(lines: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of lines) {
    const session = JSON.parse(line) as Session;
    map.set(session.user, [...(map.get(session.user) ?? []), line]);
  }
  return map;
}

/** The reference: `job` over `input` in one embedded process, its output lines. */
export async function embeddedSessions(job: Job, input: readonly PageView[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'stator-sessions-'));
  try {
    writeFileSync(join(dir, 'in.jsonl'), input.map((v) => JSON.stringify(v)).join('\n') + '\n');
    await createEmbeddedRuntime({
      job,
      input: join(dir, 'in.jsonl'),
      output: join(dir, 'out.jsonl'),
      store: createMemoryCheckpointStore(),
      logger: createLogger('silent'),
    }).run();
    return readFileSync(join(dir, 'out.jsonl'), 'utf8').trimEnd().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs one worker of `job` (it owns every unit) until its output stream holds `count` messages, then
 * `whileRunning`, then stops it; returns the output lines, the units it ran and its log.
 */
export async function runWorkerUntilStored(
  url: string,
  link: NatsLink,
  job: Job,
  count: number,
  whileRunning: () => Promise<void> = async () => {},
): Promise<{ outputs: string[]; units: string[]; logs: string[] }> {
  const stream = `${job.name.toUpperCase()}_OUT`;
  const stored = async (): Promise<number> => {
    try {
      return (await (await link.jetstreamManager()).streams.info(stream)).state.messages;
    } catch {
      return 0;
    }
  };
  const { runtime, logs, finish } = await startWorker(url, job, 5000);
  let units: string[];
  try {
    await waitForProgress(
      async () => (await stored()) >= count,
      async () => (await stored()) + logs.length,
      'every session',
    );
    units = [...runtime.ownedUnits].sort();
    await whileRunning();
  } finally {
    await finish();
  }
  const outputs: string[] = [];
  await using source = await openStreamSource(link, { stream, filterSubject: `${job.name}.out`, startSeq: 1 });
  const total = await stored();
  while (outputs.length < total)
    for (const record of (await source.nextBatch()) ?? []) outputs.push(new TextDecoder().decode(record.data));
  return { outputs, units, logs };
}
