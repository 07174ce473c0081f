import type { CheckpointStore } from '../../src/checkpoint/index.ts';
import { createCheckpoints, FencedError } from '../../src/checkpoint/index.ts';
import { mergeKeyGroupParts } from '../../src/state/index.ts';
import { createCheckpointCoordinator } from '../checkpoint/index.ts';
import type { CheckpointCoordinator } from '../checkpoint/index.ts';
import type { JobCheckpoints, RestoredCheckpoint } from '../bindings.ts';
import type { Logger } from '../log.ts';

export interface JobCheckpointsOptions {
  readonly store: CheckpointStore;
  readonly jobId: string;
  readonly logger: Logger;
  /** Wall-clock ceiling between checkpoints, and the event-time interval of the watermark trigger. */
  readonly intervalMs: number;
  /** Called when checkpointing cannot go on (fenced by another writer). */
  readonly onFatal: (error: unknown) => void;
  /**
   * Take the lease even while another process holds it: the caller owns the job by other means (a
   * scaled-out worker holds the unit's lease in the job's group), and replacing the lease fences the
   * previous holder's commits. @default false
   */
  readonly takeover?: boolean;
  /**
   * Called right before the lease is taken; throws to refuse it. With `takeover`, the caller's own
   * hold may have lapsed while it opened (a worker paused past its group lease): taking the lease
   * then would fence the unit's new owner.
   */
  readonly beforeLease?: () => void;
}

/**
 * The runtime's view of a job's checkpoints over the checkpoint service and coordinator: holds the
 * job's lease while running (a second process on the same state fails with JobRunningError),
 * restores the newest readable checkpoint, writes one per captured snapshot in the background.
 */
export function jobCheckpoints(options: JobCheckpointsOptions): JobCheckpoints {
  const { store, logger } = options;
  // Restore progress: bytes of parts read, reported while a restore is under way.
  let onPartRead: ((bytes: number) => void) | undefined;
  const observed: CheckpointStore = {
    get description() {
      return store.description;
    },
    putPart: (name, bytes) => store.putPart(name, bytes),
    getPart: async (name) => {
      const bytes = await store.getPart(name);
      onPartRead?.(bytes.length);
      return bytes;
    },
    ...(store.getPartRange === undefined
      ? {}
      : {
          getPartRange: async (name: string, offset: number, length: number) => {
            const bytes = await store.getPartRange!(name, offset, length);
            onPartRead?.(bytes.length);
            return bytes;
          },
        }),
    listParts: () => store.listParts(),
    deletePart: (name) => store.deletePart(name),
    readManifest: () => store.readManifest(),
    readPreviousManifests: () => store.readPreviousManifests(),
    commitManifest: (bytes, expectedRevision) => store.commitManifest(bytes, expectedRevision),
    clear: () => store.clear(),
    close: () => store.close(),
  };
  const checkpoints = createCheckpoints(observed, { jobId: options.jobId, mergeKeyGroupParts });
  let coordinator: CheckpointCoordinator | undefined;
  let leased = false;
  let clean = false;
  let closed = false;
  /** After requestStop: a failed write is the final checkpoint's, which fails the run with its own message. */
  let stopping = false;
  const coordinatorOf = (): CheckpointCoordinator => {
    if (coordinator === undefined) throw new Error('checkpoints used before restoreLatest()');
    return coordinator;
  };
  return {
    description: store.description,
    async restoreLatest(progress, read) {
      options.beforeLease?.();
      await checkpoints.acquireLease({ takeover: options.takeover ?? false });
      leased = true;
      if (checkpoints.manifestFallback !== undefined) logger.warn(checkpoints.manifestFallback.message);
      const latest = await checkpoints.latest();
      let restored: RestoredCheckpoint | undefined;
      if (latest !== undefined) {
        const total = latest.stats.bytesReferenced;
        let done = 0;
        progress?.(0, total);
        onPartRead = (bytes) => {
          done += bytes;
          progress?.(Math.min(done, total), total);
        };
        const loaded = await checkpoints.load(undefined, read).finally(() => (onPartRead = undefined));
        if (loaded !== undefined) {
          progress?.(total, total);
          for (const skipped of loaded.skipped) logger.warn(`skipped an unreadable checkpoint: ${skipped.message}`);
          restored = {
            id: loaded.info.id,
            createdAt: loaded.descriptor.createdAt,
            inputs: loaded.descriptor.inputs,
            sinks: loaded.descriptor.sinks,
            partitions: loaded.partitions,
            ...(loaded.descriptor.maxKeyGroups === undefined ? {} : { maxKeyGroups: loaded.descriptor.maxKeyGroups }),
            ...(loaded.descriptor.parallelism === undefined ? {} : { parallelism: loaded.descriptor.parallelism }),
          };
        }
      }
      const watermarks = restored?.partitions.map((p) => Number(p.restore.watermark)) ?? [];
      coordinator = createCheckpointCoordinator({
        checkpoints,
        trigger: {
          eventTimeIntervalMs: options.intervalMs,
          minSpacingMs: Math.min(1000, options.intervalMs),
          maxSpacingMs: options.intervalMs,
        },
        ...(watermarks.length === 0 ? {} : { initialWatermark: Math.min(...watermarks) }),
        onError: (error) => {
          if (error instanceof FencedError) options.onFatal(error);
          else if (!stopping)
            logger.warn(`checkpoint failed, retried at the next trigger with its changes: ${(error as Error).message}`);
        },
      });
      return restored;
    },
    committedDigest: (stage, partition) => checkpoints.committedDigest(stage, partition),
    due: (watermark) => coordinatorOf().due(watermark),
    ready: () => coordinatorOf().ready(),
    async start(snapshot, reason, beforeCommit) {
      const result = await coordinatorOf().start(snapshot, {
        reason: reason as never,
        ...(beforeCommit === undefined ? {} : { beforeCommit }),
      });
      if (result === undefined) return undefined;
      const { info } = result;
      return {
        id: info.id,
        bytesWritten: info.stats.bytesWritten,
        changedKeys: info.stats.changedKeys,
        kind: info.kind,
        committedAt: result.committedAt,
      };
    },
    get lastError() {
      return coordinator?.lastError;
    },
    requestStop: () => {
      stopping = true;
      coordinator?.requestStop();
    },
    get previousRunStopped() {
      return checkpoints.previousRunStopped;
    },
    rebase: (partitions) => checkpoints.rebase(partitions),
    stoppedCleanly: () => void (clean = true),
    async close() {
      if (closed) return;
      closed = true;
      try {
        await coordinator?.close();
        if (leased) await checkpoints.releaseLease({ replayPending: !clean });
      } finally {
        await checkpoints.close();
        await store.close();
      }
    },
  };
}
