// NATS mode's command log: one subject of the job's state stream per stage partition, so whoever
// owns a partition reads exactly its own writes. A record is published with its request id as
// Nats-Msg-Id, and a publish whose acknowledgement is lost is sent again with the same id until
// JetStream acknowledges it: the stream holds each request once (within its duplicate window).
import { DeliverPolicy } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { NatsLink } from '../nats/connection.ts';
import { jobStreamNames } from '../nats/stream-names.ts';
import { isTransientNatsError, sleep } from '../nats/retry.ts';
import type { AppendedCommand, LoggedCommand, StateCommandLog, StateCommandRecord } from './state-command.ts';

export interface JetStreamCommandLogOptions {
  readonly link: NatsLink;
  /** The job's state stream (`STATOR_<JOB>_STATE`). */
  readonly stream: string;
  /** This partition's subject (`stator.<job>.state.<stage>.p<N>`). */
  readonly subject: string;
  /** How long one publish waits for its acknowledgement before it is sent again. @default 5000 */
  readonly ackTimeoutMs?: number;
}

/** Records per pull while reading the records a checkpoint does not cover. */
const READ_BATCH = 512;

export class JetStreamCommandLog implements StateCommandLog {
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: JetStreamCommandLogOptions) {}

  get description(): string {
    return `jetstream:${this.options.stream}/${this.options.subject}`;
  }

  /** Positions are stream sequences. */
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
        records.push({ position: m.seq, record: parseRecord(m.data, `${stream} message ${m.seq}`) });
        if (m.seq >= last.seq) break;
      }
    } finally {
      await messages.close().catch(() => undefined);
    }
    return records;
  }

  /**
   * Publishes the record and resolves with its stream sequence once JetStream stored it (or knew
   * its id already: `duplicate`). Transient failures (timeout, reconnecting, no responders while a
   * server restarts) are retried with the same id for as long as the log is open: the connection's
   * own outage limit ends the run, and with it the retries.
   */
  append(record: StateCommandRecord): Promise<AppendedCommand> {
    if (this.abort.signal.aborted) return Promise.reject(new Error(`state command log ${this.description} is closed`));
    const appended = this.publish(record);
    this.inFlight.add(appended);
    void appended.catch(() => undefined).finally(() => this.inFlight.delete(appended));
    return appended;
  }

  /** Purges this partition's subject up to `position` (a stream sequence); close() waits for it. */
  trimThrough(position: number): Promise<void> {
    if (position < 1 || this.abort.signal.aborted) return Promise.resolve();
    const { link, stream, subject } = this.options;
    const trimmed = link
      .jetstreamManager()
      .then((jsm) => jsm.streams.purge(stream, { filter: subject, seq: position + 1 }))
      .then(() => undefined);
    this.inFlight.add(trimmed);
    void trimmed.catch(() => undefined).finally(() => this.inFlight.delete(trimmed));
    return trimmed;
  }

  async close(): Promise<void> {
    this.abort.abort(new Error(`state command log ${this.description} closed while a write was being published`));
    await Promise.allSettled([...this.inFlight]);
  }

  private async publish(record: StateCommandRecord): Promise<AppendedCommand> {
    const { link, subject } = this.options;
    const data = new TextEncoder().encode(JSON.stringify(record));
    const msgID = record.id ?? `${subject}:${record.seq}:${record.after}`;
    let delayMs = 50;
    for (;;) {
      try {
        const ack = await link.js.publish(subject, data, { msgID, timeout: this.options.ackTimeoutMs ?? 5000 });
        return { position: ack.seq, duplicate: ack.duplicate };
      } catch (error) {
        if (!isTransientNatsError(error) || this.abort.signal.aborted) throw error;
      }
      await sleep(delayMs, this.abort.signal);
      delayMs = Math.min(delayMs * 2, 1000);
    }
  }
}

function parseRecord(data: Uint8Array, what: string): StateCommandRecord {
  try {
    const record = JSON.parse(new TextDecoder().decode(data)) as StateCommandRecord;
    if (typeof record.seq !== 'number' || typeof record.after !== 'number' || typeof record.command !== 'object')
      throw new Error('not a state command record');
    return record;
  } catch (error) {
    throw new Error(
      `${what} is not a state command record (${(error as Error).message}): something else published to the job's state stream; remove it (nats stream rmm)`,
      { cause: error },
    );
  }
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
