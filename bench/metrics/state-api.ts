// stateapi.*: the state API as a Dapr client uses it, against what a Dapr-on-NATS user would use: a
// NATS KV bucket. One process runs examples/wordcount.ts in NATS mode (HTTP server, own nats-server)
// while a producer keeps publishing input to it; from the same process, CLIENTS concurrent loops do
// the operations over HTTP (fetch, keep-alive) against the job's state API, and the same number of
// get/put of the same JSON values by the same keys on a KV bucket of the same server (the baseline),
// interleaved. Reads: a strong read (the key's partition answers in a mailbox turn), an eventual read
// (from the latest committed checkpoint), vs kv.get. Writes: a last-write-wins save (logged in the
// job's state stream, acknowledged by JetStream, then applied by the partition) vs kv.put.
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { job as wordcount } from '../../examples/wordcount.ts';
import { createLogger, createRuntime, nats, startHttpServer } from '../../runtime/index.ts';
import type { HttpServer, JobRuntime } from '../../runtime/index.ts';
import { ensureSubjectStream, subjectStreamName } from '../../runtime/nats/index.ts';
import type { NatsLink } from '../../runtime/nats/index.ts';
import { interleave, median } from '../lib/measure.ts';
import type { Interleaved } from '../lib/measure.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';
import { openFilledServer } from './jetstream-fixture.ts';

const INPUT = 'wordcount.in';
const CLIENTS = 16;
const KEYS = 1000;
/** Input lines per producer tick (one word each), a tick every TICK_MS: 2,000 lines/s offered. */
const LINES_PER_TICK = 20;
const TICK_MS = 10;

const encoder = new TextEncoder();

type Operation = 'strong' | 'eventual' | 'write';

interface Fixture extends AsyncDisposable {
  readonly url: string;
  /** The server's cheapest route (GET /healthz): the HTTP round trip alone, for where the cost goes. */
  readonly floorUrl: string;
  readonly kv: KV;
  /** Input lines published while the fixture ran (the job's load). */
  readonly produced: () => number;
}

/** Runs `op` for keys 0..n-1 (mod KEYS) from CLIENTS loops; resolves with n. */
async function loops(n: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < n; i = next++) await op(i);
    }),
  );
  return n;
}

async function expectOk(response: Response, what: string): Promise<void> {
  await response.arrayBuffer();
  if (response.status !== 200 && response.status !== 204) throw new Error(`${what}: HTTP ${response.status}`);
}

async function openFixture(): Promise<Fixture> {
  const logger = createLogger('warn');
  const opened = await openFilledServer(async (link) => {
    await ensureSubjectStream(
      await link.jetstreamManager(),
      INPUT,
      { defaultName: subjectStreamName(INPUT) },
      link.features,
    );
  });
  let http: HttpServer | undefined;
  let runtime: JobRuntime | undefined;
  let running: Promise<unknown> | undefined;
  let producing = true;
  let produced = 0;
  let producer: Promise<void> | undefined;
  const kvm = new Kvm(opened.link.nc);
  let kv: KV | undefined;
  const close = async (): Promise<void> => {
    producing = false;
    await producer;
    await runtime?.stop();
    await running?.catch(() => {});
    await http?.close();
    await kv?.destroy().catch(() => {});
    await opened[Symbol.asyncDispose]();
  };
  try {
    http = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
    runtime = createRuntime({ job: wordcount, transport: nats({ servers: opened.server.url }), logger, http });
    running = runtime.run();
    running.catch(() => {});
    const url = `${http.url}/v1.0/state/wordcount`;
    await untilServing(url, runtime);
    producer = produce(
      opened.link,
      () => producing,
      () => produced++,
    );
    kv = await kvm.create('stateapi_bench', { history: 1 });
    // The same values under the same keys on both sides; a checkpoint so eventual reads find them.
    for (let start = 0; start < KEYS; start += 100) {
      const batch = Array.from({ length: Math.min(100, KEYS - start) }, (_, j) => ({
        key: `key${start + j}`,
        value: { count: start + j },
      }));
      await expectOk(await fetch(url, { method: 'POST', body: JSON.stringify(batch) }), 'seeding the keys');
      for (const item of batch) await kv.put(item.key, encoder.encode(JSON.stringify(item.value)));
    }
    await runtime.checkpoint();
    const bucket = kv;
    return { url, floorUrl: `${http.url}/healthz`, kv: bucket, produced: () => produced, [Symbol.asyncDispose]: close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function untilServing(url: string, runtime: JobRuntime): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (runtime.state === 'failed') throw new Error('the job failed to start');
    const response = await fetch(`${url}/nothing`).catch(() => undefined);
    await response?.arrayBuffer();
    if (response?.status === 204) return;
    if (Date.now() > deadline) throw new Error('the state API did not answer within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Keeps the job busy: LINES_PER_TICK one-word lines every TICK_MS, as plain publishes into the input stream. */
async function produce(link: NatsLink, going: () => boolean, count: () => void): Promise<void> {
  let tick = 0;
  while (going()) {
    for (let j = 0; j < LINES_PER_TICK; j++) {
      link.nc.publish(INPUT, encoder.encode(`w${(tick * LINES_PER_TICK + j) % 5000}`));
      count();
    }
    tick++;
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  await link.nc.flush();
}

function ours(fixture: Fixture, operation: Operation, n: number): () => Promise<number> {
  return () =>
    loops(n, async (i) => {
      const key = `key${i % KEYS}`;
      if (operation === 'write') {
        await expectOk(
          await fetch(fixture.url, { method: 'POST', body: JSON.stringify([{ key, value: { count: i } }]) }),
          'a save',
        );
      } else {
        const response = await fetch(`${fixture.url}/${key}${operation === 'eventual' ? '?consistency=eventual' : ''}`);
        if (response.status !== 200) throw new Error(`a ${operation} read of ${key}: HTTP ${response.status}`);
        await response.json();
      }
    });
}

function baseline(fixture: Fixture, operation: Operation, n: number): () => Promise<number> {
  return () =>
    loops(n, async (i) => {
      const key = `key${i % KEYS}`;
      if (operation === 'write') {
        await fixture.kv.put(key, encoder.encode(JSON.stringify({ count: i })));
      } else {
        const entry = await fixture.kv.get(key);
        if (entry === null) throw new Error(`kv.get ${key}: missing`);
        JSON.parse(entry.string());
      }
    });
}

function stateApiMetric(name: string, operation: Operation, description: string, target: number, what: string): Metric {
  return {
    name,
    description,
    goal: { field: 'ratio', op: '>=', target },
    async run(ctx: BenchContext): Promise<MetricResult> {
      const n = ctx.quick ? 2_000 : 10_000;
      const repetitions = ctx.quick ? 3 : 7;
      await using fixture = await openFixture();
      const producedBefore = fixture.produced();
      const started = Date.now();
      const measured: Interleaved = await interleave(
        { run: ours(fixture, operation, n) },
        { run: baseline(fixture, operation, n) },
        { repetitions, warmup: 1, signal: ctx.signal, onRepetition: (done, total) => ctx.progress(done / total) },
      );
      const inputPerSec = ((fixture.produced() - producedBefore) * 1000) / (Date.now() - started);
      // The HTTP round trip alone, same clients and server: how much of the gap is HTTP's.
      const floor: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = process.hrtime.bigint();
        await loops(n, async () => expectOk(await fetch(fixture.floorUrl), 'GET /healthz'));
        floor.push(n / (Number(process.hrtime.bigint() - t) / 1e9));
      }
      const httpFloor = median(floor);
      return {
        value: measured.ours,
        unit: 'ops/s',
        baseline: measured.baseline,
        baselineUnit: 'ops/s',
        ratio: measured.ratio,
        note:
          `${what}; wordcount in NATS mode in this process (2 partitions) taking ~${Math.round(inputPerSec)} input lines/s meanwhile; ` +
          `${CLIENTS} concurrent clients in this process, ${n} operations per repetition over ${KEYS} keys, ${repetitions} interleaved repetitions (median); ` +
          `paired ratio ${measured.pairedRatio.toFixed(2)}; the HTTP round trip alone (GET /healthz, same clients) ${Math.round(httpFloor)}/s, ` +
          `so the state API runs at ${(measured.ours / httpFloor).toFixed(2)}x of bare HTTP and HTTP alone at ${(httpFloor / measured.baseline).toFixed(2)}x of the KV baseline${ctx.quick ? '; QUICK sizes' : ''}`,
        details: {
          pairedRatio: measured.pairedRatio,
          oursSamples: measured.oursSamples,
          baselineSamples: measured.baselineSamples,
          inputLinesPerSec: inputPerSec,
          httpFloorPerSec: httpFloor,
          ratioToHttpFloor: measured.ours / httpFloor,
        },
      };
    },
  };
}

export const stateApiStrongGetPerSec = stateApiMetric(
  'stateapi.strongGetPerSec',
  'strong',
  'GET /v1.0/state/wordcount/<key> (strong: the partition answers) per second / NATS KV get per second',
  1,
  'Dapr-shaped GET, strong (default) vs kv.get of the same JSON value',
);

export const stateApiEventualGetPerSec = stateApiMetric(
  'stateapi.eventualGetPerSec',
  'eventual',
  'GET /v1.0/state/wordcount/<key>?consistency=eventual (latest checkpoint) per second / NATS KV get per second',
  1,
  'Dapr-shaped GET ?consistency=eventual vs kv.get of the same JSON value',
);

export const stateApiWritePerSec = stateApiMetric(
  'stateapi.writePerSec',
  'write',
  'POST /v1.0/state/wordcount (one key, last-write-wins: logged in JetStream, then applied) per second / NATS KV put per second',
  0.5,
  'Dapr-shaped save of one key, last-write-wins, acknowledged after JetStream stored it and the partition applied it, vs kv.put of the same JSON value',
);
