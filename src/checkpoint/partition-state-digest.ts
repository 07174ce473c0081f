import { createHash } from 'node:crypto';
import type { CheckpointDescriptor, PartitionCheckpoint } from './checkpoint-descriptor.ts';

/**
 * A name for the keyed state one partition holds in a checkpoint: a SHA-256 over the job, the key
 * group count, the stage and partition, and every key group's chain of segments (part names carry
 * the checkpoint id and a random nonce, and a stored part is never rewritten). Two checkpoints give
 * a partition the same digest only when they reference the very same segments, that is the same
 * state. A local working copy records it to prove which state it holds (the disk backend's warm
 * copy), since the copy itself is never the source of truth.
 */
export function partitionStateDigest(descriptor: CheckpointDescriptor, partition: PartitionCheckpoint): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify([descriptor.jobId, descriptor.maxKeyGroups ?? null, partition.stage, partition.partition]),
  );
  for (const keyGroup of [...partition.keyGroups.keys()].sort((a, b) => a - b)) {
    const chain = partition.keyGroups.get(keyGroup)!;
    hash.update(JSON.stringify([keyGroup, chain.map((ref) => [ref.part, ref.offset, ref.length])]));
  }
  return hash.digest('hex');
}
