// The load generator of the stateapi.* metrics, in a process of its own as a real client is: CLIENTS
// concurrent loops over a keep-alive node:http agent (what @dapr/dapr's HTTP client uses, through
// node-fetch) against the job's state API, and the same loops over a NATS connection doing KV
// get/put of the same values (the baseline), interleaved; then the HTTP round trip alone
// (GET /healthz), and that of a bare node:http server answering a constant. Prints one JSON line.
//   node --import tsx bench/metrics/state-api-client.ts <json options>
import http from 'node:http';
import { Kvm } from '@nats-io/kv';
import { connectNats } from '../../runtime/nats/index.ts';
import { interleave, median } from '../lib/measure.ts';
import type { Interleaved } from '../lib/measure.ts';

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
  readonly measured: Interleaved;
  readonly httpFloor: number;
  readonly bareFloor: number;
}

const options = JSON.parse(process.argv[2]!) as ClientOptions;
const encoder = new TextEncoder();
const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000 });

/** One request; resolves with the status once the body is read. */
function request(method: string, url: string, body?: string): Promise<number> {
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

const link = await connectNats({ nats: options.natsUrl });
try {
  const kv = await new Kvm(link.nc).open(options.bucket);
  const { operation, n, keys } = options;
  const measured = await interleave(
    {
      run: () =>
        loops(n, async (i) => {
          const key = `key${i % keys}`;
          if (operation === 'write') {
            const status = await request('POST', options.url, JSON.stringify([{ key, value: { count: i } }]));
            if (status !== 204) throw new Error(`a save: HTTP ${status}`);
          } else {
            const status = await request(
              'GET',
              `${options.url}/${key}${operation === 'eventual' ? '?consistency=eventual' : ''}`,
            );
            if (status !== 200) throw new Error(`a ${operation} read of ${key}: HTTP ${status}`);
          }
        }),
    },
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
    { repetitions: options.repetitions, warmup: 1 },
  );
  const floor = async (url: string): Promise<number> => {
    const rates: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = process.hrtime.bigint();
      await loops(n, async () => {
        const status = await request('GET', url);
        if (status !== 200) throw new Error(`GET ${url}: HTTP ${status}`);
      });
      rates.push(n / (Number(process.hrtime.bigint() - t) / 1e9));
    }
    return median(rates);
  };
  const httpFloor = await floor(options.floorUrl);
  const bareFloor = await floor(options.bareUrl);
  process.stdout.write(`${JSON.stringify({ measured, httpFloor, bareFloor } satisfies ClientResult)}\n`);
} finally {
  agent.destroy();
  await link.close();
}
