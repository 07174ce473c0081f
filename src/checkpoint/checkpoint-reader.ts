import type { TaskRestore } from '../task/task-runner.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import { markPartVerified } from '../state/key-group-part.ts';
import type { CheckpointDescriptor, PartitionCheckpoint, SegmentRef } from './checkpoint-descriptor.ts';
import { partitionStateDigest } from './partition-state-digest.ts';
import { decodeDescriptor } from './checkpoint-descriptor.ts';
import { EnvelopeKind, decodeEnvelope } from './envelope.ts';
import { CheckpointCorruptError, CheckpointPartMissingError } from './errors.ts';
import type { CheckpointInfo } from './manifest.ts';

/** One partition's restore, ready for `TaskRunner.restore`. */
export interface PartitionRestore {
  readonly stage: string;
  readonly partition: number;
  /**
   * Its state is served by a local copy that holds exactly this checkpoint's state of the partition
   * (see ReadOptions.reuseLocal): none of its parts were read, and `restore.keyGroups` is empty.
   */
  readonly reusesLocalCopy?: boolean;
  readonly restore: TaskRestore;
}

/** Options of readCheckpoint and Checkpoints.load. */
export interface ReadOptions {
  /**
   * Asked once per partition of the checkpoint, with the digest of its state
   * (partitionStateDigest): true when a local copy holding exactly that state will serve it, so its
   * parts are not read.
   */
  readonly reuseLocal?: (partition: PartitionCheckpoint, digest: string, descriptor: CheckpointDescriptor) => boolean;
}

/** A verified checkpoint: every part it references was read and its checksum checked. */
export interface VerifiedCheckpoint {
  readonly info: CheckpointInfo;
  readonly descriptor: CheckpointDescriptor;
  readonly partitions: readonly PartitionRestore[];
}

/** Parts fetched concurrently during a restore, to overlap store latency. */
const READ_CONCURRENCY = 8;

/** Whether an error means "this checkpoint is unusable, try an older one" (as opposed to a store outage). */
export function isUnreadableCheckpoint(error: unknown): error is CheckpointCorruptError | CheckpointPartMissingError {
  return error instanceof CheckpointCorruptError || error instanceof CheckpointPartMissingError;
}

/**
 * Reads one checkpoint and verifies every segment it references. Parts already fetched (by an earlier
 * attempt in the same restore) are taken from `cache`.
 * @throws CheckpointCorruptError or CheckpointPartMissingError when any byte of it is unusable.
 */
export async function readCheckpoint(
  store: CheckpointStore,
  info: CheckpointInfo,
  cache: Map<string, Promise<Uint8Array>> = new Map(),
  options: ReadOptions = {},
): Promise<VerifiedCheckpoint> {
  const fetch = (name: string): Promise<Uint8Array> => {
    let bytes = cache.get(name);
    if (bytes === undefined) {
      bytes = store.getPart(name);
      cache.set(name, bytes);
      // A failed read must not poison a retry of the same part in a later attempt.
      void bytes.catch(() => cache.delete(name));
    }
    return bytes;
  };
  const descriptorBytes = await fetch(info.descriptor);
  const { payload } = await decodeEnvelope(descriptorBytes, EnvelopeKind.DESCRIPTOR, {
    part: info.descriptor,
    checkpointId: info.id,
  });
  const descriptor = decodeDescriptor(payload, info.descriptor);
  if (descriptor.id !== info.id) {
    throw new CheckpointCorruptError(
      info.descriptor,
      `describes checkpoint ${descriptor.id}, the manifest lists it as ${info.id}`,
    );
  }

  // Segments grouped by part, so each part is verified as soon as it arrives: checksums of the
  // parts already read overlap the reads still in flight instead of following all of them.
  const refsByPart = new Map<string, SegmentRef[]>();
  const reused = new Set<PartitionCheckpoint>();
  for (const p of descriptor.partitions) {
    if (options.reuseLocal?.(p, partitionStateDigest(descriptor, p), descriptor) === true) {
      reused.add(p);
      continue;
    }
    for (const chain of p.keyGroups.values()) {
      for (const ref of chain) {
        let refs = refsByPart.get(ref.part);
        if (refs === undefined) refsByPart.set(ref.part, (refs = []));
        refs.push(ref);
      }
    }
  }
  const payloads = new Map<SegmentRef, { payload: Uint8Array; keyGroup: number }>();
  const verify = async (name: string): Promise<void> => {
    const bytes = await fetch(name);
    for (const ref of refsByPart.get(name)!) {
      const decoded = await decodeEnvelope(
        bytes,
        EnvelopeKind.KEY_GROUP,
        { part: name, checkpointId: info.id },
        ref.offset,
        ref.length,
      );
      // The envelope's CRC covered exactly these bytes: the state layer need not checksum them again.
      markPartVerified(decoded.payload);
      payloads.set(ref, decoded);
    }
  };
  const queue = [...refsByPart.keys()];
  const workers = Array.from({ length: Math.min(READ_CONCURRENCY, queue.length) }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) await verify(name);
  });
  await Promise.all(workers);

  const partitions: PartitionRestore[] = [];
  for (const p of descriptor.partitions) {
    const keyGroups = new Map<number, readonly Uint8Array[]>();
    if (reused.has(p)) {
      partitions.push({
        stage: p.stage,
        partition: p.partition,
        reusesLocalCopy: true,
        restore: { watermark: p.watermark, processingTime: p.processingTime, keyGroups },
      });
      continue;
    }
    for (const [kg, chain] of p.keyGroups) {
      const chainPayloads: Uint8Array[] = [];
      for (const ref of chain) {
        const decoded = payloads.get(ref)!;
        if (decoded.keyGroup !== kg) {
          throw new CheckpointCorruptError(
            ref.part,
            `segment at offset ${ref.offset} holds key group ${decoded.keyGroup}, expected ${kg}`,
            {
              checkpointId: info.id,
            },
          );
        }
        chainPayloads.push(decoded.payload);
      }
      keyGroups.set(kg, chainPayloads);
    }
    partitions.push({
      stage: p.stage,
      partition: p.partition,
      restore: { watermark: p.watermark, processingTime: p.processingTime, keyGroups },
    });
  }
  return { info, descriptor, partitions };
}

/** Reads just the descriptor of a checkpoint (verified), for retention and listing. */
export async function readDescriptor(store: CheckpointStore, info: CheckpointInfo): Promise<CheckpointDescriptor> {
  const bytes = await store.getPart(info.descriptor);
  const { payload } = await decodeEnvelope(bytes, EnvelopeKind.DESCRIPTOR, {
    part: info.descriptor,
    checkpointId: info.id,
  });
  return decodeDescriptor(payload, info.descriptor);
}
