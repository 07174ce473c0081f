// Publishes outputs into JetStream with deterministic message ids and a window of acknowledgements
// in flight. The ids make a replay after a crash harmless (JetStream drops a repeated Nats-Msg-Id
// inside the stream's duplicate window); the window keeps throughput at the server's pace instead of
// one round trip per message; `flush()` is what a checkpoint waits for before it commits.
import type { PubAck } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { NatsLink } from './connection.ts';
import { PublishError } from './errors.ts';
import { isTransientNatsError } from './retry.ts';
import type { Subscription } from 'rxjs';

/** One message to publish. */
export interface OutputMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /**
   * Deterministic id (see outputMsgId): the same output gets the same id on every replay. The empty
   * string publishes without an id (not deduplicated).
   */
  readonly msgId: string;
  readonly headers?: MsgHdrs | undefined;
}

export interface StreamSinkOptions {
  /**
   * Publishes awaiting their acknowledgement at most (retries included).
   * @default 512
   */
  readonly window?: number;
  /**
   * Messages accepted (in flight + queued) from which `congested` is true.
   * @default 2 × window
   */
  readonly highWaterMark?: number;
  /** How long to wait for one acknowledgement before retrying it with the same id. @default 5000 */
  readonly ackTimeoutMs?: number;
  /**
   * How long one message may keep failing with retryable errors before the sink fails. The
   * connection's own outage limit usually ends an outage first (its close fails the sink).
   * @default 120000
   */
  readonly maxRetryMs?: number;
  /**
   * Receives messages too large for the server (max_payload) or refused as too large by the stream.
   * It may publish a replacement (e.g. a truncated dead letter) through this sink. Without it, an
   * oversize message fails the sink.
   */
  readonly onOversize?: (message: OutputMessage, sizeBytes: number, limitBytes: number) => void;
}

export interface StreamSinkStats {
  /** Messages accepted by publish(). */
  readonly published: number;
  /** Messages acknowledged by JetStream (stored or recognised as duplicates). */
  readonly acknowledged: number;
  /** Acknowledgements that said `duplicate`: a replayed id JetStream dropped. */
  readonly duplicates: number;
  /** Publish attempts repeated after a retryable failure (timeouts, a restarting server). */
  readonly retries: number;
  /** Messages handed to onOversize. */
  readonly oversize: number;
  readonly inFlight: number;
  readonly queued: number;
}

/** `open` → `closed` (close()) or `failed` (a terminal publish error; every later call rejects with it). */
export type StreamSinkState = 'open' | 'failed' | 'closed';

/**
 * A pipelined JetStream publisher.
 *
 * Ordering: messages are sent in publish() order and, without failures, stored in that order. Nothing
 * is sent while the connection is down; on reconnect every unacknowledged message is sent again, in
 * order, before any new one (those the server had already stored are dropped as duplicates), so an
 * outage or a server restart keeps the order too. A publish that times out while the connection
 * stays up (a server too slow to answer) is retried alone and may be stored after later ones; with
 * deterministic ids none is stored twice.
 */
export interface StreamSink {
  readonly state: StreamSinkState;
  readonly stats: StreamSinkStats;
  /**
   * Accepts a message for publishing; never waits. Producers respect `congested` to bound memory.
   * @throws the terminal error when the sink failed; a PublishError when it was closed.
   */
  publish(message: OutputMessage): void;
  /** True when accepted but unacknowledged messages reached the high-water mark. */
  readonly congested: boolean;
  /** Resolves once not congested (rejects when the sink fails). */
  whenUncongested(): Promise<void>;
  /**
   * Resolves when every message accepted before this call is acknowledged (stored or a duplicate):
   * the point where a checkpoint covering them may commit. Messages published meanwhile are not
   * waited for. Rejects with the terminal error when the sink fails.
   */
  flush(): Promise<void>;
  /** Flushes, then refuses further publishes. Idempotent; never rejects (a failed sink just stops). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Entry {
  readonly message: OutputMessage;
  /** 1-based order of acceptance. */
  readonly ordinal: number;
  attempts: number;
  firstFailureAt: number;
  /**
   * The current attempt: an entry re-sent on reconnect has an older attempt still pending (until its
   * timeout); only the current attempt's failure counts, any attempt's ack settles the entry.
   */
  generation: number;
  settled: boolean;
}

interface Waiter {
  readonly ordinal: number;
  resolve(): void;
  reject(error: unknown): void;
}

// JetStream API error code: "message size exceeds maximum allowed" (the stream's max_msg_size).
const MESSAGE_TOO_LARGE = 10054;
// Room for the Nats-Msg-Id header and the header preamble when checking a message against max_payload.
const HEADER_OVERHEAD_BYTES = 64;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Encoded size of user headers (rare: only dead letters carry them), for the max_payload check. */
function headerBytes(headers: MsgHdrs | undefined): number {
  if (headers === undefined) return 0;
  let bytes = 0;
  for (const [key, values] of headers) for (const value of values) bytes += key.length + value.length + 4;
  return bytes;
}

class Sink implements StreamSink {
  state: StreamSinkState = 'open';
  private readonly window: number;
  private readonly highWaterMark: number;
  private readonly ackTimeoutMs: number;
  private readonly maxRetryMs: number;
  private queue: Entry[] = [];
  private queueHead = 0;
  private inFlight = 0;
  private accepted = 0;
  /** Every ordinal up to this one is acknowledged. */
  private ackedUpTo = 0;
  /** Acknowledged ordinals above ackedUpTo (acknowledgements out of order, after retries). */
  private readonly ackedAbove = new Set<number>();
  private acknowledged = 0;
  private duplicates = 0;
  private retries = 0;
  private oversize = 0;
  private flushWaiters: Waiter[] = [];
  private uncongestedWaiters: Waiter[] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Sent and not yet settled, in ordinal order (sends happen in order; re-sends keep their place). */
  private readonly unacked = new Map<number, Entry>();
  private failure: unknown;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly link: NatsLink,
    private readonly options: StreamSinkOptions,
  ) {
    this.window = Math.max(1, options.window ?? 512);
    this.highWaterMark = Math.max(1, options.highWaterMark ?? 2 * this.window);
    this.ackTimeoutMs = options.ackTimeoutMs ?? 5000;
    this.maxRetryMs = options.maxRetryMs ?? 120_000;
  }

  get stats(): StreamSinkStats {
    return {
      published: this.accepted,
      acknowledged: this.acknowledged,
      duplicates: this.duplicates,
      retries: this.retries,
      oversize: this.oversize,
      inFlight: this.inFlight,
      queued: this.queue.length - this.queueHead,
    };
  }

  get congested(): boolean {
    return this.accepted - this.ackedUpTo - this.ackedAbove.size >= this.highWaterMark;
  }

  publish(message: OutputMessage): void {
    if (this.state !== 'open') {
      throw this.failure ?? new PublishError(message.subject, message.msgId, `cannot publish ${message.msgId}: the sink is closed`);
    }
    const size = message.data.length + message.msgId.length + HEADER_OVERHEAD_BYTES + headerBytes(message.headers);
    const limit = this.link.nc.info?.max_payload ?? Number.MAX_SAFE_INTEGER;
    if (size > limit) {
      this.tooLarge(message, size, limit);
      return;
    }
    const entry: Entry = { message, ordinal: ++this.accepted, attempts: 0, firstFailureAt: 0, generation: 0, settled: false };
    if (this.inFlight < this.window && this.queueHead === this.queue.length && this.link.state === 'connected') this.send(entry);
    else this.queue.push(entry);
  }

  private tooLarge(message: OutputMessage, size: number, limit: number): void {
    const handler = this.options.onOversize;
    if (handler === undefined) {
      this.fail(
        new PublishError(
          message.subject,
          message.msgId,
          `message ${message.msgId} to ${message.subject} has ${size} bytes, more than the ${limit} bytes allowed ` +
            '(server max_payload or stream max_msg_size): make outputs smaller, raise the limit, or configure dead letters',
        ),
      );
      return;
    }
    this.oversize++;
    handler(message, size, limit);
  }

  /** Sends an entry: its first attempt (it takes a slot of the window until settled) or a retry. */
  private send(entry: Entry): void {
    if (entry.generation === 0) {
      this.inFlight++;
      this.unacked.set(entry.ordinal, entry);
    }
    entry.attempts++;
    const generation = ++entry.generation;
    const { subject, data, msgId, headers } = entry.message;
    const options: { msgID?: string; timeout: number; headers?: MsgHdrs } = { timeout: this.ackTimeoutMs };
    if (msgId !== '') options.msgID = msgId;
    if (headers !== undefined) options.headers = headers;
    this.link.js.publish(subject, data, options).then(
      (ack) => this.onAck(entry, ack),
      (error: unknown) => this.onError(entry, generation, error),
    );
  }

  private onAck(entry: Entry, ack: PubAck): void {
    if (entry.settled) return;
    this.settle(entry, ack.duplicate);
  }

  /**
   * After a reconnect: every unacknowledged entry again, in order, ahead of anything new. The old
   * connection may have lost any of them; whichever the server stored comes back as a duplicate.
   * Without this, the lost ones would be retried only after their timeout, behind newer messages.
   */
  private resendUnacknowledged(): void {
    if (this.state === 'failed' || this.unacked.size === 0) return;
    const entries = [...this.unacked.values()];
    this.retries += entries.length;
    for (const entry of entries) this.send(entry);
  }

  /** Marks the entry done (acknowledged, or handed to onOversize) and moves the window on. */
  private settle(entry: Entry, duplicate: boolean): void {
    entry.settled = true;
    this.unacked.delete(entry.ordinal);
    this.inFlight--;
    this.acknowledged++;
    if (duplicate) this.duplicates++;
    if (entry.ordinal === this.ackedUpTo + 1) {
      this.ackedUpTo++;
      while (this.ackedAbove.delete(this.ackedUpTo + 1)) this.ackedUpTo++;
    } else {
      this.ackedAbove.add(entry.ordinal);
    }
    this.pump();
    this.settleWaiters();
  }

  private onError(entry: Entry, generation: number, error: unknown): void {
    // A superseded attempt (the entry was sent again on reconnect) or a settled entry: nothing to do.
    if (this.state === 'failed' || entry.settled || generation !== entry.generation) return;
    if (error instanceof JetStreamApiError && error.code === MESSAGE_TOO_LARGE) {
      // The stream's max_msg_size is below the server's max_payload: same treatment as oversize.
      this.tooLarge(entry.message, entry.message.data.length, -1);
      if ((this.state as StreamSinkState) !== 'failed') this.settle(entry, false);
      return;
    }
    const now = Date.now();
    if (entry.firstFailureAt === 0) entry.firstFailureAt = now;
    const { subject, msgId } = entry.message;
    if (this.link.nc.isClosed()) {
      // Name why the connection ended (e.g. the outage limit), which is known once it has closed.
      void this.link.closed().then((reason) =>
        this.fail(new PublishError(subject, msgId, `publishing ${msgId} to ${subject} failed: the NATS connection was closed`, { cause: reason ?? error })),
      );
      return;
    }
    if (!isTransientNatsError(error) || now - entry.firstFailureAt > this.maxRetryMs) {
      const why = isTransientNatsError(error) ? `it kept failing for ${Math.round((now - entry.firstFailureAt) / 1000)} s` : 'JetStream refused it';
      this.fail(new PublishError(subject, msgId, `publishing ${msgId} to ${subject} failed: ${why} (${describe(error)})`, { cause: error }));
      return;
    }
    // Retry with the same id after a backoff; the entry keeps its slot in the window meanwhile, so
    // an outage stops new publishes instead of piling up timeouts.
    this.retries++;
    const delay = Math.min(2000, 100 * 2 ** Math.min(entry.attempts - 1, 5));
    this.retryLater(entry, generation, delay);
  }

  private retryLater(entry: Entry, generation: number, delayMs: number): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      // Settled meanwhile, or already sent again by the reconnect.
      if (this.state === 'failed' || entry.settled || generation !== entry.generation) return;
      // Still disconnected: wait on (the reconnect sends it again, in order).
      if (this.link.state !== 'connected' && !this.link.nc.isClosed()) {
        this.retryLater(entry, generation, delayMs);
        return;
      }
      this.send(entry);
    }, delayMs);
    this.retryTimers.add(timer);
  }

  private pump(): void {
    // While disconnected nothing new is sent: nats.js would buffer it and send it on reconnect,
    // ahead of the retries of publishes the old connection lost, reordering the stream more.
    if (this.state === 'failed' || this.link.state !== 'connected') return;
    while (this.inFlight < this.window && this.queueHead < this.queue.length) {
      const entry = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as unknown as Entry;
      this.send(entry);
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private settleWaiters(): void {
    const acked = this.ackedUpTo;
    if (this.flushWaiters.length > 0 && this.flushWaiters[0]!.ordinal <= acked) {
      const due = this.flushWaiters.filter((w) => w.ordinal <= acked);
      this.flushWaiters = this.flushWaiters.filter((w) => w.ordinal > acked);
      for (const waiter of due) waiter.resolve();
    }
    if (this.uncongestedWaiters.length > 0 && !this.congested) {
      const due = this.uncongestedWaiters;
      this.uncongestedWaiters = [];
      for (const waiter of due) waiter.resolve();
    }
  }

  private fail(error: unknown): void {
    if (this.state === 'failed') return;
    this.state = 'failed';
    this.failure = error;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.stateSubscription?.unsubscribe();
    const waiters = [...this.flushWaiters, ...this.uncongestedWaiters];
    this.flushWaiters = [];
    this.uncongestedWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  whenUncongested(): Promise<void> {
    if (this.state === 'failed') return Promise.reject(this.failure);
    if (!this.congested) return Promise.resolve();
    return new Promise((resolve, reject) => this.uncongestedWaiters.push({ ordinal: 0, resolve, reject }));
  }

  flush(): Promise<void> {
    if (this.state === 'failed') return Promise.reject(this.failure);
    const ordinal = this.accepted;
    if (this.ackedUpTo >= ordinal) return Promise.resolve();
    return new Promise((resolve, reject) => this.flushWaiters.push({ ordinal, resolve, reject }));
  }

  private stateSubscription: Subscription | undefined;

  /** Resumes sending on reconnect; fails what is unacknowledged when the connection closes for good. */
  watchConnection(): void {
    let wasConnected = true;
    this.stateSubscription = this.link.state$.subscribe((state) => {
      if (state === 'connected') {
        if (!wasConnected) this.resendUnacknowledged();
        this.pump();
      }
      wasConnected = state === 'connected';
    });
    void this.link.closed().then((error) => {
      if (this.state !== 'failed' && this.accepted > this.ackedUpTo + this.ackedAbove.size) {
        const text = `${this.accepted - this.ackedUpTo - this.ackedAbove.size} publishes were unacknowledged when the NATS connection closed`;
        this.fail(new PublishError('', '', text, { cause: error }));
      }
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.state === 'open') {
        await this.flush().catch(() => undefined);
        if (this.state === 'open') this.state = 'closed';
      }
      for (const timer of this.retryTimers) clearTimeout(timer);
      this.retryTimers.clear();
      this.stateSubscription?.unsubscribe();
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A pipelined publisher on the link's JetStream client. */
export function createStreamSink(link: NatsLink, options: StreamSinkOptions = {}): StreamSink {
  const sink = new Sink(link, options);
  sink.watchConnection();
  return sink;
}
