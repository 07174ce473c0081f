// NATS mode's command log: one stream per stage partition, so whoever owns a partition reads exactly
// its own writes, and each append can name the one before it. The owner first claims the stream (a
// claim record published expecting the stream's last sequence), then appends in a chain: each batch
// message expects the id of the batch before it (Nats-Expected-Last-Msg-Id), so batches go out
// without waiting for each other's acknowledgements, and once a new owner has claimed, a former
// owner's next append is refused instead of acknowledged for a partition that moved (fencing). See
// docs/state-api.md, "NATS mode".
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { PubAck } from '@nats-io/jetstream';
import type { PublishOptions } from '@nats-io/transport-node';
import type { NatsLink } from '../nats/connection.ts';
import { ensureStream } from '../nats/ensure-stream.ts';
import { encodedHeaders } from '../nats/stream-sink.ts';
import { PubAckInbox, type PubAckAnswer } from '../nats/pub-ack-inbox.ts';
import { jobStreamNames } from '../nats/stream-names.ts';
import { PublishTurn } from './publish-turn.ts';
import { isTransientNatsError, sleep } from '../nats/retry.ts';
import { StateUnavailableError } from './state-api-errors.ts';
import type { AppendDone, LoggedCommand, StateCommandLog, StateCommandRecord } from './state-command.ts';
import { natsCore, natsJetStream } from '../deferred-packages.ts';

export interface JetStreamCommandLogOptions {
  readonly link: NatsLink;
  /** This partition's stream (`STATOR_<JOB>_STATE_<STAGE>_P<N>`), created by claim() when missing. */
  readonly stream: string;
  /** Its one subject (`stator.<job>.state-log.<stage>.p<N>`). */
  readonly subject: string;
  /** The stream's duplicate window when claim() creates it (a retried write is stored once in it). @default 120000 */
  readonly duplicateWindowMs?: number;
  /** Replicas of the stream when claim() creates it. @default 1 */
  readonly replicas?: number;
  /**
   * This partition's subject in the job's former state stream (one stream for every partition,
   * `STATOR_<JOB>_STATE`): claimed too when that stream exists, so a process of an earlier version
   * that still runs the partition is fenced as well, and read by readFormerAfter.
   */
  readonly former?: { readonly stream: string; readonly subject: string };
  /** How long one publish waits for its acknowledgement before it is sent again. @default 5000 */
  readonly ackTimeoutMs?: number;
  /** Records in one batch message at most. @default 256 */
  readonly maxBatch?: number;
  /** Batch messages published and not yet acknowledged at most. @default 16 */
  readonly maxInFlight?: number;
  /** Another owner claimed the stream: this log takes no more appends (the partition moved). */
  readonly onFenced?: (error: StateUnavailableError) => void;
  /** Where it schedules its publishes; share one between the logs of a connection. @default its own */
  readonly publishTurn?: PublishTurn;
}

/** Records per pull while reading the records a checkpoint does not cover. */
const READ_BATCH = 512;
/** Room for a batch message's headers and envelope besides its records. */
const BATCH_OVERHEAD_BYTES = 1024;
/** JetStream's error code for a failed Nats-Expected-Last-Subject-Sequence or Nats-Expected-Last-Sequence. */
const WRONG_LAST_SEQUENCE = 10071;
/** JetStream's error code for a failed Nats-Expected-Last-Msg-Id. */
const WRONG_LAST_MSG_ID = 10070;
/** JetStream's error code for "stream not found". */
const STREAM_NOT_FOUND = 10059;

/** A message of the log: a claim, a batch of records, or one record (as logs before batching wrote). */
type LogMessage = { readonly claim: string } | { readonly batch: readonly StateCommandRecord[] } | StateCommandRecord;

interface QueuedAppend {
  readonly data: string;
  readonly done: AppendDone;
}

/**
 * One batch message on its way. `sent`: an attempt is out and unanswered; `retry`: the last attempt
 * failed for a transient reason and is sent again after a pause; `refused`: JetStream refused it
 * because the message before it is not the stream's last (nothing stored); `acked`: stored.
 */
interface Batch {
  readonly id: string;
  /** Its number in this owner's chain: its acknowledgements come to `<inbox><ordinal>.<attempt>`. */
  readonly ordinal: number;
  readonly payload: Uint8Array;
  readonly appends: readonly QueuedAppend[];
  state: 'sent' | 'retry' | 'refused' | 'acked';
  attempt: number;
  /** Whether the attempt out is an anchor (expects the last acknowledged sequence). */
  anchor: boolean;
  /** When the attempt out was sent (performance.now()): it times out ackTimeoutMs later. */
  sentAt: number;
  delayMs: number;
  seq: number;
}

export class JetStreamCommandLog implements StateCommandLog {
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly queue: QueuedAppend[] = [];
  /** Batches published and not all acknowledged, in log order (the acknowledged prefix is removed). */
  private readonly pending: Batch[] = [];
  /** This owner's claim: its token (batch ids derive from it) and the last message it knows stored. */
  private claimed: { readonly token: string; batches: number; last: { seq: number; id: string } } | undefined;
  /** A batch was refused: nothing new goes out until every pending batch has its answer (see recover()). */
  private broken = false;
  private flushScheduled = false;
  private fenced: StateUnavailableError | undefined;
  private readonly encoder = new TextEncoder();
  /**
   * The headers and options of every batch attempt, filled in for each (nats.js reads them during
   * publish()): the header block is encoded here, without the generic headers' Map and checks.
   */
  private readonly wire = encodedHeaders();
  private readonly publishOptions: PublishOptions = { reply: '', headers: this.wire };
  /**
   * Batches are plain publishes whose JetStream acknowledgement comes to this inbox (as the output
   * sink's do), which also checks the attempts out for a missing one. Made by claim().
   */
  private acks: PubAckInbox | undefined;
  /** close() waits for the attempts out to be answered (or to time out). */
  private whenAnswered: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private readonly publishTurn: PublishTurn;

  constructor(private readonly options: JetStreamCommandLogOptions) {
    // Each batch waiting to be sent again listens for the close.
    setMaxListeners(10 + (options.maxInFlight ?? 16), this.abort.signal);
    this.publishTurn = options.publishTurn ?? new PublishTurn();
  }

  get description(): string {
    return `jetstream:${this.options.stream}`;
  }

  /**
   * Takes the stream over for this owner: creates it when missing, then publishes a claim record
   * expecting the stream's last sequence (read again and retried while another writer gets in
   * between), so an earlier owner's later appends fail; claims the partition's subject of the former
   * state stream the same way when that stream exists. Call before readAfter: every record a
   * former owner got stored is then below the claim and read back.
   */
  async claim(): Promise<void> {
    const { link, stream, subject } = this.options;
    const jsm = await link.jetstreamManager();
    await ensureStream(
      jsm,
      {
        name: stream,
        subjects: [subject],
        description: `state API writes of one partition of a stator job (${subject})`,
        storage: 'file',
        replicas: this.options.replicas ?? 1,
        minDuplicateWindowMs: this.options.duplicateWindowMs ?? 120_000,
      },
      link.features,
    );
    const token = randomUUID();
    const id = `claim:${token}`;
    const data = JSON.stringify({ claim: token });
    const former = this.options.former;
    if (former !== undefined && (await streamExists(link, former.stream))) {
      for (;;) {
        const last = (await jsm.streams.getMessage(former.stream, { last_by_subj: former.subject }))?.seq ?? 0;
        try {
          await this.publishRetrying(former.subject, data, id, { lastSubjectSequence: last });
          break;
        } catch (error) {
          if (!isWrongLastSequence(error)) throw error;
        }
      }
    }
    for (;;) {
      const last = (await jsm.streams.info(stream)).state.last_seq;
      try {
        const ack = await this.publishRetrying(subject, data, id, { lastSequence: last });
        this.claimed = { token, batches: 0, last: { seq: ack.seq, id } };
        this.acks ??= new PubAckInbox(link.nc, {
          onAnswer: (ordinal, attempt, answer) => this.onAnswer(ordinal, attempt, answer),
          onOverdueCheck: this.checkOverdue,
        });
        return;
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
      }
    }
  }

  /** Positions are stream sequences; claim records are skipped, a batch gives each of its records its position. */
  readAfter(position: number): Promise<LoggedCommand[]> {
    return readSubjectAfter(this.options.link, this.options.stream, this.options.subject, position);
  }

  /**
   * The records of this partition after `position` in the former state stream (none when that
   * stream does not exist): what a checkpoint taken before the partition had a stream of its own
   * does not cover.
   */
  async readFormerAfter(position: number): Promise<LoggedCommand[]> {
    const former = this.options.former;
    if (former === undefined || !(await streamExists(this.options.link, former.stream))) return [];
    return readSubjectAfter(this.options.link, former.stream, former.subject, position);
  }

  /**
   * Tells `done` the stream sequence of the batch message that holds the record, once JetStream
   * stored it. Transient failures (timeout, reconnecting, no responders while a server restarts) are
   * retried with the same message id for as long as the log is open: the connection's own outage
   * limit ends the run, and with it the retries. Fails with StateUnavailableError when another
   * owner claimed the stream (nothing stored).
   */
  append(record: StateCommandRecord, json: string | undefined, done: AppendDone): void {
    if (this.abort.signal.aborted) done.failed(new Error(`state command log ${this.description} is closed`));
    else if (this.fenced !== undefined) done.failed(this.fenced);
    else if (this.claimed === undefined)
      done.failed(new Error(`state command log ${this.description}: append before claim`));
    else {
      this.queue.push({ data: json ?? JSON.stringify(record), done });
      // Out with the others taken in during this turn of the event loop (group commit): one publish,
      // one socket write for the requests that arrived together.
      this.scheduleFlush();
    }
  }

  /**
   * Purges this partition's stream up to `position` (a stream sequence), keeping the last message
   * this owner knows stored. close() waits for it.
   */
  trimThrough(position: number): Promise<void> {
    const keepFrom = Math.min(position + 1, this.claimed?.last.seq ?? position + 1);
    if (keepFrom <= 1 || this.abort.signal.aborted) return Promise.resolve();
    const { link, stream } = this.options;
    const trimmed = link
      .jetstreamManager()
      .then((jsm) => jsm.streams.purge(stream, { seq: keepFrom }))
      .then(() => undefined);
    this.track(trimmed);
    return trimmed;
  }

  close(): Promise<void> {
    // Once: a second call would replace the first one's wait for the answers, which then never ends.
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.abort.abort(new Error(`state command log ${this.description} closed while a write was being published`));
    // The attempts out get their answers (stored, or not), as long as they may take.
    if (this.pending.some((batch) => batch.state === 'sent'))
      await new Promise<void>((resolve) => (this.whenAnswered = resolve));
    this.acks?.close();
    await Promise.allSettled([...this.inFlight]);
    const closed = new Error(`state command log ${this.description} closed before the write was published`);
    for (const batch of this.pending.splice(0)) for (const append of batch.appends) append.done.failed(closed);
    for (const queued of this.queue.splice(0)) queued.done.failed(closed);
  }

  private track(promise: Promise<unknown>): void {
    this.inFlight.add(promise);
    void promise.catch(() => undefined).finally(() => this.inFlight.delete(promise));
  }

  /** Appends go out together, after this turn of the event loop. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.publishTurn.schedule(this.scheduledFlush);
  }

  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** Publishes what is queued as batch messages, each chained to the one before, up to maxInFlight unacknowledged. */
  private flush(): void {
    if (this.broken || this.fenced !== undefined || this.abort.signal.aborted) return;
    const claimed = this.claimed!;
    const maxPayload = this.options.link.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
    const maxBatch = this.options.maxBatch ?? 256;
    while (this.queue.length > 0 && this.pending.length < (this.options.maxInFlight ?? 16)) {
      const appends: QueuedAppend[] = [];
      let bytes = BATCH_OVERHEAD_BYTES;
      while (appends.length < maxBatch && this.queue.length > 0) {
        const next = this.queue[0]!;
        // A record alone always goes (its size was checked against max_payload when it was taken in).
        if (appends.length > 0 && bytes + next.data.length + 1 > maxPayload) break;
        bytes += next.data.length + 1;
        appends.push(this.queue.shift()!);
      }
      const data = appends.length === 1 ? appends[0]!.data : `{"batch":[${appends.map((a) => a.data).join(',')}]}`;
      const batch: Batch = {
        id: `${claimed.token}:${++claimed.batches}`,
        ordinal: claimed.batches,
        payload: this.publishTurn.slab.encode(data),
        appends,
        state: 'sent',
        attempt: 0,
        anchor: false,
        sentAt: 0,
        delayMs: 50,
        seq: 0,
      };
      this.pending.push(batch);
      this.send(batch);
    }
  }

  /**
   * One attempt of a batch. The first pending batch (every batch before it acknowledged) is an
   * anchor: it expects the stream's last sequence to be that of the last acknowledged message;
   * any other expects the id of the pending batch before it. A batch stored before (a retry after
   * a lost acknowledgement) is acknowledged as a duplicate whatever it expects: JetStream's
   * duplicate check comes first.
   */
  private send(batch: Batch): void {
    const index = this.pending.indexOf(batch);
    const attempt = ++batch.attempt;
    batch.state = 'sent';
    batch.anchor = index === 0;
    batch.sentAt = performance.now();
    // Ids are `<uuid>:<n>` and `claim:<uuid>`, sequences digits: nothing a header value may not hold.
    this.wire.bytes = this.publishTurn.slab.encode(
      batch.anchor
        ? `NATS/1.0\r\nNats-Msg-Id: ${batch.id}\r\nNats-Expected-Last-Sequence: ${this.claimed!.last.seq}\r\n\r\n`
        : `NATS/1.0\r\nNats-Msg-Id: ${batch.id}\r\nNats-Expected-Last-Msg-Id: ${this.pending[index - 1]!.id}\r\n\r\n`,
    );
    this.publishOptions.reply = this.acks!.replySubject(batch.ordinal, attempt);
    try {
      this.options.link.nc.publish(this.options.subject, batch.payload, this.publishOptions);
    } catch (error) {
      // The connection is closed or closing: nothing was sent.
      this.failed(batch, attempt, error);
      return;
    }
    this.acks!.watch(this.ackTimeoutMs);
  }

  private get ackTimeoutMs(): number {
    return this.options.ackTimeoutMs ?? 5000;
  }

  /**
   * Attempts unanswered for ackTimeoutMs fail as timeouts (sent again with the same id). Returns
   * when to look again: when the next attempt out is due, if any.
   */
  private readonly checkOverdue = (): number | undefined => {
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const batch of [...this.pending]) {
      if (batch.state !== 'sent') continue;
      const dueAt = batch.sentAt + this.ackTimeoutMs;
      if (dueAt <= now) this.failed(batch, batch.attempt, new (natsCore().errors.TimeoutError)());
      else next = Math.min(next, dueAt);
    }
    return next === Number.POSITIVE_INFINITY ? undefined : next - now;
  };

  /** JetStream's answer to an attempt: a PubAck, an API error, or no responders (no stream listens, yet). */
  private onAnswer(ordinal: number, attempt: number, answer: PubAckAnswer): void {
    const batch = this.pending.find((b) => b.ordinal === ordinal);
    // An answer to an earlier attempt, or to a batch already settled: the current attempt decides.
    if (batch === undefined || attempt !== batch.attempt || batch.state !== 'sent') return;
    switch (answer.kind) {
      case 'stored':
        this.acknowledged(batch, attempt, answer.seq);
        return;
      case 'no-responders':
        this.failed(batch, attempt, new (natsCore().errors.NoRespondersError)(this.options.subject));
        return;
      case 'unreadable':
        this.failed(batch, attempt, new Error('JetStream sent an unreadable acknowledgement', { cause: answer.cause }));
        return;
      case 'error':
        this.failed(
          batch,
          attempt,
          new (natsJetStream().JetStreamApiError)({
            code: answer.error.code ?? 0,
            err_code: answer.error.err_code ?? 0,
            description: answer.error.description ?? '',
          }),
        );
    }
  }

  private acknowledged(batch: Batch, attempt: number, seq: number): void {
    if (attempt !== batch.attempt || batch.state === 'acked') return;
    batch.state = 'acked';
    batch.seq = seq;
    // Resolved in log order: a batch is acknowledged only after the one before it was stored anyway.
    while (this.pending[0]?.state === 'acked') {
      const done = this.pending.shift()!;
      this.claimed!.last = { seq: done.seq, id: done.id };
      const appended = { position: done.seq, duplicate: false };
      for (const append of done.appends) append.done.durable(appended);
    }
    this.afterAnswer();
  }

  private failed(batch: Batch, attempt: number, error: unknown): void {
    if (attempt !== batch.attempt || batch.state === 'acked' || this.fenced !== undefined) return;
    if (batch.anchor && isWrongLastSequence(error)) {
      // Every batch before it is stored and nothing of this owner's came after: another owner claimed.
      this.fence(error);
      return;
    }
    if (isWrongLastMsgId(error)) {
      // The batch before it was not stored (refused, lost, still retried) or another owner claimed:
      // sent again once every batch before it has its answer (recover()).
      batch.state = 'refused';
      this.broken = true;
    } else if (isTransientNatsError(error) && !this.abort.signal.aborted) {
      batch.state = 'retry';
      const delayMs = batch.delayMs;
      batch.delayMs = Math.min(delayMs * 2, 1000);
      this.track(
        sleep(delayMs, this.abort.signal).then(
          () => {
            if (batch.state === 'retry' && this.fenced === undefined) this.send(batch);
          },
          () => undefined,
        ),
      );
      return;
    } else {
      // Not stored and never will be (the log closed, or JetStream refused it for good): the batches
      // after it expect it, so they are refused and sent again from a new anchor.
      this.pending.splice(this.pending.indexOf(batch), 1);
      for (const append of batch.appends) append.done.failed(error);
      this.broken = this.pending.length > 0;
    }
    this.afterAnswer();
  }

  private afterAnswer(): void {
    if (this.whenAnswered !== undefined && !this.pending.some((batch) => batch.state === 'sent')) {
      this.whenAnswered();
      this.whenAnswered = undefined;
    }
    if (this.broken) this.recover();
    if (!this.broken && this.queue.length > 0) this.scheduleFlush();
  }

  /**
   * After a refusal: once every pending batch was refused (those before them acknowledged, none
   * unanswered), sends them all again, the first as an anchor expecting the last acknowledged
   * sequence, the others chained to it. A refusal of that anchor means another owner claimed.
   */
  private recover(): void {
    if (this.abort.signal.aborted || this.fenced !== undefined) return;
    if (!this.pending.every((batch) => batch.state === 'refused')) return;
    this.broken = false;
    for (const batch of this.pending) {
      batch.delayMs = 50;
      this.send(batch);
    }
  }

  private fence(cause: unknown): void {
    if (this.fenced !== undefined) return;
    this.fenced = new StateUnavailableError(
      `the partition of ${this.options.stream} moved to another owner (it claimed the partition's state command log): the write was not applied`,
    );
    this.fenced.cause = cause;
    for (const batch of this.pending.splice(0)) for (const append of batch.appends) append.done.failed(this.fenced);
    for (const queued of this.queue.splice(0)) queued.done.failed(this.fenced);
    this.options.onFenced?.(this.fenced);
    this.afterAnswer();
  }

  /**
   * One message with its expectation, sent again with the same id after a transient failure
   * (JetStream's duplicate check comes before the expectation, so a retry of a message that was
   * stored is acknowledged with its sequence).
   */
  private async publishRetrying(
    subject: string,
    data: string,
    msgID: string,
    expect: { lastSequence: number } | { lastSubjectSequence: number },
  ): Promise<PubAck> {
    const payload = this.encoder.encode(data);
    let delayMs = 50;
    for (;;) {
      try {
        return await this.options.link.js.publish(subject, payload, {
          msgID,
          expect,
          timeout: this.options.ackTimeoutMs ?? 5000,
        });
      } catch (error) {
        if (!isTransientNatsError(error) || this.abort.signal.aborted) throw error;
      }
      await sleep(delayMs, this.abort.signal);
      delayMs = Math.min(delayMs * 2, 1000);
    }
  }
}

async function streamExists(link: NatsLink, stream: string): Promise<boolean> {
  const jsm = await link.jetstreamManager();
  try {
    await jsm.streams.info(stream);
    return true;
  } catch (error) {
    if (error instanceof natsJetStream().JetStreamApiError && error.code === STREAM_NOT_FOUND) return false;
    throw error;
  }
}

/** The state command records of `subject` in `stream` after `position`, each at its message's sequence. */
async function readSubjectAfter(
  link: NatsLink,
  stream: string,
  subject: string,
  position: number,
): Promise<LoggedCommand[]> {
  const jsm = await link.jetstreamManager();
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  if (last === null || last.seq <= position) return [];
  const consumer = await link.js.consumers.get(stream, {
    filter_subjects: subject,
    deliver_policy: natsJetStream().DeliverPolicy.StartSequence,
    opt_start_seq: position + 1,
  });
  const records: LoggedCommand[] = [];
  const messages = await consumer.consume({ max_messages: READ_BATCH });
  try {
    for await (const m of messages) {
      for (const record of parseMessage(m.data, `${stream} message ${m.seq}`))
        records.push({ position: m.seq, record });
      if (m.seq >= last.seq) break;
    }
  } finally {
    await messages.close().catch(() => undefined);
  }
  return records;
}

function isWrongLastMsgId(error: unknown): boolean {
  return error instanceof natsJetStream().JetStreamApiError && error.code === WRONG_LAST_MSG_ID;
}

function isWrongLastSequence(error: unknown): boolean {
  return error instanceof natsJetStream().JetStreamApiError && error.code === WRONG_LAST_SEQUENCE;
}

function parseMessage(data: Uint8Array, what: string): StateCommandRecord[] {
  let message: LogMessage;
  try {
    message = JSON.parse(new TextDecoder().decode(data)) as LogMessage;
  } catch (error) {
    throw notARecord(what, error);
  }
  if ('claim' in message) return [];
  const records = 'batch' in message ? message.batch : [message];
  for (const record of records) checkRecord(record, what);
  return [...records];
}

function checkRecord(record: StateCommandRecord, what: string): void {
  if (typeof record.seq !== 'number' || typeof record.after !== 'number' || typeof record.command !== 'object')
    throw notARecord(what, new Error('not a state command record'));
}

function notARecord(what: string, error: unknown): Error {
  return new Error(
    `${what} is not a state command record (${(error as Error).message}): something else published to the job's state stream; remove it (nats stream rmm)`,
    { cause: error },
  );
}

/**
 * Removes a job's logged writes (with its checkpoints, by `stator checkpoints clear`): they belong
 * to the state cleared, and a fresh start must not replay them. Purges every partition's stream and
 * the former one-stream log. @returns the records removed.
 */
export async function clearStateCommands(link: NatsLink, job: string): Promise<number> {
  const jsm = await link.jetstreamManager();
  const names = jobStreamNames(job);
  const streams = [names.stateCommandStream];
  for await (const name of jsm.streams.names(names.stateLogSubjects)) streams.push(name);
  let purged = 0;
  for (const stream of new Set(streams)) {
    try {
      purged += (await jsm.streams.purge(stream)).purged;
    } catch (error) {
      if (!(error instanceof natsJetStream().JetStreamApiError && error.code === STREAM_NOT_FOUND)) throw error;
    }
  }
  return purged;
}
