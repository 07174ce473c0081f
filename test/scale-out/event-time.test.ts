// Event time across the keyed exchange: watermarks travel as markers from the source unit to every
// stage partition, so session windows close (event-time timers fire) exactly as in one process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringUtf8Coder } from '../../src/index.ts';
import { createMemoryCheckpointStore } from '../../src/checkpoint/index.ts';
import { createEmbeddedRuntime, createLogger, defineJob, json, jsonLines } from '../../runtime/index.ts';
import {
  connectNats,
  createStreamSink,
  ensureSubjectStream,
  openStreamSource,
  subjectStreamName,
} from '../../runtime/nats/index.ts';
import { openWorkerRuntime } from '../../runtime/nats/open-worker.ts';
import { nats } from '../../runtime/transport.ts';
import { Sessionize, type PageView, type Session } from '../../examples/sessions.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { waitForProgress } from '../support/wait-for.ts';

type Line = PageView | { readonly watermark: number };

const job = defineJob({ name: 'sessions_scaled' })
  .source(
    jsonLines<Line>({
      timestamp: (line) => (line as PageView).ts,
      maxOutOfOrdernessMs: 10_000,
      watermark: (line) => ('watermark' in line ? line.watermark : undefined),
    }),
  )
  .keyBy((view) => (view as PageView).user, StringUtf8Coder.of())
  .process(() => new Sessionize() as never, { name: 'sessionize', parallelism: 3 })
  .sink(json<Session>());

/** Page views of 40 users over a day, a little out of order, with gaps that split sessions. */
function views(count: number): PageView[] {
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

function perUser(lines: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of lines) {
    const session = JSON.parse(line) as Session;
    map.set(session.user, [...(map.get(session.user) ?? []), line]);
  }
  return map;
}

test('sessions over a scaled-out job close exactly as in one embedded process, per user', async () => {
  const input = views(2500);
  const dir = mkdtempSync(join(tmpdir(), 'stator-sessions-'));
  let reference: string[];
  try {
    writeFileSync(join(dir, 'in.jsonl'), input.map((v) => JSON.stringify(v)).join('\n') + '\n');
    await createEmbeddedRuntime({
      job,
      input: join(dir, 'in.jsonl'),
      output: join(dir, 'out.jsonl'),
      store: createMemoryCheckpointStore(),
      logger: createLogger('silent'),
    }).run();
    reference = readFileSync(join(dir, 'out.jsonl'), 'utf8').trimEnd().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(reference.length > 100, `the data must make many sessions (${reference.length})`);

  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureSubjectStream(await link.jetstreamManager(), 'sessions_scaled.in', {
    defaultName: subjectStreamName('sessions_scaled.in'),
  });
  {
    await using sink = createStreamSink(link);
    // The end of the input as a watermark message: a stream never ends by itself.
    for (const [i, line] of [...input, { watermark: 8.64e15 }].entries()) {
      if (sink.congested) await sink.whenUncongested();
      sink.publish({
        subject: 'sessions_scaled.in',
        data: new TextEncoder().encode(JSON.stringify(line)),
        msgId: `v${i}`,
      });
    }
    await sink.flush();
  }
  const logs: string[] = [];
  const prepared = await openWorkerRuntime({
    job,
    transport: nats({ servers: server.url }),
    logger: createLogger('info', { write: (line: string) => logs.push(line) > 0 } as unknown as NodeJS.WritableStream),
    checkpointIntervalMs: 200,
    maxRetries: undefined,
    http: undefined,
  });
  const run = prepared.runtime.run();
  const stored = async (): Promise<number> => {
    try {
      return (await (await link.jetstreamManager()).streams.info('SESSIONS_SCALED_OUT')).state.messages;
    } catch {
      return 0;
    }
  };
  try {
    await waitForProgress(
      async () => (await stored()) >= reference.length,
      async () => (await stored()) + logs.length,
      'every session',
    );
  } finally {
    await prepared.runtime.stop();
    await run.catch(() => undefined);
    await prepared.close();
  }
  const actual: string[] = [];
  await using source = await openStreamSource(link, {
    stream: 'SESSIONS_SCALED_OUT',
    filterSubject: 'sessions_scaled.out',
    startSeq: 1,
  });
  while (actual.length < (await stored()))
    for (const record of (await source.nextBatch()) ?? []) actual.push(new TextDecoder().decode(record.data));
  assert.is(actual.length, reference.length);
  assert.equal(perUser(actual), perUser(reference));
});

test.run();
