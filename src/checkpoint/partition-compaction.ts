import type { MergeKeyGroupParts } from '../state/keyed-state-backend.ts';
import type { SegmentRef } from './checkpoint-descriptor.ts';
import type { Compression, EncodedEnvelope } from './envelope.ts';
import { EnvelopeKind, concatEnvelopes, decodeEnvelope, encodeEnvelope } from './envelope.ts';

/** One key group's share of a partition's new part. */
export interface GroupJob {
  readonly keyGroup: number;
  /**
   * Merge `base` (read from the job's parts) and `fresh` into one segment; otherwise append each fresh payload as its
   * own segment.
   */
  readonly compact: boolean;
  /**
   * When compacting: the segments of the key group's chain in the base checkpoint that are merged
   * (all of them, or the newer ones above a base segment that stays); otherwise the whole chain, unread.
   */
  readonly base: readonly SegmentRef[];
  /** Payloads captured since the base, oldest first. */
  readonly fresh: readonly Uint8Array[];
  /**
   * The merge keeps tombstones: it leaves older segments of the chain below it, whose keys a
   * tombstone must still delete at restore. @default false (the merge is the whole chain)
   */
  readonly keepTombstones?: boolean;
}

/** The key under which a job holds one segment read alone (a range of its part), see `PartitionJob.parts`. */
export function segmentKey(ref: SegmentRef): string {
  return `${ref.part}@${ref.offset}`;
}

/**
 * Everything needed to build one partition's part of a checkpoint: pure bytes in, bytes out, so it
 * runs the same on the processing thread or in the compaction worker.
 */
export interface PartitionJob {
  readonly compression: Compression;
  /** The base checkpoint's id, for error messages. */
  readonly baseCheckpointId: number | undefined;
  /**
   * The bytes the compacted groups' segments are read from: a whole part by its name, or one
   * segment alone (read as a range of its part) by `segmentKey(ref)`.
   */
  readonly parts: ReadonlyMap<string, Uint8Array>;
  /** Buffers behind several of `parts` that nothing outside this job holds: they may be moved too. */
  readonly owned?: ReadonlySet<ArrayBufferLike>;
  /** In key-group order. */
  readonly groups: readonly GroupJob[];
}

/** One segment of the built part, in the order of the job's groups (a compacted group has one). */
export interface BuiltSegment {
  readonly keyGroup: number;
  readonly offset: number;
  readonly length: number;
}

export interface PartitionPart {
  /** The part's bytes (empty when no group has a segment in it). */
  readonly bytes: Uint8Array;
  readonly segments: readonly BuiltSegment[];
}

/**
 * Builds a partition's part: compacted groups' chains verified (envelope CRC), merged and re-wrapped,
 * other groups' fresh payloads wrapped as they are. `between` runs after each group (the processing
 * thread yields there; a worker passes nothing).
 */
export async function buildPartitionPart(
  job: PartitionJob,
  merge: MergeKeyGroupParts,
  between?: () => Promise<void>,
): Promise<PartitionPart> {
  const envelopes: EncodedEnvelope[] = [];
  const keyGroups: number[] = [];
  const options = (keyGroup: number) => ({ compression: job.compression, keyGroup });
  for (const group of job.groups) {
    if (group.compact) {
      const chain: Uint8Array[] = [];
      for (const ref of group.base) {
        const alone = job.parts.get(segmentKey(ref));
        const bytes = alone ?? job.parts.get(ref.part);
        if (bytes === undefined)
          throw new Error(`compaction job for key group ${group.keyGroup} lacks base part ${ref.part}`);
        const where =
          job.baseCheckpointId === undefined
            ? { part: ref.part }
            : { part: ref.part, checkpointId: job.baseCheckpointId };
        const offset = alone === undefined ? ref.offset : 0;
        chain.push((await decodeEnvelope(bytes, EnvelopeKind.KEY_GROUP, where, offset, ref.length)).payload);
      }
      chain.push(...group.fresh);
      const merged = merge(chain, { keepTombstones: group.keepTombstones === true });
      envelopes.push(await encodeEnvelope(EnvelopeKind.KEY_GROUP, merged, options(group.keyGroup)));
      keyGroups.push(group.keyGroup);
    } else {
      for (const payload of group.fresh) {
        envelopes.push(await encodeEnvelope(EnvelopeKind.KEY_GROUP, payload, options(group.keyGroup)));
        keyGroups.push(group.keyGroup);
      }
    }
    if (between !== undefined) await between();
  }
  if (envelopes.length === 0) return { bytes: new Uint8Array(0), segments: [] };
  const { bytes, offsets } = concatEnvelopes(envelopes);
  return {
    bytes,
    segments: envelopes.map((e, i) => ({ keyGroup: keyGroups[i]!, offset: offsets[i]!, length: e.byteLength })),
  };
}

/** Whether `bytes` spans its whole (non-shared) buffer, so transferring the buffer moves exactly these bytes. */
export function wholeBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
}
