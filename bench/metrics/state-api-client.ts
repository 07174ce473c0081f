// The load generator of the stateapi.* metrics, in a process of its own as a real client is: CLIENTS
// concurrent loops over an undici Pool of CLIENTS keep-alive connections (the HTTP client of the
// Node.js project, which its fetch is built on; what a Node service calling the state API for speed
// uses) against the job's state API, and the same loops over a NATS connection doing KV get/put of
// the same values (the baseline), interleaved, each repetition of ours followed at once by one of
// the HTTP round trip alone (GET /healthz, the server's cheapest route: our share of a request is
// ours against it, paired in time); then the round trip of a bare node:http server answering a
// constant, and the same operation over a keep-alive node:http agent (the transport of @dapr/dapr's
// HTTP client, through node-fetch), which costs the client about twice the CPU per request. Prints
// one JSON line.
//   node --import tsx bench/metrics/state-api-client.ts <json options>
import http from 'node:http';
import { Kvm } from '@nats-io/kv';
import { Pool } from 'undici';
import { connectNats } from '../../runtime/nats/index.ts';
import { interleaveWithReference, median } from '../lib/measure.ts';
import type { InterleavedWithReference } from '../lib/measure.ts';

export type Operation = 'strong' | 'eventual' | 'write';

export interface ClientOptions {
  /** The state store's URL, e.g. http://127.0.0.1:1234/v1.0/state/wordcount. */
  readonly url: string;
  /** GET this for the HTTP round trip through the runtime's server (its cheapest route). */
  readonly floorUrl: string;
  /** GET this for the round trip of a bare node:http server answering a constant (Node's own floor). */
  readonly bareUrl: string;
  readonly natsUrl: string;
  readonly bucket: string;
  readonly operation: Operation;
  readonly clients: number;
  readonly keys: number;
  /** Operations per repetition. */
  readonly n: number;
  readonly repetitions: number;
}

export interface ClientResult {
  /** Ours, the baseline, and as the reference the HTTP floor (GET /healthz) right after each repetition of ours. */
  readonly measured: InterleavedWithReference;
  readonly bareFloor: number;
  /** The measured operation over a keep-alive node:http agent instead (median of 3 runs, not interleaved). */
  readonly nodeHttp: number;
}

const options = JSON.parse(process.argv[2]!) as ClientOptions;
const encoder = new TextEncoder();
const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000 });
/** One pool per origin (the runtime's server, the bare one), each with a connection per loop. */
const pools = new Map<string, Pool>();

/** One request through undici; resolves with the status once the body is read (and parsed, for a 200). */
async function request(method: string, url: string, body?: string): Promise<number> {
  const { origin, pathname, search } = new URL(url);
  let pool = pools.get(origin);
  if (pool === undefined) pools.set(origin, (pool = new Pool(origin, { connections: options.clients })));
  const response = await pool.request({
    path: pathname + search,
    method: method as 'GET' | 'POST',
    ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
  });
  if (response.statusCode === 200) await response.body.json();
  else await response.body.dump();
  return response.statusCode;
}

/** The same over node:http; resolves with the status once the body is read. */
function nodeRequest(method: string, url: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers:
          body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          if (res.statusCode === 200) JSON.parse(Buffer.concat(chunks).toString('utf8'));
          resolve(res.statusCode ?? 0);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function loops(n: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  await Promise.all(
    Array.from({ length: options.clients }, async () => {
      for (let i = next++; i < n; i = next++) await op(i);
    }),
  );
  return n;
}

/** The measured operation on key `i % keys` through `send`. */
async function operate(send: typeof request, i: number): Promise<void> {
  const key = `key${i % options.keys}`;
  if (options.operation === 'write') {
    const status = await send('POST', options.url, JSON.stringify([{ key, value: { count: i } }]));
    if (status !== 204) throw new Error(`a save: HTTP ${status}`);
  } else {
    const status = await send(
      'GET',
      `${options.url}/${key}${options.operation === 'eventual' ? '?consistency=eventual' : ''}`,
    );
    if (status !== 200) throw new Error(`a ${options.operation} read of ${key}: HTTP ${status}`);
  }
}

/** Operations per second of `op`, median of 3 runs of n. */
async function rate(op: (i: number) => Promise<void>): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = process.hrtime.bigint();
    await loops(options.n, op);
    rates.push(options.n / (Number(process.hrtime.bigint() - t) / 1e9));
  }
  return median(rates);
}

const link = await connectNats({ nats: options.natsUrl });
try {
  const kv = await new Kvm(link.nc).open(options.bucket);
  const { operation, n, keys } = options;
  const floor = (url: string) => async (): Promise<void> => {
    const status = await request('GET', url);
    if (status !== 200) throw new Error(`GET ${url}: HTTP ${status}`);
  };
  const measured = await interleaveWithReference(
    { run: () => loops(n, (i) => operate(request, i)) },
    {
      run: () =>
        loops(n, async (i) => {
          const key = `key${i % keys}`;
          if (operation === 'write') {
            await kv.put(key, encoder.encode(JSON.stringify({ count: i })));
          } else {
            const entry = await kv.get(key);
            if (entry === null) throw new Error(`kv.get ${key}: missing`);
            JSON.parse(entry.string());
          }
        }),
    },
    { run: () => loops(n, floor(options.floorUrl)) },
    { repetitions: options.repetitions, warmup: 1 },
  );
  const bareFloor = await rate(floor(options.bareUrl));
  await loops(Math.min(n, 2_000), (i) => operate(nodeRequest, i)); // warm-up
  const nodeHttp = await rate((i) => operate(nodeRequest, i));
  process.stdout.write(`${JSON.stringify({ measured, bareFloor, nodeHttp } satisfies ClientResult)}\n`);
} finally {
  agent.destroy();
  await Promise.all([...pools.values()].map((pool) => pool.close()));
  await link.close();
}
