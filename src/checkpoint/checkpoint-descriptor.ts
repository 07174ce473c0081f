import { Packr } from 'msgpackr';
import { normalizeInstant, type Instant } from '../../coders/index.ts';
import { CheckpointCorruptError } from './errors.ts';

/**
 * Where one key group's increment (or compacted base) is: an envelope at `offset`, `length` bytes
 * long (header included), inside the stored part `part`.
 */
export interface SegmentRef {
  readonly part: string;
  readonly offset: number;
  readonly length: number;
}

/** The state of one partition of one stage at a checkpoint. */
export interface PartitionCheckpoint {
  readonly stage: string;
  readonly partition: number;
  /** Input watermark of the partition at capture (epoch millis; a bigint for Beam's sentinels). */
  readonly watermark: Instant;
  /** Processing time of the partition at capture (epoch millis). */
  readonly processingTime: Instant;
  /** Each key group's chain of segments, oldest first (a base then increments). */
  readonly keyGroups: ReadonlyMap<number, readonly SegmentRef[]>;
}

/** Sizes of a checkpoint, for logs and benchmarks. */
export interface CheckpointStats {
  /** Keys changed since the previous checkpoint, over all partitions. */
  readonly changedKeys: number;
  /** State parts (files/objects) this checkpoint wrote, not counting its descriptor. */
  readonly partsWritten: number;
  /** Bytes of state parts this checkpoint wrote, not counting its descriptor. */
  readonly bytesWritten: number;
  /** Bytes of all segments a restore of this checkpoint reads. */
  readonly bytesReferenced: number;
  /** Key groups holding state, over all partitions. */
  readonly keyGroups: number;
  /** The longest key-group chain. */
  readonly maxChainLength: number;
}

/**
 * Everything needed to restore one checkpoint of a whole job in one process, stored as an immutable
 * part (kind DESCRIPTOR) written after the state parts and before the manifest that lists it. The
 * manifest stays small however many partitions and key groups a job has.
 *
 * The consistency rule: the state in `partitions` is exactly the state after processing each input
 * partition up to and including `inputs[input]`; resume every input at position + 1.
 */
export interface CheckpointDescriptor {
  readonly jobId: string;
  readonly id: number;
  /** Wall-clock time the checkpoint was captured (epoch millis). */
  readonly createdAt: number;
  /** `full`: every chain has length 1 (compacted); `incremental`: built on `parentId`. */
  readonly kind: 'full' | 'incremental';
  readonly parentId: number | undefined;
  /** Increments since the last full checkpoint (0 for a full one). */
  readonly incrementsSinceFull: number;
  /** Last processed position per input partition (JetStream stream sequence, file offset...). */
  readonly inputs: Readonly<Record<string, number>>;
  /** Opaque records the sinks need for output dedupe (committed file length, last output id...). */
  readonly sinks: Readonly<Record<string, Uint8Array>>;
  readonly partitions: readonly PartitionCheckpoint[];
  readonly stats: CheckpointStats;
  /** Key groups per keyed stage when the state was captured (absent in checkpoints of older versions). */
  readonly maxKeyGroups?: number;
  /** Partitions of each keyed stage when the state was captured (absent in checkpoints of older versions). */
  readonly parallelism?: Readonly<Record<string, number>>;
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const DESCRIPTOR_FORMAT = 1;

// On disk, part names are interned in a table and each chain is a flat number array
// [partIndex, offset, length, ...]: a chain's parts repeat across key groups and partitions, and a
// flat array keeps the descriptor small and fast to decode at 128 key groups x many partitions.
interface StoredDescriptor {
  format: number;
  jobId: string;
  id: number;
  createdAt: number;
  kind: 'full' | 'incremental';
  parentId: number | null;
  incrementsSinceFull: number;
  inputs: Record<string, number>;
  sinks: Record<string, Uint8Array>;
  parts: string[];
  partitions: Array<{
    stage: string;
    partition: number;
    watermark: Instant;
    processingTime: Instant;
    keyGroups: number[];
    chains: number[][];
  }>;
  stats: CheckpointStats;
  maxKeyGroups?: number;
  parallelism?: Record<string, number>;
}

export function encodeDescriptor(descriptor: CheckpointDescriptor): Uint8Array {
  const parts: string[] = [];
  const partIndex = new Map<string, number>();
  const intern = (name: string): number => {
    let index = partIndex.get(name);
    if (index === undefined) {
      index = parts.length;
      parts.push(name);
      partIndex.set(name, index);
    }
    return index;
  };
  const stored: StoredDescriptor = {
    format: DESCRIPTOR_FORMAT,
    jobId: descriptor.jobId,
    id: descriptor.id,
    createdAt: descriptor.createdAt,
    kind: descriptor.kind,
    parentId: descriptor.parentId ?? null,
    incrementsSinceFull: descriptor.incrementsSinceFull,
    inputs: { ...descriptor.inputs },
    sinks: { ...descriptor.sinks },
    parts,
    partitions: descriptor.partitions.map((p) => {
      const keyGroups = [...p.keyGroups.keys()].sort((a, b) => a - b);
      return {
        stage: p.stage,
        partition: p.partition,
        watermark: p.watermark,
        processingTime: p.processingTime,
        keyGroups,
        chains: keyGroups.map((kg) => {
          // A loop, not flatMap: no array per segment (a chain may be hundreds long).
          const chain = p.keyGroups.get(kg)!;
          const flat = new Array<number>(chain.length * 3);
          for (let i = 0; i < chain.length; i++) {
            const ref = chain[i]!;
            flat[3 * i] = intern(ref.part);
            flat[3 * i + 1] = ref.offset;
            flat[3 * i + 2] = ref.length;
          }
          return flat;
        }),
      };
    }),
    stats: descriptor.stats,
    ...(descriptor.maxKeyGroups === undefined ? {} : { maxKeyGroups: descriptor.maxKeyGroups }),
    ...(descriptor.parallelism === undefined ? {} : { parallelism: { ...descriptor.parallelism } }),
  };
  return packr.pack(stored);
}

export function decodeDescriptor(bytes: Uint8Array, partName: string): CheckpointDescriptor {
  const corrupt = (problem: string, cause?: unknown): CheckpointCorruptError =>
    new CheckpointCorruptError(
      partName,
      `checkpoint descriptor ${problem}`,
      cause === undefined ? undefined : { cause },
    );
  let raw: StoredDescriptor;
  try {
    raw = packr.unpack(bytes) as StoredDescriptor;
  } catch (error) {
    throw corrupt('is not valid msgpack', error);
  }
  if (typeof raw !== 'object' || raw === null || raw.format !== DESCRIPTOR_FORMAT) {
    throw corrupt(`has format ${String((raw as { format?: unknown } | null)?.format)}, expected ${DESCRIPTOR_FORMAT}`);
  }
  if (!Array.isArray(raw.parts) || !Array.isArray(raw.partitions) || typeof raw.id !== 'number') {
    throw corrupt('lacks parts, partitions or id');
  }
  const partitions = raw.partitions.map((p): PartitionCheckpoint => {
    if (!Array.isArray(p.keyGroups) || !Array.isArray(p.chains) || p.keyGroups.length !== p.chains.length) {
      throw corrupt(`partition ${p.stage}/${p.partition} has mismatched key groups and chains`);
    }
    const keyGroups = new Map<number, SegmentRef[]>();
    p.keyGroups.forEach((kg, i) => {
      const flat = p.chains[i]!;
      if (flat.length % 3 !== 0) throw corrupt(`chain of key group ${kg} is malformed`);
      const chain: SegmentRef[] = [];
      for (let j = 0; j < flat.length; j += 3) {
        const part = raw.parts[flat[j]!];
        if (part === undefined)
          throw corrupt(`chain of key group ${kg} names part #${flat[j]}, which is not in its table`);
        chain.push({ part, offset: flat[j + 1]!, length: flat[j + 2]! });
      }
      keyGroups.set(kg, chain);
    });
    return {
      stage: p.stage,
      partition: p.partition,
      watermark: normalizeInstant(p.watermark),
      processingTime: normalizeInstant(p.processingTime),
      keyGroups,
    };
  });
  const sinks: Record<string, Uint8Array> = {};
  for (const [name, record] of Object.entries(raw.sinks ?? {})) sinks[name] = new Uint8Array(record);
  return {
    jobId: raw.jobId,
    id: raw.id,
    createdAt: raw.createdAt,
    kind: raw.kind,
    parentId: raw.parentId ?? undefined,
    incrementsSinceFull: raw.incrementsSinceFull,
    inputs: raw.inputs ?? {},
    sinks,
    partitions,
    stats: raw.stats,
    ...(typeof raw.maxKeyGroups === 'number' ? { maxKeyGroups: raw.maxKeyGroups } : {}),
    ...(typeof raw.parallelism === 'object' && raw.parallelism !== null ? { parallelism: raw.parallelism } : {}),
  };
}

/** Every part a descriptor references (its segments' parts; not the descriptor itself). */
export function referencedParts(descriptor: CheckpointDescriptor): Set<string> {
  const parts = new Set<string>();
  for (const partition of descriptor.partitions) {
    for (const chain of partition.keyGroups.values()) for (const ref of chain) parts.add(ref.part);
  }
  return parts;
}
