// What the JetStream metrics share: a nats-server of their own (never the machine's on 4222), a
// stream of words, and the three ways of counting them — stator's NATS mode (keyed ValueState count,
// checkpoints to JetStream every second), a raw ordered consumer counting in a Map, and a NATS KV
// get + put per message. (Supersedes the read/KV/NATS-mode parts of bench/jetstream-raw.ts.)
import { DeliverPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { defineJob, json, lines, type Logger } from '../../runtime/index.ts';
import {
  connectNats,
  createStreamSink,
  ensureStream,
  openStreamSource,
  runNatsJob,
  type NatsLink,
} from '../../runtime/nats/index.ts';
import { StateTags, type ValueState } from '../../src/state/index.ts';
import { StatefulTask, type Message, type ProcessContext, type TaskContext } from '../../src/task/index.ts';
import { startNatsServer, type NatsServerHandle } from '../../test/support/nats-server.ts';
import { skewedWords } from '../lib/workload.ts';

const JOB = 'bench';
/** The subject NATS mode reads for job `bench` with a source named `in`. */
const SUBJECT = `${JOB}.in`;
const STREAM = 'BENCH_WORDS';
const CHECKPOINT_INTERVAL_MS = 1000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export interface WordStream extends AsyncDisposable {
  readonly server: NatsServerHandle;
  readonly link: NatsLink;
  readonly stream: string;
  readonly messages: number;
}

/** A nats-server of the bench's own and a connection to it; disposing closes both. */
export interface BenchServer extends AsyncDisposable {
  readonly server: NatsServerHandle;
  readonly link: NatsLink;
}

/** Starts a server, connects, and lets `fill` put the metric's input in; stops it all when `fill` fails. */
export async function openFilledServer(fill: (link: NatsLink) => Promise<void>): Promise<BenchServer> {
  const server = await startNatsServer();
  let link: NatsLink | undefined;
  try {
    link = await connectNats({ nats: server.url });
    await fill(link);
  } catch (error) {
    await link?.close();
    await server.stop();
    throw error;
  }
  const opened = link;
  return {
    server,
    link: opened,
    async [Symbol.asyncDispose]() {
      try {
        await opened.close();
      } finally {
        await server.stop();
      }
    },
  };
}

/** Starts a server, fills a stream with `messages` skewed words (20k-word vocabulary). */
export async function openWordStream(messages: number): Promise<WordStream> {
  const opened = await openFilledServer(async (link) => {
    const jsm = await link.jetstreamManager();
    await ensureStream(jsm, { name: STREAM, subjects: [SUBJECT] });
    const sink = createStreamSink(link, { window: 1024, highWaterMark: 2048 });
    try {
      const words = skewedWords(messages, 20_000);
      for (let i = 0; i < messages; i++) {
        if (sink.congested) await sink.whenUncongested();
        sink.publish({ subject: SUBJECT, data: encoder.encode(words[i]!), msgId: `fill-${i}` });
      }
      await sink.flush();
    } finally {
      await sink.close();
    }
    const info = await jsm.streams.info(STREAM);
    if (info.state.messages !== messages)
      throw new Error(`stream ${STREAM} holds ${info.state.messages} messages, expected ${messages}`);
  });
  return {
    server: opened.server,
    link: opened.link,
    stream: STREAM,
    messages,
    [Symbol.asyncDispose]: () => opened[Symbol.asyncDispose](),
  };
}

/** Messages per second of a raw ordered consumer counting the stream's words in a Map. */
export async function rawOrderedCount(words: WordStream): Promise<number> {
  const counts = new Map<string, number>();
  const start = now();
  const consumer = await words.link.js.consumers.get(words.stream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: 1,
  });
  const messages = await consumer.consume({ max_messages: 512 });
  let seen = 0;
  try {
    for await (const m of messages) {
      const word = decoder.decode(m.data);
      counts.set(word, (counts.get(word) ?? 0) + 1);
      if (++seen === words.messages) break;
    }
  } finally {
    await messages.close();
  }
  if (seen !== words.messages) throw new Error(`raw consumer saw ${seen} of ${words.messages} messages`);
  return (words.messages / (now() - start)) * 1000;
}

/** Messages per second of the naive alternative to checkpoints: NATS KV get + put per message. */
export async function naiveKvCount(words: WordStream, count: number): Promise<number> {
  const kvm = new Kvm(words.link.nc);
  const bucket = `bench_counts_${Date.now()}`;
  const kv = await kvm.create(bucket);
  const source = await openStreamSource(words.link, { stream: words.stream, filterSubject: '>', startSeq: 1 });
  try {
    const start = now();
    let seen = 0;
    while (seen < count) {
      const batch = await source.nextBatch();
      if (batch === undefined) throw new Error('stream source ended');
      for (const record of batch) {
        if (seen === count) break;
        const word = decoder.decode(record.data);
        const entry = await kv.get(word);
        const n = entry === null || entry.length === 0 ? 0 : Number(decoder.decode(entry.value));
        await kv.put(word, encoder.encode(String(n + 1)));
        seen++;
      }
    }
    return (count / (now() - start)) * 1000;
  } finally {
    await source.close();
    await kv.destroy();
  }
}

export interface NatsModeRun {
  /** Messages per second from the run's start to the last message's invoke. */
  readonly msgsPerSec: number;
  /**
   * From the run's start until runNatsJob resolved (stop requested at the last message: drain and final checkpoint
   * included).
   */
  readonly untilStoppedMs: number;
  /** Checkpoint log lines seen (interval 1 s, plus the final one). */
  readonly checkpoints: number;
}

/**
 * A keyed count through stator's NATS mode (runNatsJob: ordered source, 2 partitions, ValueState per
 * word, no output per message, checkpoints to JetStream every second) over the whole stream. Starts
 * from scratch: the previous run's checkpoint buckets are deleted first.
 */
export async function natsModeCount(words: WordStream, signal: AbortSignal): Promise<NatsModeRun> {
  const jsm = await words.link.jetstreamManager();
  for (const stream of [`KV_stator-${JOB}-main`, `OBJ_stator-${JOB}-main`])
    await jsm.streams.delete(stream).catch(() => false);
  const controller = new AbortController();
  let processed = 0;
  let started = 0;
  let finished = 0;
  let checkpoints = 0;
  const onMessage = (): void => {
    if (++processed === words.messages) {
      finished = now();
      controller.abort();
    }
  };
  const job = defineJob({ name: JOB })
    .source(lines({ name: 'in' }))
    .keyBy((word) => word, StringUtf8Coder.of())
    .process(() => new SilentCount(onMessage), { name: 'count', parallelism: 2 })
    .sink(json<never>());
  const problems: string[] = [];
  const logger: Logger = {
    level: 'info',
    interactive: false,
    debug: () => {},
    info: (line) => {
      if (started === 0 && (line.startsWith('no checkpoint') || line.startsWith('restored checkpoint')))
        started = now();
      if (/^checkpoint \d+ /.test(line)) checkpoints++;
    },
    warn: (line) => problems.push(line),
    error: (line) => problems.push(line),
    progress: () => {},
  };
  const abortOuter = (): void => controller.abort();
  signal.addEventListener('abort', abortOuter, { once: true });
  // A run that never reaches the last message must not hang the bench.
  const guard = setTimeout(() => controller.abort(), 120_000);
  try {
    await runNatsJob({
      job,
      natsUrl: words.server.url,
      checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
      maxRetries: undefined,
      logger,
      signal: controller.signal,
    });
  } finally {
    clearTimeout(guard);
    signal.removeEventListener('abort', abortOuter);
  }
  const stopped = now();
  signal.throwIfAborted();
  if (finished === 0)
    throw new Error(
      `NATS mode processed ${processed} of ${words.messages} messages within 120 s${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`,
    );
  if (started === 0) throw new Error('NATS mode never logged its start (no checkpoint / restored checkpoint line)');
  return { msgsPerSec: (words.messages / (finished - started)) * 1000, untilStoppedMs: stopped - started, checkpoints };
}

const COUNT = StateTags.value('count', VarLongCoder.of());

/** Counts words in keyed state and emits nothing per message: the pipeline's cost without the output's. */
class SilentCount extends StatefulTask<string, never, string> {
  private count!: ValueState<number | bigint>;
  constructor(private readonly onMessage: () => void) {
    super();
  }
  override open(_ctx: TaskContext): void {
    this.count = this.state(COUNT);
  }
  override invoke(_message: Message<string, string>, _ctx: ProcessContext<never, string>): void {
    this.count.write(Number(this.count.read() ?? 0) + 1);
    this.onMessage();
  }
}
