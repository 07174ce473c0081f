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
 * A command in the log: `seq` orders commands (1, 2, ...), `after` is the source position the
 * command came after (the last input position handed to the pipeline when it was taken in), so a
 * replay applies it at the same place among the messages.
 */
export interface StateCommandRecord {
  readonly seq: number;
  readonly after: number;
  readonly command: StateCommand;
}

/** What applying a command did. */
export interface StateCommandResult {
  /** Keys (as sent) whose ETag did not match: not changed. */
  readonly mismatched: readonly string[];
  /** Keys whose value was rejected when applied (the job's tags changed since it was logged), with why. */
  readonly rejected: readonly { readonly key: string; readonly reason: string }[];
  /** The ETag of each key after the command (absent: the key has no state). */
  readonly etags: Readonly<Record<string, string | undefined>>;
}

/**
 * Where commands are made durable before they are applied: an fsynced file (embedded mode) or a
 * JetStream stream (NATS mode). Appends are in `seq` order.
 */
export interface StateCommandLog {
  /** e.g. `file:./state/wordcount/state-commands.jsonl`. */
  readonly description: string;
  /** The records after `seq`, in order (a torn last record of a crashed append is dropped). */
  readAfter(seq: number): Promise<StateCommandRecord[]>;
  /** Resolves once the record is durable (and every record before it). @throws on a write failure: the log takes no more. */
  append(record: StateCommandRecord): Promise<void>;
  /** Waits for appends in flight, releases the file or subscription. Idempotent. */
  close(): Promise<void>;
}
