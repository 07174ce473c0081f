// NATS mode's command log: one subject of the job's state stream per stage partition, so whoever
// owns a partition reads exactly its own writes. The owner first claims the subject (a claim record
// published expecting the subject's last sequence), then appends only expecting its own last one:
// once a new owner has claimed, a former owner's append fails instead of being acknowledged for a
// partition that moved (fencing). Appends are serialized per subject and, while one publish is in
// flight, the next writes queue and go out together as one batch message: durable before
// acknowledged, at one JetStream round trip per batch rather than per write.
import { randomUUID } from 'node:crypto';
import { DeliverPolicy } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { NatsLink } from '../nats/connection.ts';
import { jobStreamNames } from '../nats/stream-names.ts';
import { isTransientNatsError, sleep } from '../nats/retry.ts';
import { StateUnavailableError } from './state-api-errors.ts';
import type { AppendedCommand, LoggedCommand, StateCommandLog, StateCommandRecord } from './state-command.ts';

export interface JetStreamCommandLogOptions {
  readonly link: NatsLink;
  /** The job's state stream (`STATOR_<JOB>_STATE`). */
  readonly stream: string;
  /** This partition's subject (`stator.<job>.state.<stage>.p<N>`). */
  readonly subject: string;
  /** How long one publish waits for its acknowledgement before it is sent again. @default 5000 */
  readonly ackTimeoutMs?: number;
  /** Records in one batch message at most. @default 256 */
  readonly maxBatch?: number;
  /** Another owner claimed the subject: this log takes no more appends (the partition moved). */
  readonly onFenced?: (error: StateUnavailableError) => void;
}

/** Records per pull while reading the records a checkpoint does not cover. */
const READ_BATCH = 512;
/** Room for a batch message's headers and envelope besides its records. */
const BATCH_OVERHEAD_BYTES = 1024;
/** JetStream's error code for a failed Nats-Expected-Last-Subject-Sequence. */
const WRONG_LAST_SEQUENCE = 10071;

/** A message on a partition's subject: a claim, a batch of records, or one record (as logs before batching wrote). */
type LogMessage = { readonly claim: string } | { readonly batch: readonly StateCommandRecord[] } | StateCommandRecord;

interface QueuedAppend {
  readonly data: string;
  readonly resolve: (appended: AppendedCommand) => void;
  readonly reject: (error: unknown) => void;
}

export class JetStreamCommandLog implements StateCommandLog {
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly queue: QueuedAppend[] = [];
  private publishing: Promise<void> | undefined;
  /** This owner's claim: its token (batch ids derive from it) and the subject's last sequence it wrote. */
  private claimed: { readonly token: string; last: number; batches: number } | undefined;
  private fenced: StateUnavailableError | undefined;

  constructor(private readonly options: JetStreamCommandLogOptions) {}

  get description(): string {
    return `jetstream:${this.options.stream}/${this.options.subject}`;
  }

  /**
   * Takes the subject over for this owner: publishes a claim record expecting the subject's last
   * sequence (read again and retried while another writer gets in between), so an earlier owner's
   * later appends fail. Call before readAfter: every record a former owner got stored is then below
   * the claim and read back.
   */
  async claim(): Promise<void> {
    const token = randomUUID();
    const data = JSON.stringify({ claim: token });
    for (;;) {
      const last = await this.lastSequence();
      try {
        const ack = await this.publishRetrying(data, `claim:${token}`, last);
        this.claimed = { token, last: ack.seq, batches: 0 };
        return;
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
      }
    }
  }

  /** Positions are stream sequences; claim records are skipped, a batch gives each of its records its position. */
  async readAfter(position: number): Promise<LoggedCommand[]> {
    const { link, stream, subject } = this.options;
    const jsm = await link.jetstreamManager();
    const last = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    if (last === null || last.seq <= position) return [];
    const consumer = await link.js.consumers.get(stream, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.StartSequence,
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

  /**
   * Resolves with the stream sequence of the batch message that holds the record, once JetStream
   * stored it. Transient failures (timeout, reconnecting, no responders while a server restarts) are
   * retried with the same message id and expectation for as long as the log is open: the
   * connection's own outage limit ends the run, and with it the retries.
   * @throws StateUnavailableError when another owner claimed the subject (nothing stored).
   */
  append(record: StateCommandRecord): Promise<AppendedCommand> {
    if (this.abort.signal.aborted) return Promise.reject(new Error(`state command log ${this.description} is closed`));
    if (this.fenced !== undefined) return Promise.reject(this.fenced);
    if (this.claimed === undefined)
      return Promise.reject(new Error(`state command log ${this.description}: append before claim`));
    return new Promise<AppendedCommand>((resolve, reject) => {
      this.queue.push({ data: JSON.stringify(record), resolve, reject });
      this.pump();
    });
  }

  /**
   * Purges this partition's subject up to `position` (a stream sequence), keeping this owner's last
   * message: the subject's last sequence is what its next append expects. close() waits for it.
   */
  trimThrough(position: number): Promise<void> {
    const keepFrom = Math.min(position + 1, this.claimed?.last ?? position + 1);
    if (keepFrom <= 1 || this.abort.signal.aborted) return Promise.resolve();
    const { link, stream, subject } = this.options;
    const trimmed = link
      .jetstreamManager()
      .then((jsm) => jsm.streams.purge(stream, { filter: subject, seq: keepFrom }))
      .then(() => undefined);
    this.track(trimmed);
    return trimmed;
  }

  async close(): Promise<void> {
    this.abort.abort(new Error(`state command log ${this.description} closed while a write was being published`));
    await Promise.allSettled([...this.inFlight]);
    const closed = new Error(`state command log ${this.description} closed before the write was published`);
    for (const queued of this.queue.splice(0)) queued.reject(closed);
  }

  private track(promise: Promise<unknown>): void {
    this.inFlight.add(promise);
    void promise.catch(() => undefined).finally(() => this.inFlight.delete(promise));
  }

  /** Publishes what is queued, one batch at a time, each expecting the sequence the previous one got. */
  private pump(): void {
    if (this.publishing !== undefined) return;
    const publishing = (async () => {
      const maxPayload = this.options.link.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
      while (this.queue.length > 0 && this.fenced === undefined && !this.abort.signal.aborted) {
        const claimed = this.claimed!;
        const batch: QueuedAppend[] = [];
        let bytes = BATCH_OVERHEAD_BYTES;
        while (batch.length < (this.options.maxBatch ?? 256) && this.queue.length > 0) {
          const next = this.queue[0]!;
          // A record alone always goes (its size was checked against max_payload when it was taken in).
          if (batch.length > 0 && bytes + next.data.length + 1 > maxPayload) break;
          bytes += next.data.length + 1;
          batch.push(this.queue.shift()!);
        }
        const data = batch.length === 1 ? batch[0]!.data : `{"batch":[${batch.map((b) => b.data).join(',')}]}`;
        try {
          const ack = await this.publishRetrying(data, `${claimed.token}:${++claimed.batches}`, claimed.last);
          claimed.last = ack.seq;
          for (const queued of batch) queued.resolve({ position: ack.seq, duplicate: false });
        } catch (error) {
          if (isWrongLastSequence(error)) this.fence(error);
          for (const queued of batch) queued.reject(this.fenced ?? error);
        }
      }
      if (this.fenced !== undefined) for (const queued of this.queue.splice(0)) queued.reject(this.fenced);
    })().finally(() => {
      this.publishing = undefined;
      if (this.queue.length > 0 && !this.abort.signal.aborted) this.pump();
    });
    this.publishing = publishing;
    this.track(publishing);
  }

  private fence(cause: unknown): void {
    if (this.fenced !== undefined) return;
    this.fenced = new StateUnavailableError(
      `the partition of ${this.options.subject} moved to another owner (it claimed the partition's state command log): the write was not applied`,
    );
    this.fenced.cause = cause;
    this.options.onFenced?.(this.fenced);
  }

  private async lastSequence(): Promise<number> {
    const { link, stream, subject } = this.options;
    const jsm = await link.jetstreamManager();
    return (await jsm.streams.getMessage(stream, { last_by_subj: subject }))?.seq ?? 0;
  }

  /**
   * One message, expecting the subject's last sequence to be `last`; sent again with the same id
   * after a transient failure (JetStream's duplicate check comes before the expectation, so a retry
   * of a message that was stored is acknowledged with its sequence).
   */
  private async publishRetrying(data: string, msgID: string, last: number): Promise<{ seq: number }> {
    const { link, subject } = this.options;
    const payload = new TextEncoder().encode(data);
    let delayMs = 50;
    for (;;) {
      try {
        return await link.js.publish(subject, payload, {
          msgID,
          expect: { lastSubjectSequence: last },
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

function isWrongLastSequence(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE;
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
 * to the state cleared, and a fresh start must not replay them. @returns the records removed.
 */
export async function clearStateCommands(link: NatsLink, job: string): Promise<number> {
  const jsm = await link.jetstreamManager();
  try {
    return (await jsm.streams.purge(jobStreamNames(job).stateCommandStream)).purged;
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND) return 0;
    throw error;
  }
}

/** JetStream's error code for "stream not found". */
const STREAM_NOT_FOUND = 10059;
