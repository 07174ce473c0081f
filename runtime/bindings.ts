import type { CheckpointSnapshot } from '../src/checkpoint/checkpoint-writer.ts';
import type { PartitionRestore, ReadOptions } from '../src/checkpoint/checkpoint-reader.ts';
import type { PartitionSeed } from '../src/checkpoint/checkpoints.ts';
import type { Outlet } from './engine/outlet.ts';
import type { InputLag } from './job-view.ts';

/**
 * A job's input as bound by a runtime mode (embedded: a file; NATS: a stream). The runtime drives
 * it: open at a checkpoint's position, run, pause for checkpoints, stop.
 */
export interface SourceBinding {
  readonly name: string;
  /** Opens to resume after `position` (the last processed position; undefined: from the start). */
  open(position: number | undefined): Promise<void>;
  /**
   * Pushes messages into the pipeline; resolves true when a bounded input ended, false when stopped.
   * At the end of a bounded input it holds back what a checkpoint must not cover (see finishInput).
   */
  run(): Promise<boolean>;
  /**
   * After run() resolved true and the final checkpoint: sends the end of a bounded input, which no
   * checkpoint covers, so a later run over the grown input processes it as one run over the final
   * input would: a last line without its newline (it may still be being written) and the final
   * watermark (a rerun's new event-time timers fire as they would in one run). A no-op for an
   * unbounded input.
   */
  finishInput(): void;
  /** Stops at the next message boundary; resolves with the last processed position. */
  pause(): Promise<number>;
  resume(): void;
  stop(): void;
  readonly lastPosition: number;
  readonly messagesRead: number;
  /** How far reading is behind the end of the input now; undefined when not known (e.g. closed). */
  inputLag?(): Promise<InputLag | undefined>;
  close(): Promise<void>;
}

/**
 * A sink's part of a checkpoint, taken at the cut (Flink's pre-commit): what the checkpoint records
 * for the sink, and when the outputs it covers are durable.
 */
export interface SinkCut {
  /** Covers every output emitted before the cut and none after (a file length, an output count). */
  readonly record: Uint8Array;
  /**
   * Resolves once every output before the cut is durable (fsynced, acknowledged by JetStream): the
   * point from which a checkpoint holding `record` may commit. Rejects when the sink failed.
   */
  readonly durable: Promise<void>;
}

/** A job's output (or the dead letters) as bound by a runtime mode. */
export interface SinkBinding {
  readonly name: string;
  readonly outlet: Outlet;
  /** Opens, rolling back anything written after the checkpoint's `record` (undefined: fresh start). */
  open(record: Uint8Array | undefined): Promise<void>;
  /**
   * The cut, taken synchronously between outputs: the record of everything emitted so far, and a
   * promise for its durability. Outputs emitted after the call are not covered and not waited for,
   * so intake can resume while the sink drains.
   */
  cut(): SinkCut;
  close(): Promise<void>;
  /**
   * Outputs are deduped by their ordinal (the n-th output keeps its id on a replay), which holds only
   * when a replay emits them in the same order: in the same layout. A job whose previous run died
   * cannot then restore into another parallelism. @default false (a file sink rolls back instead)
   */
  readonly dedupesByOrdinal?: boolean;
  /**
   * With `dedupesByOrdinal`, after `open`: how many outputs an earlier run stored beyond those this
   * run has numbered so far (it died after its last checkpoint; this run's replay re-emits them
   * under the same ids, and counts them down to 0). Undefined when the sink cannot tell.
   */
  replayBacklog?(): number | undefined;
}

/** What a checkpoint write reports. */
export interface CheckpointWritten {
  readonly id: number;
  readonly bytesWritten: number;
  readonly changedKeys: number;
  readonly kind: 'full' | 'incremental';
  /** When its manifest was committed (epoch millis). */
  readonly committedAt: number;
}

/** A checkpoint chosen for restore. */
export interface RestoredCheckpoint {
  readonly id: number;
  /** When its snapshot was captured (epoch millis): outputs after this instant are replayed. */
  readonly createdAt: number;
  readonly inputs: Readonly<Record<string, number>>;
  readonly sinks: Readonly<Record<string, Uint8Array>>;
  readonly partitions: readonly PartitionRestore[];
  /** The job's maxKeyGroups when it was taken (undefined: a checkpoint of an older version). */
  readonly maxKeyGroups?: number;
  /** Partitions of each keyed stage when it was taken (undefined: a checkpoint of an older version). */
  readonly parallelism?: Readonly<Record<string, number>>;
}

/** The checkpoints of one job, as the runtime uses them (the checkpoint service and coordinator). */
export interface JobCheckpoints {
  /** e.g. `file:./state/wordcount`. */
  readonly description: string;
  /**
   * Takes the job's lease (another live process running the job makes this throw) and reads the
   * newest usable checkpoint (undefined: none); `progress` gets bytes read / total. With
   * `read.reuseLocal`, partitions a warm local copy serves are not read (PartitionRestore.reusesLocalCopy).
   */
  restoreLatest(
    progress?: (done: number, total: number) => void,
    read?: ReadOptions,
  ): Promise<RestoredCheckpoint | undefined>;
  /**
   * The digest of one partition's state in the checkpoint that holds exactly the state captured so
   * far (Checkpoints.committedDigest): what a warm local copy of that state records.
   */
  committedDigest(stage: string, partition: number): string | undefined;
  /** Why a checkpoint is due at `watermark` now (the trigger policy), or undefined. */
  due(watermark: number): string | undefined;
  /** Resolves when no checkpoint write is in flight; rejects once fenced. */
  ready(): Promise<void>;
  /**
   * Writes and commits a captured snapshot in the background, committing the manifest only once
   * `beforeCommit` resolved (the sinks' cuts are durable; the parts are written meanwhile). Resolves
   * with what was written, or undefined when the write failed (the error went to the runtime's error
   * callback).
   */
  start(
    snapshot: CheckpointSnapshot,
    reason: string,
    beforeCommit?: () => Promise<void>,
  ): Promise<CheckpointWritten | undefined>;
  /** The last write error (when `start` resolved undefined). */
  readonly lastError: unknown;
  /** Graceful stop: the next `due` says 'stop'. */
  requestStop(): void;
  /** After `restoreLatest`: whether the run before this one stopped at a final checkpoint (see `stoppedCleanly`). */
  readonly previousRunStopped: boolean | undefined;
  /**
   * The final checkpoint covers every output this run emitted: `close` releases the lease. Without
   * this call `close` leaves it expired, and the next run counts this one as crashed.
   */
  stoppedCleanly(): void;
  /** After a restore into another layout: the next checkpoint is a new base of `partitions` (Checkpoints.rebase). */
  rebase(partitions: readonly PartitionSeed[]): Promise<void>;
  /** Waits for the write in flight, releases the lease, closes the store. Idempotent. */
  close(): Promise<void>;
}
