import type { CapturedChanges } from '../state/keyed-state-backend.ts';
import type { TaskCapture } from '../task/task-runner.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import type { CheckpointDescriptor, PartitionCheckpoint, SegmentRef } from './checkpoint-descriptor.ts';
import { encodeDescriptor } from './checkpoint-descriptor.ts';
import type { ResolvedCheckpointsOptions } from './checkpoint-options.ts';
import type { Compactor } from './compactor.ts';
import { EnvelopeKind, encodeEnvelope, envelopeBytes } from './envelope.ts';
import { planCompaction, type GroupChain } from './compaction-plan.ts';
import { segmentKey, wholeBuffer, type GroupJob } from './partition-compaction.ts';
import { CheckpointConfigError } from './errors.ts';

/** One partition of one stage, as captured between two turns. */
export interface PartitionSnapshot {
  readonly stage: string;
  readonly partition: number;
  readonly capture: TaskCapture;
}

/**
 * What the runtime captured for one checkpoint of the whole job, all at one instant between turns:
 * every partition's changes, and the input positions those changes cover.
 */
export interface CheckpointSnapshot {
  /** Last processed position per input partition; the input resumes at position + 1. */
  readonly inputs: Readonly<Record<string, number>>;
  /** Every partition of every stage of the job (one missing from the snapshot is dropped from the checkpoint). */
  readonly partitions: readonly PartitionSnapshot[];
  /** Opaque per-sink records for output dedupe, e.g. the committed output file length. */
  readonly sinks?: Readonly<Record<string, Uint8Array>>;
  /** Capture time (epoch millis); default: the clock at write. */
  readonly createdAt?: number;
  /** Key groups per keyed stage (recorded, so a restore can refuse state hashed into another count). */
  readonly maxKeyGroups?: number;
  /** Partitions of each keyed stage (recorded, so a unit of a scaled-out job can tell a changed layout). */
  readonly parallelism?: Readonly<Record<string, number>>;
}

export function partitionKey(stage: string, partition: number): string {
  return `${stage}\u0000${partition}`;
}

/** Gives the event loop a turn: encoding and compaction run between processing turns, not in one block. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// Work between two yields of a long loop: yielding per item would cost a whole turn of a busy loop
// per item (under backlog a runtime's turn takes tens of ms), making a checkpoint's write crawl.
const SLICE_MS = 4;

/** Yields to the event loop when `SLICE_MS` of work went by since the last yield, else resolves at once. */
function timeSlicer(): () => Promise<void> {
  let since = Date.now();
  return async () => {
    if (Date.now() - since < SLICE_MS) return;
    await yieldToLoop();
    since = Date.now();
  };
}

export interface WriteInput {
  readonly store: CheckpointStore;
  readonly options: ResolvedCheckpointsOptions;
  readonly id: number;
  /** Random per attempt, so a retried checkpoint id never rewrites a part name with other bytes. */
  readonly nonce: string;
  readonly createdAt: number;
  readonly base: CheckpointDescriptor | undefined;
  readonly snapshot: CheckpointSnapshot;
  /** Per partition, the changes to write, oldest first: those of failed earlier attempts, then the snapshot's. */
  readonly changes: ReadonlyMap<string, readonly CapturedChanges[]>;
  readonly full: boolean;
  /** Builds each partition's part (merging chains when compacting). */
  readonly compactor: Compactor;
  /**
   * Per partition, whole key groups restored from another layout (a rescale), as payload chains: written
   * as this checkpoint's own segments, before the partition's changes, since `base` no longer fits.
   */
  readonly seeds?: ReadonlyMap<string, ReadonlyMap<number, readonly Uint8Array[]>>;
}

export interface WriteOutput {
  readonly descriptor: CheckpointDescriptor;
  readonly descriptorPart: string;
}

/**
 * Writes the parts of one checkpoint: per partition one part holding an envelope per changed key
 * group (or per compacted key group), then the descriptor. Does not commit: the caller commits the
 * manifest, so a failure here leaves only unreferenced parts.
 */
export async function writeCheckpointParts(input: WriteInput): Promise<WriteOutput> {
  const { store, options, id, nonce, base, snapshot, compactor } = input;
  validateSnapshot(snapshot);
  const prefix = `c${String(id).padStart(10, '0')}-${nonce}`;
  const stages = [...new Set(snapshot.partitions.map((p) => p.stage))].sort();
  const baseByKey = new Map(base?.partitions.map((p) => [partitionKey(p.stage, p.partition), p]) ?? []);
  const ordered = [...snapshot.partitions].sort((a, b) =>
    a.stage === b.stage ? a.partition - b.partition : a.stage < b.stage ? -1 : 1,
  );

  let partsWritten = 0;
  let bytesWritten = 0;
  let changedKeys = 0;
  const partitions: PartitionCheckpoint[] = [];
  const uploads: Promise<void>[] = [];
  for (const snap of ordered) {
    const key = partitionKey(snap.stage, snap.partition);
    const partName = `${prefix}-s${stages.indexOf(snap.stage)}-p${snap.partition}`;
    const changes = input.changes.get(key) ?? [snap.capture.state];
    for (const c of changes) changedKeys += c.changedKeys;
    const baseChains = baseByKey.get(key)?.keyGroups ?? new Map<number, readonly SegmentRef[]>();
    const seeded = input.seeds?.get(key);
    const keyGroups = new Set<number>(baseChains.keys());
    for (const kg of seeded?.keys() ?? []) keyGroups.add(kg);
    for (const c of changes) for (const kg of c.keyGroups) keyGroups.add(kg);

    // The processing thread only assembles the job (fresh payloads are the 1% that changed) and
    // reads the segments to merge; verifying, merging and wrapping run in the compactor (a worker
    // thread for the state layer's merge), so a compaction neither blocks turns nor fills this heap.
    const chains: GroupChain[] = [];
    const slice = timeSlicer();
    for (const kg of [...keyGroups].sort((a, b) => a - b)) {
      const fresh: Uint8Array[] = [...(seeded?.get(kg) ?? [])];
      for (const c of changes) if (c.keyGroups.includes(kg)) fresh.push(c.encodeKeyGroup(kg));
      chains.push({ keyGroup: kg, base: baseChains.get(kg) ?? [], fresh });
      if (fresh.length > 0) await slice();
    }
    const plans = planCompaction(chains, {
      full: input.full,
      compactionRatio: options.compactionRatio,
      maxChainLength: options.maxChainLength,
    });
    const groups: GroupJob[] = [];
    const toRead: SegmentRef[] = [];
    chains.forEach((chain, i) => {
      const plan = plans[i]!;
      if (!plan.merge) {
        groups.push({ keyGroup: chain.keyGroup, compact: false, base: chain.base, fresh: chain.fresh });
        return;
      }
      const merged = chain.base.slice(plan.from);
      toRead.push(...merged);
      groups.push({
        keyGroup: chain.keyGroup,
        compact: true,
        base: merged,
        fresh: chain.fresh,
        ...(plan.from > 0 ? { keepTombstones: true } : {}),
      });
    });
    const { parts, owned } = await readSegments(store, toRead);
    const built = await compactor.build(
      { compression: options.compression, baseCheckpointId: base?.id, parts, owned, groups },
      slice,
    );

    const resolved = new Map<number, readonly SegmentRef[]>();
    let next = 0;
    const take = (): SegmentRef => {
      const segment = built.segments[next++]!;
      return { part: partName, offset: segment.offset, length: segment.length };
    };
    groups.forEach((group, i) => {
      const plan = plans[i]!;
      if (plan.merge) resolved.set(group.keyGroup, [...chains[i]!.base.slice(0, plan.from), take()]);
      else resolved.set(group.keyGroup, [...group.base, ...group.fresh.map(take)]);
    });
    if (built.segments.length > 0) {
      // Uploaded while the next partition is built, and the descriptor beside them.
      const upload = store.putPart(partName, built.bytes);
      // Awaited below; until then a failure must not count as unhandled (the loop awaits meanwhile).
      upload.catch(() => {});
      uploads.push(upload);
      partsWritten++;
      bytesWritten += built.bytes.length;
    }
    partitions.push({
      stage: snap.stage,
      partition: snap.partition,
      watermark: snap.capture.watermark,
      processingTime: snap.capture.processingTime,
      keyGroups: resolved,
    });
  }

  let bytesReferenced = 0;
  let keyGroupCount = 0;
  let maxChainLength = 0;
  let fullyCompacted = true;
  for (const p of partitions) {
    for (const chain of p.keyGroups.values()) {
      keyGroupCount++;
      maxChainLength = Math.max(maxChainLength, chain.length);
      if (chain.length > 1) fullyCompacted = false;
      for (const ref of chain) bytesReferenced += ref.length;
    }
  }
  const kind = fullyCompacted ? 'full' : 'incremental';
  const descriptorPart = `${prefix}-descriptor`;
  const descriptorWithoutSize = {
    jobId: options.jobId,
    id,
    createdAt: input.createdAt,
    kind,
    parentId: base?.id,
    incrementsSinceFull: kind === 'full' ? 0 : (base?.incrementsSinceFull ?? 0) + 1,
    inputs: { ...snapshot.inputs },
    sinks: { ...(snapshot.sinks ?? {}) },
    partitions,
    ...(snapshot.maxKeyGroups === undefined ? {} : { maxKeyGroups: snapshot.maxKeyGroups }),
    ...(snapshot.parallelism === undefined ? {} : { parallelism: { ...snapshot.parallelism } }),
  } as const;
  const descriptor: CheckpointDescriptor = {
    ...descriptorWithoutSize,
    stats: { changedKeys, partsWritten, bytesWritten, bytesReferenced, keyGroups: keyGroupCount, maxChainLength },
  };
  const descriptorBytes = envelopeBytes(
    await encodeEnvelope(EnvelopeKind.DESCRIPTOR, encodeDescriptor(descriptor), { compression: options.compression }),
  );
  // Only the manifest names the descriptor, and it is committed after this resolves: the
  // descriptor need not wait for the parts it names (whichever fails, no manifest refers to any).
  uploads.push(store.putPart(descriptorPart, descriptorBytes));
  await Promise.all(uploads);
  return { descriptor, descriptorPart };
}

/**
 * Reads the segments a compaction merges, by `segmentKey`, when the store reads ranges, so compacting
 * a few key groups does not read the whole parts they were written in; otherwise each part once,
 * whole (by name). A checkpoint writes a partition's key groups one after another, so the segments a
 * merge takes from one part are mostly adjacent: each run of adjacent ones is one read, and its
 * segments are views of that read's buffer, which only this job holds (`owned`: the compactor may move it).
 */
async function readSegments(
  store: CheckpointStore,
  refs: readonly SegmentRef[],
): Promise<{ parts: Map<string, Uint8Array>; owned: Set<ArrayBufferLike> }> {
  const parts = new Map<string, Uint8Array>();
  const owned = new Set<ArrayBufferLike>();
  const readRange = store.getPartRange?.bind(store);
  if (readRange === undefined) {
    const names = new Set(refs.map((r) => r.part));
    await Promise.all([...names].map(async (name) => parts.set(name, await store.getPart(name))));
    return { parts, owned };
  }
  // A few at a time: a compaction may read thousands of runs.
  const queue = adjacentRuns(refs);
  const reader = async (): Promise<void> => {
    for (let run = queue.pop(); run !== undefined; run = queue.pop()) {
      const bytes = await readRange(run.part, run.offset, run.end - run.offset);
      if (run.refs.length > 1 && wholeBuffer(bytes)) owned.add(bytes.buffer);
      for (const ref of run.refs) {
        const from = ref.offset - run.offset;
        parts.set(segmentKey(ref), run.refs.length === 1 ? bytes : bytes.subarray(from, from + ref.length));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RANGE_READERS, queue.length) }, reader));
  return { parts, owned };
}

interface RangeRun {
  readonly part: string;
  readonly offset: number;
  end: number;
  readonly refs: SegmentRef[];
}

/** The segments grouped into runs of adjacent (or overlapping) byte ranges of the same part. */
export function adjacentRuns(refs: readonly SegmentRef[]): RangeRun[] {
  const sorted = [...refs].sort((a, b) => (a.part === b.part ? a.offset - b.offset : a.part < b.part ? -1 : 1));
  const runs: RangeRun[] = [];
  let run: RangeRun | undefined;
  for (const ref of sorted) {
    if (run !== undefined && run.part === ref.part && ref.offset <= run.end) {
      run.end = Math.max(run.end, ref.offset + ref.length);
      run.refs.push(ref);
    } else {
      run = { part: ref.part, offset: ref.offset, end: ref.offset + ref.length, refs: [ref] };
      runs.push(run);
    }
  }
  return runs;
}

const RANGE_READERS = 8;

function validateSnapshot(snapshot: CheckpointSnapshot): void {
  const seen = new Set<string>();
  for (const p of snapshot.partitions) {
    if (typeof p.stage !== 'string' || p.stage.length === 0) {
      throw new CheckpointConfigError(
        'a checkpoint snapshot has a partition with an empty stage name; name every stage',
      );
    }
    if (!Number.isInteger(p.partition) || p.partition < 0) {
      throw new CheckpointConfigError(`stage ${p.stage} has partition ${p.partition}; partitions are integers >= 0`);
    }
    const key = partitionKey(p.stage, p.partition);
    if (seen.has(key))
      throw new CheckpointConfigError(`stage ${p.stage} partition ${p.partition} appears twice in one snapshot`);
    seen.add(key);
  }
  for (const [input, position] of Object.entries(snapshot.inputs)) {
    if (!Number.isFinite(position)) {
      throw new CheckpointConfigError(`input ${input} has position ${position}; positions are finite numbers`);
    }
  }
}
