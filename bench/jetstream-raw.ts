// Raw JetStream numbers on this machine, the yardsticks for the NATS runtime (not a test; prints
// numbers). Against a nats-server started here on its own port, file storage:
//   - publish: stator's StreamSink (acked, windowed, with Nats-Msg-Id) at several window sizes;
//   - read: a raw ordered consumer counting words in a Map (the reference the keyed stateful
//     pipeline must reach >= 50% of) vs stator's StreamSource doing the same, interleaved;
//   - the naive alternative to checkpointing: a NATS KV get + put per message;
//   - NATS mode end to end (runNatsJob): a keyed stateful count (ValueState per word, no output per
//     message) over the same stream, checkpointed to JetStream, vs the raw consumer (goal >= 0.5).
// Run: node --import tsx bench/jetstream-raw.ts [--quick]
import { DeliverPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { StringUtf8Coder, VarLongCoder } from '../coders/index.ts';
import { defineJob, json, lines, type Logger } from '../runtime/index.ts';
import {
  connectNats,
  createStreamSink,
  ensureStream,
  openStreamSource,
  runNatsJob,
  type NatsLink,
} from '../runtime/nats/index.ts';
import { StateTags, type ValueState } from '../src/state/index.ts';
import { StatefulTask, type Message, type ProcessContext, type TaskContext } from '../src/task/index.ts';
import { startNatsServer } from '../test/support/nats-server.ts';

const quick = process.argv.includes('--quick');
const MESSAGES = quick ? 50_000 : 200_000;
const REPETITIONS = quick ? 3 : 5;
const KV_MESSAGES = quick ? 1_000 : 5_000;
const PUBLISH_MESSAGES = quick ? 20_000 : 50_000;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rate = (count: number, ms: number): number => Math.round((count / ms) * 1000);
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

// A vocabulary with a Zipf-like skew, like words in text: few very common keys, a long tail.
const vocabulary = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}`);
let seed = 42;
function nextWord(): string {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  const u = seed / 2 ** 32;
  return vocabulary[Math.floor(vocabulary.length * u * u * u)]!;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function fill(link: NatsLink, subject: string, count: number, window: number): Promise<number> {
  const sink = createStreamSink(link, { window, highWaterMark: window * 2 });
  const start = now();
  for (let i = 0; i < count; i++) {
    if (sink.congested) await sink.whenUncongested();
    sink.publish({ subject, data: encoder.encode(nextWord()), msgId: `${subject}:${i}` });
  }
  await sink.flush();
  const ms = now() - start;
  await sink.close();
  return rate(count, ms);
}

async function rawOrderedCount(link: NatsLink, stream: string, count: number): Promise<number> {
  const counts = new Map<string, number>();
  const start = now();
  const consumer = await link.js.consumers.get(stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: 1,
  });
  const messages = await consumer.consume({ max_messages: 512 });
  let seen = 0;
  for await (const m of messages) {
    const word = decoder.decode(m.data);
    counts.set(word, (counts.get(word) ?? 0) + 1);
    if (++seen === count) break;
  }
  const ms = now() - start;
  await messages.close();
  return rate(count, ms);
}

async function sourceCount(link: NatsLink, stream: string, count: number): Promise<number> {
  const counts = new Map<string, number>();
  const start = now();
  const source = await openStreamSource(link, { stream, filterSubject: '>', startSeq: 1 });
  let seen = 0;
  while (seen < count) {
    const batch = (await source.nextBatch())!;
    for (let i = 0; i < batch.length; i++) {
      const word = decoder.decode(batch[i]!.data);
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
    seen += batch.length;
  }
  const ms = now() - start;
  await source.close();
  return rate(count, ms);
}

async function kvCount(link: NatsLink, stream: string, count: number): Promise<number> {
  const kv = await new Kvm(link.nc).create('bench_counts');
  const source = await openStreamSource(link, { stream, filterSubject: '>', startSeq: 1 });
  const start = now();
  let seen = 0;
  while (seen < count) {
    for (const record of (await source.nextBatch())!) {
      if (seen === count) break;
      const word = decoder.decode(record.data);
      const entry = await kv.get(word);
      const n = entry === null || entry.length === 0 ? 0 : Number(decoder.decode(entry.value));
      await kv.put(word, encoder.encode(String(n + 1)));
      seen++;
    }
  }
  const ms = now() - start;
  await source.close();
  return rate(count, ms);
}

/** Counts words in keyed state and emits nothing per message: the pipeline's cost without the output's. */
class SilentCount extends StatefulTask<string, never, string> {
  private static readonly COUNT = StateTags.value('count', VarLongCoder.of());
  private count!: ValueState<number | bigint>;
  override open(_ctx: TaskContext): void {
    this.count = this.state(SilentCount.COUNT);
  }
  override invoke(_message: Message<string, string>, _ctx: ProcessContext<never, string>): void {
    this.count.write(Number(this.count.read() ?? 0) + 1);
  }
}

/**
 * Runs a keyed count over `bench.in` in NATS mode until a checkpoint covers all `count` messages;
 * the time from "running" to that checkpoint's log line (its write included).
 */
async function natsModeCount(link: NatsLink, url: string, count: number): Promise<number> {
  // A fresh start each run: drop the previous run's checkpoint buckets.
  const jsm = await link.jetstreamManager();
  for (const stream of ['KV_stator-bench-main', 'OBJ_stator-bench-main'])
    await jsm.streams.delete(stream).catch(() => false);
  const job = defineJob({ name: 'bench' })
    .source(lines({ name: 'in' }))
    .keyBy((word) => word, StringUtf8Coder.of())
    .process(() => new SilentCount(), { name: 'count', parallelism: 2 })
    .sink(json<never>());
  let started = 0;
  let finished = 0;
  const controller = new AbortController();
  const done = new RegExp(`checkpoint \\d+ .* at position ${count}:`);
  const logger: Logger = {
    level: 'info',
    interactive: false,
    debug: () => {},
    info: (line: string) => {
      if (started === 0 && line.startsWith('no checkpoint')) started = now();
      if (finished === 0 && done.test(line)) {
        finished = now();
        controller.abort();
      }
    },
    warn: (line: string) => console.error(`  warn: ${line}`),
    error: (line: string) => console.error(`  error: ${line}`),
    progress: () => {},
  } as unknown as Logger;
  // A run that never reaches the last position must not hang the bench.
  const guard = setTimeout(() => controller.abort(), 120_000);
  try {
    await runNatsJob({
      job,
      natsUrl: url,
      checkpointIntervalMs: 200,
      maxRetries: undefined,
      logger,
      signal: controller.signal,
    });
  } finally {
    clearTimeout(guard);
  }
  if (finished === 0) throw new Error(`NATS mode did not checkpoint position ${count} within 120 s`);
  return rate(count, finished - started);
}

await using server = await startNatsServer();
await using link = await connectNats({ nats: server.url });
const jsm = await link.jetstreamManager();
console.log(
  `nats-server ${link.features.version} at ${server.url}; ${MESSAGES} messages, ${REPETITIONS} repetitions, median`,
);

await ensureStream(jsm, { name: 'PUB', subjects: ['pub.*'], minDuplicateWindowMs: 120_000 });
for (const window of [64, 256, 1024]) {
  const rates: number[] = [];
  for (let rep = 0; rep < Math.max(1, REPETITIONS - 2); rep++)
    rates.push(await fill(link, `pub.w${window}r${rep}`, PUBLISH_MESSAGES, window));
  console.log(
    `StreamSink publish, acked, window ${String(window).padStart(4)}: ${median(rates).toLocaleString('en-US')} msg/s`,
  );
}

// The subject NATS mode reads for a job named bench with a source named in.
await ensureStream(jsm, { name: 'WORDS', subjects: ['bench.in'] });
const fillRate = await fill(link, 'bench.in', MESSAGES, 1024);
console.log(`filled WORDS with ${MESSAGES} words at ${fillRate.toLocaleString('en-US')} msg/s`);

const raw: number[] = [];
const ours: number[] = [];
const pipeline: number[] = [];
await rawOrderedCount(link, 'WORDS', MESSAGES); // warm-up
for (let rep = 0; rep < REPETITIONS; rep++) {
  raw.push(await rawOrderedCount(link, 'WORDS', MESSAGES));
  ours.push(await sourceCount(link, 'WORDS', MESSAGES));
  pipeline.push(await natsModeCount(link, server.url, MESSAGES));
}
console.log(
  `raw ordered consumer, words counted in a Map: ${median(raw).toLocaleString('en-US')} msg/s  (runs: ${raw.join(', ')})`,
);
console.log(
  `StreamSource batches, words counted in a Map: ${median(ours).toLocaleString('en-US')} msg/s  (runs: ${ours.join(', ')})`,
);
console.log(`  ratio StreamSource / raw: ${(median(ours) / median(raw)).toFixed(2)}`);
console.log(
  `NATS mode keyed stateful count (runNatsJob, 2 partitions, checkpoints to JetStream): ${median(pipeline).toLocaleString('en-US')} msg/s  (runs: ${pipeline.join(', ')})`,
);
console.log(`  ratio NATS mode / raw: ${(median(pipeline) / median(raw)).toFixed(2)}  (goal >= 0.5)`);
const kv = await kvCount(link, 'WORDS', KV_MESSAGES);
console.log(
  `naive KV get + put per message (${KV_MESSAGES} messages): ${kv.toLocaleString('en-US')} msg/s  (raw / KV: ${(median(raw) / kv).toFixed(0)}x)`,
);
