import type { Json } from './state-json.ts';

/** One operation of a state command: a write of some of a key's cells, or a delete of the key. */
export type StateOperation =
  | { readonly op: 'upsert'; readonly key: string; readonly value: Json; readonly etag?: string }
  | { readonly op: 'delete'; readonly key: string; readonly etag?: string };

/**
 * An external state write as logged and applied: operations on keys of one partition of one stage,
 * applied in one turn of the partition. An operation with an `etag` is a first-write: applied only
 * when it is the key's current ETag. `atomic` (a transaction): any mismatch and nothing changes;
 * otherwise each operation stands alone.
 */
export interface StateCommand {
  readonly stage: string;
  readonly atomic: boolean;
  readonly ops: readonly StateOperation[];
}

/**
 * A command in the log: `seq` orders a lane's commands in the order they were taken in (1, 2, ...),
 * `after` is the source position the command came after (the last input position handed to the
 * pipeline when it was taken in), so a replay applies it at the same place among the messages.
 * `id` identifies the request (a retried request has the same): a log stores one record per id.
 */
export interface StateCommandRecord {
  readonly seq: number;
  readonly after: number;
  readonly command: StateCommand;
  readonly id?: string;
}

/** A record as the log holds it, at its position in the log. */
export interface LoggedCommand {
  /** The log's own position of the record (embedded: `seq`; JetStream: the stream sequence). */
  readonly position: number;
  readonly record: StateCommandRecord;
}

/** What an append made durable. */
export interface AppendedCommand {
  readonly position: number;
  /** The log already held a record with this id (a retried request): it stored nothing new. */
  readonly duplicate: boolean;
}

/**
 * Who hears how an append ended (StateCommandLog.append): called once, with the position the
 * record was made durable at, or with why it was not.
 */
export interface AppendDone {
  durable(appended: AppendedCommand): void;
  failed(error: unknown): void;
}

/** What applying a command did. */
export interface StateCommandResult {
  /** Keys (as sent) whose ETag did not match: not changed. */
  readonly mismatched: readonly string[];
  /** Keys whose value was rejected when applied (the job's tags changed since it was logged), with why. */
  readonly rejected: readonly { readonly key: string; readonly reason: string }[];
}

/**
 * Where commands are made durable before they are applied: an fsynced file (embedded mode) or a
 * JetStream subject per stage partition (NATS mode).
 */
export interface StateCommandLog {
  /** e.g. `file:./state/wordcount/state-commands.jsonl`. */
  readonly description: string;
  /**
   * Makes this process the log's only writer, before it reads the log and appends (NATS mode: a
   * claim record, after which a former owner's appends fail). A log with one possible writer (the
   * embedded mode's file, locked with the job's checkpoints) leaves this out.
   */
  claim?(): Promise<void>;
  /** The records at positions after `position`, in log order (a torn last record of a crashed append is dropped). */
  readAfter(position: number): Promise<LoggedCommand[]>;
  /**
   * Tells `done` once the record is durable, or that it failed: the log takes no more
   * (StateUnavailableError when another owner claimed the log: the record was not stored).
   * `json`: the record as JSON text, when the caller has it (it is not serialized again).
   * No promise: the pending write itself hears the outcome (appendCommand() gives a promise).
   */
  append(record: StateCommandRecord, json: string | undefined, done: AppendDone): void;
  /**
   * Removes the records at positions up to `position`, which no restore reads again; a log that
   * cannot drop its head (the embedded mode's one file) leaves this out and keeps them.
   */
  trimThrough?(position: number): Promise<void>;
  /** Waits for appends in flight, releases the file or subscription. Idempotent. */
  close(): Promise<void>;
}

/** StateCommandLog.append as a promise of the durable position. */
export function appendCommand(
  log: StateCommandLog,
  record: StateCommandRecord,
  json?: string,
): Promise<AppendedCommand> {
  return new Promise((durable, failed) => log.append(record, json, { durable, failed }));
}

/**
 * A log and the name its position has among a checkpoint's inputs. Partitions may share one
 * (embedded mode: one file) or each have their own (NATS mode: one subject per partition).
 */
export interface CommandLane {
  readonly name: string;
  readonly log: StateCommandLog;
  /**
   * Where the lane's records were logged before it had a log of its own (NATS mode: the job's one
   * state stream of earlier versions), under the input name checkpoints of that layout recorded.
   * Read on restore from a checkpoint that records `name` and not the lane's own.
   */
  readonly former?: { readonly name: string; read(position: number): Promise<LoggedCommand[]> };
}

/** The records a checkpoint's `inputs` do not cover, in `seq` order, and where the lane stands after them. */
export interface UnappliedRecords {
  /** The lane's own log position that a replay reads after. */
  readonly readFrom: number;
  /** The last `seq` the checkpoint covers. */
  readonly seq: number;
  /** Records of the former log carry position 0: they are before every record of the lane's own. */
  readonly records: LoggedCommand[];
}

/**
 * Reads what a restore replays: the lane's records after the checkpoint's position with a `seq`
 * above its recorded one (log positions may not follow `seq`: see state-owner.ts), and, for a
 * checkpoint that records only the former log's position, the former log's records after that
 * position first.
 */
export async function unappliedRecords(
  lane: CommandLane,
  inputs: Readonly<Record<string, number>> | undefined,
): Promise<UnappliedRecords> {
  let readFrom = inputs?.[lane.name];
  let seq = inputs?.[`${lane.name}.seq`];
  const records: LoggedCommand[] = [];
  if (readFrom === undefined && lane.former !== undefined) {
    const formerFrom = inputs?.[lane.former.name] ?? 0;
    seq = inputs?.[`${lane.former.name}.seq`] ?? formerFrom;
    for (const { record } of await lane.former.read(formerFrom)) records.push({ position: 0, record });
  }
  readFrom ??= 0;
  seq ??= readFrom;
  records.push(...(await lane.log.readAfter(readFrom)));
  const covered = seq;
  return {
    readFrom,
    seq,
    records: records.filter((logged) => logged.record.seq > covered).sort((a, b) => a.record.seq - b.record.seq),
  };
}

/** The lane of each partition of each stateful stage. */
export type CommandLanes = (stage: string, partition: number) => CommandLane;
