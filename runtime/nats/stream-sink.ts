// Publishes outputs into JetStream as plain core-NATS messages with a deterministic Nats-Msg-Id
// header. A message that asks for an acknowledgement carries a reply subject on one inbox
// subscription shared by the sink: the stream's PubAck arrives there asynchronously, with no request,
// promise or timer per message. Messages of a deterministic sequence (`previousMsgId`) are chained
// with Nats-Expected-Last-Msg-Id and only every few hundredth asks for a PubAck: the server then
// stores none of them out of turn, so one acknowledgement confirms every message before it
// (docs/jetstream.md, "Outputs", has the argument). The ids make every re-send harmless: JetStream
// drops a repeated id inside the stream's duplicate window. `flush()` is what a checkpoint waits for.
import type { MsgHdrs, MsgHdrsImpl, PublishOptions } from '@nats-io/transport-node';
import type { Subscription } from 'rxjs';
import type { NatsLink } from './connection.ts';
import { PublishError } from './errors.ts';
import { PubAckInbox, type PubAckAnswer, type PubAckErrorFields } from './pub-ack-inbox.ts';
import { isTransientJetStreamStatus, isTransientNatsError } from './retry.ts';
import { Utf8Slab } from './utf8-slab.ts';
import { natsCore } from '../deferred-packages.ts';

/** One message to publish. */
export interface OutputMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /**
   * Deterministic id (see outputMsgId): the same output gets the same id on every replay. The empty
   * string publishes without an id (not deduplicated).
   */
  readonly msgId: string;
  /**
   * The id of the message this one follows in a sequence that every run of the job repeats
   * identically (output n - 1 for output n), when the sink is the only writer of the stream's
   * messages with such ids. Given, the message is sent with `Nats-Expected-Last-Msg-Id: <previousMsgId>`
   * and without asking for its own acknowledgement: a later acknowledged message of the chain
   * confirms it. Undefined: the message asks for its own acknowledgement (and is not chained).
   */
  readonly previousMsgId?: string | undefined;
  /**
   * A chained message that only its own acknowledgement confirms, never a later one of the chain:
   * one whose id a replay may not repeat in the same place (a watermark marker, which depends on
   * timing). A later message's PubAck proves a copy of its predecessor's id is stored, and through
   * that copy's own chain only what every run sends alike (docs/scale-out.md, "The exchange's chain").
   */
  readonly confirmAlone?: boolean;
  /**
   * `msgId` and `previousMsgId` are known to hold no CR or LF (a prefix checked once with
   * isSafeHeaderValue, then an ordinal), so publishing does not check them again. Unset, each
   * message's ids are checked; one that holds either is refused (the sink fails), never sent.
   */
  readonly idsChecked?: boolean;
  readonly headers?: MsgHdrs | undefined;
}

export interface StreamSinkOptions {
  /**
   * Publishes awaiting their acknowledgement at most (re-sends included).
   * @default 4096
   */
  readonly window?: number;
  /**
   * Messages accepted (in flight + queued) from which `congested` is true.
   * @default 2 × window
   */
  readonly highWaterMark?: number;
  /**
   * How long to wait for an acknowledgement before sending the message again with the same id
   * (with every other one unacknowledged as long, in order). @default 5000
   */
  readonly ackTimeoutMs?: number;
  /**
   * How long one message may keep failing with retryable errors before the sink fails. The
   * connection's own outage limit usually ends an outage first (its close fails the sink).
   * @default 120000
   */
  readonly maxRetryMs?: number;
  /**
   * Chained messages (`previousMsgId`) sent in a row without asking for an acknowledgement, at most;
   * the last message of a burst always asks. @default 256
   */
  readonly confirmEvery?: number;
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
  /**
   * Messages acknowledged by JetStream (stored or recognised as duplicates), or confirmed by a later
   * one of their chain.
   */
  readonly acknowledged: number;
  /**
   * Acknowledgements that said `duplicate`: a replayed id JetStream dropped (among the messages that
   * asked for an acknowledgement; a chained message confirmed by a later one is not counted).
   */
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
 * A pipelined JetStream publisher: plain publishes with a `Nats-Msg-Id` header, each acknowledged
 * asynchronously by the stream (docs/jetstream.md, "Outputs", has the exactly-once argument).
 *
 * Ordering: messages are sent in publish() order and, without failures, stored in that order. Nothing
 * is sent while the connection is down; on reconnect every unacknowledged message is sent again, in
 * order, before any new one (those the server had already stored are dropped as duplicates), so an
 * outage or a server restart keeps the order too. Chained messages are stored in order in every case.
 * Other messages whose acknowledgement times out while the connection stays up (a server too slow
 * to answer), or that the server answered with a retryable error, are sent again in order among
 * themselves, and may be stored after later ones that had succeeded; with deterministic ids none is
 * stored twice.
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
  /** 1-based order of acceptance; its reply subject is `<inbox><ordinal>.<attempt>`. */
  readonly ordinal: number;
  /** Sent with Nats-Expected-Last-Msg-Id (message.previousMsgId): a later acknowledged entry confirms it. */
  readonly chained: boolean;
  /** Chained, but confirmed by its own PubAck only (message.confirmAlone). */
  readonly alone: boolean;
  /** When the current attempt was sent; 0 while it waits for a retry after a retryable error. */
  sentAt: number;
  attempts: number;
  /** When the entry first failed (an error or a timeout); 0 while it has not. */
  firstFailureAt: number;
}

/** `confirm` asks for a PubAck, `silent` not (chained only), `anchor` asks and drops the chain's expectation. */
type SendMode = 'confirm' | 'silent' | 'anchor';

interface Waiter {
  readonly ordinal: number;
  resolve(): void;
  reject(error: unknown): void;
}

// JetStream API error code: "message size exceeds maximum allowed" (the stream's max_msg_size).
const MESSAGE_TOO_LARGE = 10054;
// JetStream API error code: "wrong last msg ID" (Nats-Expected-Last-Msg-Id did not match).
const WRONG_LAST_MSG_ID = 10070;
// Room for the Nats-Msg-Id header and the header preamble when checking a message against max_payload.
const HEADER_OVERHEAD_BYTES = 64;
const MSG_ID_HEADER = 'Nats-Msg-Id';
const EXPECTED_LAST_MSG_ID_HEADER = 'Nats-Expected-Last-Msg-Id';

/**
 * Headers handed to nats.js already encoded: its publish() only asks them for encode(). Spares the
 * generic headers object (a Map, a validation and a string per header) on every message.
 */
export type EncodedHeaders = MsgHdrsImpl & { bytes: Uint8Array };

/** The class of EncodedHeaders, defined at the first sink (it extends the client's, loaded then). */
let encodedHeadersClass: (new () => EncodedHeaders) | undefined;

export function encodedHeaders(): EncodedHeaders {
  encodedHeadersClass ??= class extends natsCore().MsgHdrsImpl {
    bytes: Uint8Array = new Uint8Array(0);

    override encode(): Uint8Array {
      return this.bytes;
    }
  };
  return new encodedHeadersClass();
}

const unsafeHeaderValue = /[\r\n]/;

/** Whether a string may be a header value (no CR, no LF): what OutputMessage.idsChecked vouches for. */
export function isSafeHeaderValue(value: string): boolean {
  return !unsafeHeaderValue.test(value);
}

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

/**
 * The headers of a message: its id, the id it must follow when chained, and its own headers (copied,
 * not changed). `wire` is reused for the common case, a message with an id and no headers of its own.
 * Ids that may not be header values take the generic headers, which refuse them (throw).
 */
function headersOf(
  message: OutputMessage,
  chained: boolean,
  wire: EncodedHeaders,
  slab: Utf8Slab,
): MsgHdrs | undefined {
  if (message.msgId === '' && message.headers === undefined) return undefined;
  if (
    message.headers === undefined &&
    (message.idsChecked === true ||
      (isSafeHeaderValue(message.msgId) && (!chained || isSafeHeaderValue(message.previousMsgId!))))
  ) {
    wire.bytes = slab.encode(
      chained
        ? `NATS/1.0\r\n${MSG_ID_HEADER}: ${message.msgId}\r\n${EXPECTED_LAST_MSG_ID_HEADER}: ${message.previousMsgId!}\r\n\r\n`
        : `NATS/1.0\r\n${MSG_ID_HEADER}: ${message.msgId}\r\n\r\n`,
    );
    return wire;
  }
  const headers = natsCore().headers();
  if (message.headers !== undefined)
    for (const [key, values] of message.headers) for (const value of values) headers.append(key, value);
  if (message.msgId !== '') headers.set(MSG_ID_HEADER, message.msgId);
  if (chained) headers.set(EXPECTED_LAST_MSG_ID_HEADER, message.previousMsgId!);
  return headers;
}

class Sink implements StreamSink {
  state: StreamSinkState = 'open';
  private readonly window: number;
  private readonly highWaterMark: number;
  private readonly ackTimeoutMs: number;
  private readonly maxRetryMs: number;
  private readonly confirmEvery: number;
  /** Where the acknowledgements come, and the overdue check (armed while entries are unacknowledged). */
  private readonly acks: PubAckInbox;
  private readonly checkEveryMs: number;
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
  /** Sent and not yet acknowledged, in ordinal order (sends happen in order; re-sends keep their place). */
  private readonly unacked = new Map<number, Entry>();
  /** The pending re-send of entries that got a retryable error. */
  private retryTimer: NodeJS.Timeout | undefined;
  /** Sends what publish() queued once the current burst of publishes is over. */
  private drainTimer: NodeJS.Immediate | undefined;
  /** Chained entries sent without asking for an acknowledgement since the last one that asked. */
  private sinceConfirm = 0;
  private readonly wire = encodedHeaders();
  /** The options of most publishes: no reply, the reused headers (nats.js reads them at once). */
  private readonly wireOnly: PublishOptions = { headers: this.wire };
  /** The header bytes of the messages in flight (nats.js copies them at its next socket write). */
  private readonly headerSlab = new Utf8Slab();
  private stateSubscription: Subscription | undefined;
  private released = false;
  private failure: unknown;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly link: NatsLink,
    private readonly options: StreamSinkOptions,
  ) {
    this.window = Math.max(1, options.window ?? 4096);
    this.highWaterMark = Math.max(1, options.highWaterMark ?? 2 * this.window);
    this.ackTimeoutMs = Math.max(1, options.ackTimeoutMs ?? 5000);
    this.maxRetryMs = options.maxRetryMs ?? 120_000;
    this.confirmEvery = Math.max(1, Math.min(options.confirmEvery ?? 256, this.window));
    this.checkEveryMs = Math.max(10, Math.min(1000, Math.floor(this.ackTimeoutMs / 4)));
    this.acks = new PubAckInbox(link.nc, {
      onAnswer: (ordinal, attempt, answer) => this.onAnswer(ordinal, attempt, answer),
      onOverdueCheck: () => this.resendOverdue(),
      onSubscriptionError: (error) => this.fail(error),
    });
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
      throw (
        this.failure ??
        new PublishError(message.subject, message.msgId, `cannot publish ${message.msgId}: the sink is closed`)
      );
    }
    const size = message.data.length + message.msgId.length + HEADER_OVERHEAD_BYTES + headerBytes(message.headers);
    const limit = this.link.nc.info?.max_payload ?? Number.MAX_SAFE_INTEGER;
    if (size > limit) {
      this.tooLarge(message, size, limit);
      return;
    }
    const chained = message.previousMsgId !== undefined && message.msgId !== '';
    this.queue.push({
      message,
      ordinal: ++this.accepted,
      chained,
      alone: chained && message.confirmAlone === true,
      sentAt: 0,
      attempts: 0,
      firstFailureAt: 0,
    });
    // Sent at the end of the burst, so that the burst's last message is the one asking for a PubAck.
    this.drainTimer ??= setImmediate(() => {
      this.drainTimer = undefined;
      this.pump();
    });
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

  /**
   * How an attempt of a chained entry asks: every `confirmEvery`-th and the last of a run ask for a
   * PubAck (`confirm`), the others not (`silent`). An unchained entry, or one confirmed alone, always asks.
   */
  private modeOf(entry: Entry, last: boolean): SendMode {
    if (!entry.chained || entry.alone) return 'confirm';
    if (last || ++this.sinceConfirm >= this.confirmEvery) {
      this.sinceConfirm = 0;
      return 'confirm';
    }
    return 'silent';
  }

  /**
   * Sends an attempt. `anchor` sends a chained entry without Nats-Expected-Last-Msg-Id (asking for its
   * PubAck), to start the chain again: only for the first unacknowledged entry, every entry before it
   * being acknowledged (the argument in docs/jetstream.md rests on this).
   */
  private send(entry: Entry, now: number, mode: SendMode): void {
    entry.attempts++;
    entry.sentAt = now;
    const { subject, data } = entry.message;
    const reply = mode === 'silent' ? undefined : this.acks.replySubject(entry.ordinal, entry.attempts);
    this.acks.watch(this.checkEveryMs);
    try {
      // nats.js encodes the headers at once: one object serves every publish. An id that may not be
      // a header value throws here (a terminal failure of the sink).
      const headers = headersOf(entry.message, entry.chained && mode !== 'anchor', this.wire, this.headerSlab);
      this.link.nc.publish(
        subject,
        data,
        reply === undefined
          ? headers === this.wire
            ? this.wireOnly
            : headers === undefined
              ? undefined
              : { headers }
          : headers === undefined
            ? { reply }
            : { reply, headers },
      );
    } catch (error) {
      // A closed connection (or one closing): the connection watch fails the sink with the reason.
      // Anything else not retryable (a header nats.js refuses) fails the sink.
      this.onError(entry, error, describe(error));
    }
  }

  private onAnswer(ordinal: number, attempt: number, answer: PubAckAnswer): void {
    if (this.state === 'failed') return;
    const entry = this.unacked.get(ordinal);
    // An answer to an earlier attempt of an entry already acknowledged: nothing to do.
    if (entry === undefined) return;
    if (answer.kind === 'stored') {
      this.confirm(entry, answer.duplicate);
      return;
    }
    // An error answers one attempt: it says nothing of a later one under way.
    if (attempt !== entry.attempts) return;
    if (answer.kind === 'no-responders') {
      // No stream listens on the subject, or (after a server restart) not yet.
      this.onError(entry, undefined, 'no stream captures the subject (no responders)');
      return;
    }
    const error: PubAckErrorFields =
      answer.kind === 'error'
        ? answer.error
        : { description: `unreadable acknowledgement: ${answer.text.slice(0, 200)}` };
    if (error.err_code === MESSAGE_TOO_LARGE) {
      // The stream's max_msg_size is below the server's max_payload: same treatment as oversize.
      this.tooLarge(entry.message, entry.message.data.length, -1);
      if ((this.state as StreamSinkState) !== 'failed') {
        this.settle(entry, false);
        this.afterSettle();
      }
      return;
    }
    if (entry.chained && (error.err_code === WRONG_LAST_MSG_ID || error.description?.startsWith('wrong last msg ID'))) {
      // The chain broke at or before this entry (a message lost or refused, another writer, a
      // restarted server): everything unacknowledged again, from a new anchor.
      this.resendAll();
      return;
    }
    const text = `${error.description ?? 'error'} (code ${error.code ?? '?'}, err_code ${error.err_code ?? '?'})`;
    if (isTransientJetStreamStatus(error.code ?? 0, error.err_code ?? 0)) this.onError(entry, undefined, text);
    else this.terminal(entry, `JetStream refused it: ${text}`, undefined);
  }

  /** A retryable failure of the entry's current attempt: sent again after a backoff, until maxRetryMs. */
  private onError(entry: Entry, cause: unknown, text: string): void {
    if (this.state === 'failed') return;
    const { subject, msgId } = entry.message;
    if (this.link.nc.isClosed()) {
      // Name why the connection ended (e.g. the outage limit), which is known once it has closed.
      void this.link
        .closed()
        .then((reason) =>
          this.fail(
            new PublishError(
              subject,
              msgId,
              `publishing ${msgId} to ${subject} failed: the NATS connection was closed`,
              { cause: reason ?? cause },
            ),
          ),
        );
      return;
    }
    if (cause !== undefined && !isTransientNatsError(cause)) {
      this.terminal(entry, text, cause);
      return;
    }
    const now = Date.now();
    if (entry.firstFailureAt === 0) entry.firstFailureAt = now;
    if (now - entry.firstFailureAt > this.maxRetryMs) {
      this.terminal(entry, `it kept failing for ${Math.round((now - entry.firstFailureAt) / 1000)} s (${text})`, cause);
      return;
    }
    // It keeps its slot in the window meanwhile, so an outage stops new publishes instead of piling up.
    entry.sentAt = 0;
    if (this.retryTimer === undefined) {
      const delayMs = Math.min(2000, 100 * 2 ** Math.min(entry.attempts - 1, 5));
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.resendFailed();
      }, delayMs);
    }
  }

  private terminal(entry: Entry, why: string, cause: unknown): void {
    const { subject, msgId } = entry.message;
    this.fail(
      new PublishError(
        subject,
        msgId,
        `publishing ${msgId} to ${subject} failed: ${why}`,
        cause === undefined ? undefined : { cause },
      ),
    );
  }

  /** Sends again, in order, the entries waiting after a retryable error (the reconnect does it when down). */
  private resendFailed(): void {
    if (this.state === 'failed' || this.link.state !== 'connected') return;
    const now = Date.now();
    for (const entry of this.unacked.values()) {
      if (entry.sentAt !== 0) continue;
      // A chained entry that failed may have taken unconfirmed ones before it along.
      if (entry.chained) {
        this.resendAll();
        return;
      }
      this.retries++;
      this.send(entry, now, 'confirm');
    }
  }

  /**
   * Sends again, in order, every entry whose acknowledgement is overdue: the message or its
   * acknowledgement was lost (a server restarting, a slow consumer cut off) while the connection
   * stayed up, or the server is slow; an overdue entry counts as failing, up to maxRetryMs. Overdue
   * chained entries send every unacknowledged entry again. Returns in how many ms to look again.
   */
  private resendOverdue(): number | undefined {
    if (this.state === 'failed' || this.unacked.size === 0) return undefined;
    if (this.link.state !== 'connected') return this.checkEveryMs;
    const now = Date.now();
    const deadline = now - this.ackTimeoutMs;
    for (const entry of this.unacked.values()) {
      if (entry.sentAt === 0 || entry.sentAt > deadline) continue;
      if (entry.firstFailureAt === 0) entry.firstFailureAt = entry.sentAt;
      if (now - entry.firstFailureAt > this.maxRetryMs) {
        this.terminal(entry, `no acknowledgement for ${Math.round((now - entry.firstFailureAt) / 1000)} s`, undefined);
        return undefined;
      }
      if (entry.chained) {
        this.resendAll();
        return this.checkEveryMs;
      }
      this.retries++;
      this.send(entry, now, 'confirm');
    }
    return this.checkEveryMs;
  }

  /**
   * Every unacknowledged entry again, in order, the first one as the chain's new anchor (every entry
   * before it is acknowledged). Also after a reconnect: the old connection may have lost any of them;
   * whichever the server stored comes back as a duplicate.
   */
  private resendAll(): void {
    if (this.state === 'failed' || this.unacked.size === 0) return;
    const now = Date.now();
    let remaining = this.unacked.size;
    let first = true;
    this.sinceConfirm = 0;
    for (const entry of this.unacked.values()) {
      this.retries++;
      remaining--;
      this.send(entry, now, first ? 'anchor' : this.modeOf(entry, remaining === 0));
      first = false;
    }
  }

  /**
   * A successful PubAck (stored, or a duplicate: a copy is stored). For a chained entry it confirms
   * every chained entry before it too (but those confirmed alone): a chained message is stored only
   * right after the one it names.
   */
  private confirm(entry: Entry, duplicate: boolean): void {
    if (entry.chained) {
      for (const earlier of this.unacked.values()) {
        if (earlier.ordinal > entry.ordinal) break;
        if (earlier === entry || (earlier.chained && !earlier.alone))
          this.settle(earlier, earlier === entry && duplicate);
      }
    } else {
      this.settle(entry, duplicate);
    }
    this.afterSettle();
  }

  /** Marks the entry done (acknowledged, or handed to onOversize); afterSettle() moves the window on. */
  private settle(entry: Entry, duplicate: boolean): void {
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
  }

  private afterSettle(): void {
    this.pump();
    this.settleWaiters();
  }

  private pump(): void {
    // While disconnected nothing new is sent: nats.js would buffer it and send it on reconnect,
    // ahead of the re-sends of publishes the old connection lost, reordering the stream more.
    if (this.state === 'failed' || this.link.state !== 'connected') return;
    const now = Date.now();
    while (this.inFlight < this.window && this.queueHead < this.queue.length) {
      const entry = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as unknown as Entry;
      // The entry takes a slot of the window until it is acknowledged. With nothing unacknowledged
      // it may start the chain anew: cheaper than a failed expectation after another writer.
      const anchor = this.unacked.size === 0;
      this.inFlight++;
      this.unacked.set(entry.ordinal, entry);
      const last = this.inFlight >= this.window || this.queueHead === this.queue.length;
      this.send(entry, now, anchor ? 'anchor' : this.modeOf(entry, last));
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
    this.release();
    const waiters = [...this.flushWaiters, ...this.uncongestedWaiters];
    this.flushWaiters = [];
    this.uncongestedWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  /** Stops the timers, the connection watch and the acknowledgements' inbox. */
  private release(): void {
    if (this.released) return;
    this.released = true;
    this.acks.close();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.drainTimer !== undefined) clearImmediate(this.drainTimer);
    this.drainTimer = undefined;
    this.stateSubscription?.unsubscribe();
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

  /** Resumes sending on reconnect; fails what is unacknowledged when the connection closes for good. */
  watchConnection(): void {
    let wasConnected = true;
    this.stateSubscription = this.link.state$.subscribe((state) => {
      if (state === 'connected') {
        if (!wasConnected) this.resendAll();
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
      this.release();
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A pipelined publisher on the link's connection. */
export function createStreamSink(link: NatsLink, options: StreamSinkOptions = {}): StreamSink {
  const sink = new Sink(link, options);
  sink.watchConnection();
  return sink;
}
