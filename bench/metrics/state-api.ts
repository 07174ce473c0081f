// stateapi.*: the state API as a Dapr client uses it, against what a Dapr-on-NATS user would use: a
// NATS KV bucket. This process runs examples/wordcount.ts in NATS mode (HTTP server, own nats-server)
// while a producer keeps publishing input to it. The load comes from a process of its own, as a real
// client's does (state-api-client.ts): CLIENTS concurrent loops over an undici Pool of CLIENTS
// keep-alive connections against the job's state API (and, reported beside, a keep-alive node:http
// agent: the transport of @dapr/dapr's HTTP client), and the same loops doing
// KV get/put of the same JSON values by the same keys on a bucket of the same server (the baseline),
// interleaved. Reads: a strong read (the key's partition answers in a mailbox turn), an eventual read
// (from the latest committed checkpoint), vs kv.get. Writes: a last-write-wins save (logged in the
// job's state stream, acknowledged by JetStream, then applied by the partition) vs kv.put.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { job as wordcount } from '../../examples/wordcount.ts';
import { createLogger, createRuntime, nats, startHttpServer } from '../../runtime/index.ts';
import type { HttpServer, JobRuntime } from '../../runtime/index.ts';
import { ensureSubjectStream, subjectStreamName } from '../../runtime/nats/index.ts';
import type { NatsLink } from '../../runtime/nats/index.ts';
import { runChildJson } from '../lib/child.ts';
import type { ClientOptions, ClientResult, Operation } from './state-api-client.ts';
import type { BenchContext, Metric, MetricResult } from '../lib/types.ts';
import { openFilledServer } from './jetstream-fixture.ts';

const INPUT = 'wordcount.in';
const CLIENTS = 16;
const BUCKET = 'stateapi_bench';
const KEYS = 1000;
/** Input lines per producer tick (one word each), a tick every TICK_MS: 2,000 lines/s offered. */
const LINES_PER_TICK = 20;
const TICK_MS = 10;

const encoder = new TextEncoder();

interface Fixture extends AsyncDisposable {
  readonly url: string;
  readonly natsUrl: string;
  /** The server's cheapest route (GET /healthz): the HTTP round trip alone, for where the cost goes. */
  readonly floorUrl: string;
  /** A bare node:http server in this process answering a constant: Node's HTTP floor on this machine. */
  readonly bareUrl: string;
  readonly kv: KV;
  /** Input lines published while the fixture ran (the job's load). */
  readonly produced: () => number;
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
  let bare: Server | undefined;
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
    if (bare !== undefined) await new Promise((resolve) => bare!.close(resolve));
    await kv?.destroy().catch(() => {});
    await opened[Symbol.asyncDispose]();
  };
  try {
    http = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
    const bareServer = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
    bare = bareServer;
    await new Promise<void>((resolve) => bareServer.listen(0, '127.0.0.1', resolve));
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
    kv = await kvm.create(BUCKET, { history: 1 });
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
    return {
      url,
      natsUrl: opened.server.url,
      floorUrl: `${http.url}/healthz`,
      bareUrl: `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/`,
      kv: bucket,
      produced: () => produced,
      [Symbol.asyncDispose]: close,
    };
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
      const client: ClientOptions = {
        url: fixture.url,
        floorUrl: fixture.floorUrl,
        bareUrl: fixture.bareUrl,
        natsUrl: fixture.natsUrl,
        bucket: BUCKET,
        operation,
        clients: CLIENTS,
        keys: KEYS,
        n,
        repetitions,
      };
      const { measured, bareFloor, nodeHttp } = await runChildJson<ClientResult>(
        'bench/metrics/state-api-client.ts',
        [JSON.stringify(client)],
        ctx.signal,
      );
      const httpFloor = measured.reference;
      const inputPerSec = ((fixture.produced() - producedBefore) * 1000) / (Date.now() - started);
      return {
        value: measured.ours,
        unit: 'ops/s',
        baseline: measured.baseline,
        baselineUnit: 'ops/s',
        ratio: measured.ratio,
        note:
          `${what}; wordcount in NATS mode in this process (2 partitions) taking ~${Math.round(inputPerSec)} input lines/s meanwhile; ` +
          `${CLIENTS} concurrent clients (undici Pool of ${CLIENTS} keep-alive connections; NATS connection for the baseline) in a process of their own, ${n} operations per repetition over ${KEYS} keys, ${repetitions} interleaved repetitions (median); ` +
          `paired ratio ${measured.pairedRatio.toFixed(2)}; the HTTP round trip alone (GET /healthz, same clients, right after each repetition of ours) ${Math.round(httpFloor)}/s, ` +
          `so the state API runs at ${(measured.ours / httpFloor).toFixed(2)}x of bare HTTP (paired ${measured.pairedToReference.toFixed(2)}) and HTTP alone at ${(httpFloor / measured.baseline).toFixed(2)}x of the KV baseline; ` +
          `a bare node:http server answering a constant (same clients) ${Math.round(bareFloor)}/s, ${(bareFloor / measured.baseline).toFixed(2)}x of the KV baseline; ` +
          `the same operation over a keep-alive node:http agent (@dapr/dapr's transport; after the rest, not interleaved) ${Math.round(nodeHttp)}/s, ${(nodeHttp / measured.baseline).toFixed(2)}x of the KV baseline${ctx.quick ? '; QUICK sizes' : ''}`,
        details: {
          pairedRatio: measured.pairedRatio,
          oursSamples: measured.oursSamples,
          baselineSamples: measured.baselineSamples,
          inputLinesPerSec: inputPerSec,
          httpFloorPerSec: httpFloor,
          httpFloorSamples: measured.referenceSamples,
          bareNodeHttpPerSec: bareFloor,
          nodeHttpClientPerSec: nodeHttp,
          ratioToHttpFloor: measured.ours / httpFloor,
          pairedRatioToHttpFloor: measured.pairedToReference,
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
