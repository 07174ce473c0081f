// Throughput of the JetStream checkpoint store against a local nats-server (started here, on its own
// port; file storage). Not a test: prints numbers. Run:
//   node --import tsx bench/jetstream-store.ts [--quick]
// Compares the Object Store chunk size (128 KiB is nats.js's default, 1 MiB ours) in the same run,
// interleaved, since absolute numbers on a shared 2-core machine are noisy.
import { randomBytes } from 'node:crypto';
import { openJetStreamCheckpointStore, type JetStreamCheckpointStore } from '../runtime/checkpoint/jetstream-store.ts';
import { startNatsServer } from '../test/support/index.ts';

const quick = process.argv.includes('--quick');
const repetitions = quick ? 3 : 7;
const smallParts = quick ? 200 : 1000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timeMs(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

await using server = await startNatsServer();
const stores = new Map<string, JetStreamCheckpointStore>();
for (const [label, chunkBytes] of [
  ['1 MiB chunks', 1024 * 1024],
  ['128 KiB chunks', 128 * 1024],
] as const) {
  stores.set(
    label,
    await openJetStreamCheckpointStore({
      job: 'bench',
      task: label.replace(/\W/g, ''),
      servers: server.url,
      chunkBytes,
    }),
  );
}

try {
  const big = randomBytes(5 * 1024 * 1024);
  const mb = big.length / 2 ** 20;
  console.log(`nats-server ${server.url}, ${repetitions} repetitions, median`);
  const bigTimes = new Map<string, { put: number[]; get: number[] }>(
    [...stores.keys()].map((k) => [k, { put: [], get: [] }]),
  );
  for (let rep = 0; rep <= repetitions; rep++) {
    for (const [label, store] of stores) {
      const name = `big-${rep}`;
      const put = await timeMs(() => store.putPart(name, big));
      const get = await timeMs(() => store.getPart(name));
      await store.deletePart(name);
      if (rep > 0) {
        // rep 0 is the warm-up
        bigTimes.get(label)!.put.push(put);
        bigTimes.get(label)!.get.push(get);
      }
    }
  }
  for (const [label, times] of bigTimes) {
    const put = median(times.put);
    const get = median(times.get);
    console.log(
      `5 MB part, ${label.padEnd(14)}: put ${put.toFixed(0)} ms (${(mb / (put / 1000)).toFixed(1)} MiB/s), ` +
        `get ${get.toFixed(0)} ms (${(mb / (get / 1000)).toFixed(1)} MiB/s), put+get ${(put + get).toFixed(0)} ms`,
    );
  }

  const store = stores.get('1 MiB chunks')!;
  const small = randomBytes(200);
  const names = Array.from({ length: smallParts }, (_, i) => `small-${i}`);
  const putSequential = await timeMs(async () => {
    for (const name of names) await store.putPart(name, small);
  });
  const getSequential = await timeMs(async () => {
    for (const name of names) await store.getPart(name);
  });
  const list = await timeMs(() => store.listParts());
  const deleteSequential = await timeMs(async () => {
    for (const name of names) await store.deletePart(name);
  });
  const concurrency = 32;
  const inWaves = async (run: (name: string) => Promise<unknown>): Promise<void> => {
    for (let i = 0; i < names.length; i += concurrency) await Promise.all(names.slice(i, i + concurrency).map(run));
  };
  const putConcurrent = await timeMs(() => inWaves((name) => store.putPart(name, small)));
  const getConcurrent = await timeMs(() => inWaves((name) => store.getPart(name)));
  const rate = (ms: number): string => `${((smallParts / ms) * 1000).toFixed(0)}/s`;
  console.log(
    `${smallParts} parts of 200 B, one at a time : put ${putSequential.toFixed(0)} ms (${rate(putSequential)}), get ${getSequential.toFixed(0)} ms (${rate(getSequential)}), delete ${deleteSequential.toFixed(0)} ms (${rate(deleteSequential)})`,
  );
  console.log(
    `${smallParts} parts of 200 B, ${concurrency} in flight : put ${putConcurrent.toFixed(0)} ms (${rate(putConcurrent)}), get ${getConcurrent.toFixed(0)} ms (${rate(getConcurrent)})`,
  );
  console.log(`listParts over ${smallParts} parts: ${list.toFixed(1)} ms`);

  let revision: number | undefined;
  const commits = quick ? 100 : 500;
  const manifest = randomBytes(2_000);
  const commitMs = await timeMs(async () => {
    for (let i = 0; i < commits; i++) revision = await store.commitManifest(manifest, revision);
  });
  console.log(
    `commitManifest (2 KB, CAS): ${((commits / commitMs) * 1000).toFixed(0)}/s, ${(commitMs / commits).toFixed(2)} ms each`,
  );
} finally {
  for (const store of stores.values()) await store.close();
}
