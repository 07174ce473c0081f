import type { TaskRestore } from '../task/task-runner.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import type { CheckpointDescriptor } from './checkpoint-descriptor.ts';
import { decodeDescriptor } from './checkpoint-descriptor.ts';
import { EnvelopeKind, decodeEnvelope } from './envelope.ts';
import { CheckpointCorruptError, CheckpointPartMissingError } from './errors.ts';
import type { CheckpointInfo } from './manifest.ts';

/** One partition's restore, ready for `TaskRunner.restore`. */
export interface PartitionRestore {
  readonly stage: string;
  readonly partition: number;
  readonly restore: TaskRestore;
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
  const { payload } = await decodeEnvelope(descriptorBytes, EnvelopeKind.DESCRIPTOR, { part: info.descriptor, checkpointId: info.id });
  const descriptor = decodeDescriptor(payload, info.descriptor);
  if (descriptor.id !== info.id) {
    throw new CheckpointCorruptError(info.descriptor, `describes checkpoint ${descriptor.id}, the manifest lists it as ${info.id}`);
  }

  const names = new Set<string>();
  for (const p of descriptor.partitions) for (const chain of p.keyGroups.values()) for (const ref of chain) names.add(ref.part);
  const queue = [...names];
  const workers = Array.from({ length: Math.min(READ_CONCURRENCY, queue.length) }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) await fetch(name);
  });
  await Promise.all(workers);

  const partitions: PartitionRestore[] = [];
  for (const p of descriptor.partitions) {
    const keyGroups = new Map<number, readonly Uint8Array[]>();
    for (const [kg, chain] of p.keyGroups) {
      const payloads: Uint8Array[] = [];
      for (const ref of chain) {
        const bytes = await fetch(ref.part);
        const decoded = await decodeEnvelope(bytes, EnvelopeKind.KEY_GROUP, { part: ref.part, checkpointId: info.id }, ref.offset, ref.length);
        if (decoded.keyGroup !== kg) {
          throw new CheckpointCorruptError(ref.part, `segment at offset ${ref.offset} holds key group ${decoded.keyGroup}, expected ${kg}`, {
            checkpointId: info.id,
          });
        }
        payloads.push(decoded.payload);
      }
      keyGroups.set(kg, payloads);
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
  const { payload } = await decodeEnvelope(bytes, EnvelopeKind.DESCRIPTOR, { part: info.descriptor, checkpointId: info.id });
  return decodeDescriptor(payload, info.descriptor);
}
