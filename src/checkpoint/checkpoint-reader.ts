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
  const fetch = (name: string, read = () => store.getPart(name)): Promise<Uint8Array> => {
    let bytes = cache.get(name);
    if (bytes === undefined) {
      bytes = read();
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
  const decode = async (bytes: Uint8Array, ref: SegmentRef, at: number): Promise<void> => {
    const decoded = await decodeEnvelope(
      bytes,
      EnvelopeKind.KEY_GROUP,
      { part: ref.part, checkpointId: info.id },
      at,
      ref.length,
    );
    // The envelope's CRC covered exactly these bytes: the state layer need not checksum them again.
    markPartVerified(decoded.payload);
    payloads.set(ref, decoded);
  };
  const verify = async (name: string): Promise<void> => {
    const refs = refsByPart.get(name)!;
    const readRange = store.getPartRange?.bind(store);
    if (readRange === undefined) {
      const bytes = await fetch(name);
      for (const ref of refs) await decode(bytes, ref, ref.offset);
      return;
    }
    // Only the referenced ranges: size-triggered compaction leaves parts of which a checkpoint
    // references a few segments.
    for (const span of spans(refs)) {
      const bytes = await fetch(`${name}@${span.offset}+${span.length}`, () =>
        readRange(name, span.offset, span.length),
      );
      for (const ref of span.refs) await decode(bytes, ref, ref.offset - span.offset);
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

// Referenced ranges of a part closer than this are read as one span.
const SPAN_GAP_BYTES = 256 * 1024;

/** A part's referenced segments as spans to read: in offset order, neighbours closer than SPAN_GAP_BYTES joined. */
function spans(refs: readonly SegmentRef[]): { offset: number; length: number; refs: SegmentRef[] }[] {
  const out: { offset: number; length: number; refs: SegmentRef[] }[] = [];
  for (const ref of [...refs].sort((a, b) => a.offset - b.offset)) {
    const last = out.at(-1);
    if (last !== undefined && ref.offset - (last.offset + last.length) <= SPAN_GAP_BYTES) {
      last.length = Math.max(last.length, ref.offset + ref.length - last.offset);
      last.refs.push(ref);
    } else {
      out.push({ offset: ref.offset, length: ref.length, refs: [ref] });
    }
  }
  return out;
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
