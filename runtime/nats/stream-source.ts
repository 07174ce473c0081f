// Reads one subject of a stream from a given sequence with an ordered consumer: no durable consumer
// state on the server and no per-message acks, because stator's checkpoint is the acknowledgement
// (it records the last sequence processed and the next run starts after it).
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { NatsLink } from './connection.ts';
import { LifecycleStateError } from './errors.ts';
import { natsJetStream } from '../deferred-packages.ts';

/** One message read from a stream. */
export interface SourceRecord {
  /** The stream sequence: the position a checkpoint records (resume at seq + 1). */
  readonly seq: number;
  readonly subject: string;
  /** The payload (a view owned by this record; copy it to keep it beyond the record's life). */
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  /** When the stream stored the message (epoch millis): the ingestion time, identical on replays. */
  readonly timestampMs: number;
}

export interface StreamSourceOptions {
  readonly stream: string;
  /** The one subject to read (wildcards allowed; one filter works on every server version). */
  readonly filterSubject: string;
  /** The first sequence to deliver: the checkpointed sequence + 1, or 1 for a fresh start. */
  readonly startSeq: number;
  /** Most records per batch. @default 256 */
  readonly maxBatch?: number;
  /**
   * Records read but not yet taken by `nextBatch` before reading pauses (backpressure). Pausing
   * stops the pull requests, so the server stops sending too: memory stays below this plus one pull.
   * @default 2048
   */
  readonly maxBuffered?: number;
  /** Messages asked of the server per pull request. @default 512 */
  readonly pullSize?: number;
}

/**
 * `reading` → `closed` (by close()) or `failed` (the consumer or the connection ended with an error).
 */
export type StreamSourceState = 'reading' | 'closed' | 'failed';

/**
 * An ordered, gap-free reader of one subject of one stream. The ordered consumer behind it is
 * recreated by nats.js after a reconnect or a server restart, from the last sequence delivered, so
 * an outage neither loses nor repeats messages.
 */
export interface StreamSource extends AsyncIterable<readonly SourceRecord[]> {
  readonly stream: string;
  readonly filterSubject: string;
  readonly state: StreamSourceState;
  /** Sequence of the last record handed out by `nextBatch` (startSeq - 1 before the first). */
  readonly lastSeq: number;
  /**
   * Messages on the subject after the last record handed out by `nextBatch`: those read ahead and
   * buffered, plus those the server reported pending after the last one it delivered. 0 means caught
   * up with the stream (for logs, metrics and "caught up" decisions).
   */
  readonly lag: number;
  /**
   * The next records in stream order (1..maxBatch of them), waiting while there are none.
   * Resolves undefined once closed.
   * @throws the consumer's or connection's error when reading failed (e.g. NatsOutageError).
   */
  nextBatch(): Promise<readonly SourceRecord[] | undefined>;
  /** Stops reading and deletes the server-side consumer. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

class Source implements StreamSource {
  state: StreamSourceState = 'reading';
  lastSeq: number;
  /** The server's pending count after the last message delivered into the buffer. */
  private pendingAfterBuffer = 0;
  private buffer: SourceRecord[] = [];
  private wakeReader: (() => void) | undefined;
  private wakeScheduled = false;
  private readonly wakeSoon = (): void => {
    this.wakeScheduled = false;
    this.wake();
  };
  private wakePump: (() => void) | undefined;
  private failure: unknown;
  private closing: Promise<void> | undefined;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  private readonly pumping: Promise<void>;

  constructor(
    private readonly link: NatsLink,
    private readonly options: StreamSourceOptions,
    private readonly messages: ConsumerMessages,
  ) {
    this.lastSeq = options.startSeq - 1;
    this.maxBatch = options.maxBatch ?? 256;
    this.maxBuffered = Math.max(options.maxBuffered ?? 2048, this.maxBatch);
    this.pumping = this.pump();
  }

  get stream(): string {
    return this.options.stream;
  }

  get lag(): number {
    return this.buffer.length + this.pendingAfterBuffer;
  }

  get filterSubject(): string {
    return this.options.filterSubject;
  }

  // Moves messages from the consumer into the buffer. It stops iterating while the buffer is full:
  // nats.js queues its next pull request behind the messages in its iterator, so not iterating
  // also means not asking the server for more.
  private async pump(): Promise<void> {
    try {
      for await (const m of this.messages) {
        this.buffer.push(toRecord(m));
        this.pendingAfterBuffer = m.info.pending;
        // Wake the reader on the next macrotask, not now: the rest of the socket read being
        // iterated joins the same batch, so batches grow with load instead of staying at one.
        if (this.wakeReader !== undefined && !this.wakeScheduled) {
          this.wakeScheduled = true;
          setImmediate(this.wakeSoon);
        }
        if (this.buffer.length >= this.maxBuffered) {
          await new Promise<void>((resolve) => (this.wakePump = resolve));
          if (this.state !== 'reading') break;
        }
      }
    } catch (error) {
      this.failure = error;
    }
    // The iterator ends without an error when the connection closes: find out why.
    if (this.state === 'reading') {
      const closedWith = this.link.nc.isClosed() ? await this.link.closed() : undefined;
      this.failure ??=
        closedWith ?? new LifecycleStateError(`the consumer of ${this.options.stream} stopped unexpectedly`);
      this.state = 'failed';
    }
    this.wake();
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }

  async nextBatch(): Promise<readonly SourceRecord[] | undefined> {
    while (this.buffer.length === 0) {
      if (this.state === 'closed') return undefined;
      if (this.state === 'failed') throw this.failure;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
    let batch: SourceRecord[];
    if (this.buffer.length <= this.maxBatch) {
      batch = this.buffer;
      this.buffer = [];
    } else {
      batch = this.buffer.splice(0, this.maxBatch);
    }
    this.lastSeq = batch[batch.length - 1]!.seq;
    if (this.wakePump !== undefined && this.buffer.length < this.maxBuffered) {
      const wake = this.wakePump;
      this.wakePump = undefined;
      wake();
    }
    return batch;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly SourceRecord[]> {
    for (;;) {
      const batch = await this.nextBatch();
      if (batch === undefined) return;
      yield batch;
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.state === 'reading') this.state = 'closed';
      this.buffer = [];
      this.wakePump?.();
      this.wakePump = undefined;
      // close() deletes the ordered consumer on the server; on a dead connection it cannot.
      await this.messages.close().catch(() => undefined);
      this.messages.stop();
      await this.pumping;
      this.wake();
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A record whose headers are decoded when asked for: the runtime's sources never read them. */
class JsRecord implements SourceRecord {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly timestampMs: number;

  constructor(private readonly m: JsMsg) {
    const info = m.info;
    this.seq = info.streamSequence;
    this.subject = m.subject;
    this.data = m.data;
    this.timestampMs = Math.floor(info.timestampNanos / 1_000_000);
  }

  get headers(): MsgHdrs | undefined {
    return this.m.headers;
  }
}

function toRecord(m: JsMsg): SourceRecord {
  return new JsRecord(m);
}

/**
 * Starts reading `filterSubject` of `stream` at `startSeq`.
 * @throws JetStreamApiError when the stream does not exist (ensure it first).
 */
export async function openStreamSource(link: NatsLink, options: StreamSourceOptions): Promise<StreamSource> {
  if (!Number.isSafeInteger(options.startSeq) || options.startSeq < 1) {
    throw new RangeError(`startSeq must be an integer >= 1 (the checkpointed sequence + 1), got ${options.startSeq}`);
  }
  const consumer = await link.js.consumers.get(options.stream, {
    filter_subjects: options.filterSubject,
    deliver_policy: natsJetStream().DeliverPolicy.StartSequence,
    opt_start_seq: options.startSeq,
  });
  // A short expiry keeps idle heartbeats at 2.5 s: after a server restart the lost consumer is noticed
  // (two missed heartbeats) and recreated within seconds instead of the default 30 s.
  const messages = await consumer.consume({ max_messages: options.pullSize ?? 512, expires: 5000 });
  return new Source(link, options, messages);
}
