import type { CheckpointStore } from '../src/checkpoint/index.ts';
import type { NatsFlags } from './nats/connection-options.ts';

/**
 * Where a job's input and output live, and its checkpoints: `files({...})` (embedded: no broker) or
 * `nats({...})` (JetStream streams and buckets). Handed to `createRuntime`.
 */
export type Transport = FilesTransport | NatsTransport;

/** Embedded mode: the input and output are files, one message per line. */
export interface FilesTransportOptions {
  /** The input file; read from the checkpointed offset on. */
  readonly input: string;
  /** The output file; truncated to the checkpointed length on restore. Its directory is created. */
  readonly output: string;
  /** Dead letters, JSON lines. @default `<output>.dead.jsonl` */
  readonly deadLetter?: string;
  /** Checkpoints go to `<stateDir>/<job name>/main`. @default './state' */
  readonly stateDir?: string;
  /**
   * A checkpoint store of your own (memory, JetStream, ...) instead of the file store under `stateDir`.
   * The caller keeps it: the runtime does not close it.
   */
  readonly store?: CheckpointStore;
  /** Keep reading as the input grows, until stopped. @default false */
  readonly follow?: boolean;
  /**
   * The longest input line read as a message, in bytes; a longer one is dead-lettered by position
   * (INPUT_LINE_TOO_LONG) and skipped, holding no more than this many bytes of it in memory.
   * @default 64 MiB
   */
  readonly maxLineBytes?: number;
}

export interface FilesTransport extends FilesTransportOptions {
  readonly kind: 'files';
}

/**
 * NATS mode: input from the JetStream subject `<job>.<source name>`, output to `<job>.<sink name>`,
 * checkpoints in the KV + Object Store buckets `stator-<job>-main`. Streams are created when missing.
 */
export interface NatsTransportOptions {
  /** Server URL(s), comma-separated, as the nats CLI's --server: e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string;
  /**
   * The other connection settings by the nats CLI's flag names (user, password, token, creds, nkey,
   * tlscert, tlskey, tlsca, maxOutage, name); unset ones fall back to the NATS_* environment variables.
   */
  readonly connection?: Omit<NatsFlags, 'nats'>;
  /**
   * Local directory of this process: the job's file area (ctx.files) keeps the copies `path()`
   * hands out in `<stateDir>/<job>/files-cache`. @default './state'
   */
  readonly stateDir?: string;
  /**
   * How this process takes part in the job's group. Every NATS-mode process of a job is a worker of
   * its group: without `scaleOut` the job is one unit, run by one worker while the others stand by
   * to take it over when it stops or dies (docs/scale-out.md).
   */
  readonly group?: GroupOptions;
  /**
   * Split the job into units at its keyed exchanges (docs/scale-out.md): every worker of the job
   * shares its units, taking over those of a worker that stops or dies. Its group options override `group`'s.
   */
  readonly scaleOut?: ScaleOutOptions;
}

/** A worker's options in its job's group. */
export interface GroupOptions {
  /**
   * Replicas of every stream and bucket the job creates: 3 on a 3-node cluster keeps the job through the loss of a
   * server. @default 1
   */
  readonly replicas?: number;
  /** How long a silent worker keeps its units before the others take them over. @default 5000 */
  readonly leaseTtlMs?: number;
  /**
   * Failures of a unit in a row after which it is marked failed and no worker starts it until its
   * record is cleared (docs/scale-out.md, "A unit that fails"). @default 8
   */
  readonly maxUnitFailures?: number;
}

/** A worker's options in a scaled-out job. */
export interface ScaleOutOptions extends GroupOptions {
  /**
   * The input is pre-partitioned into this many subjects `<job>.<source>.<p>`, one unit reading each
   * (docs/scale-out.md). @default the source's `partitions`, else one input subject `<job>.<source>`
   */
  readonly inputPartitions?: number;
}

export interface NatsTransport extends NatsTransportOptions {
  readonly kind: 'nats';
}

/** Embedded mode: files in and out, checkpoints in a local store. */
export function files(options: FilesTransportOptions): FilesTransport {
  return { ...options, kind: 'files' };
}

/** NATS mode: JetStream streams in and out, checkpoints in JetStream buckets. */
export function nats(options: NatsTransportOptions): NatsTransport {
  return { ...options, kind: 'nats' };
}
