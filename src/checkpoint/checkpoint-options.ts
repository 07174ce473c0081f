import type { MergeKeyGroupParts } from '../state/keyed-state-backend.ts';
import type { Compression } from './envelope.ts';
import { CheckpointConfigError } from './errors.ts';

/** How this process identifies itself in a lease, and checks whether another local process lives. */
export interface ProcessIdentity {
  readonly pid: number;
  readonly hostname: string;
  /** Whether a process with this pid runs on this host. */
  isAlive(pid: number): boolean;
}

/** Options of `createCheckpoints`. */
export interface CheckpointsOptions {
  /** The job's id; recorded in the manifest, which must match on later runs. */
  readonly jobId: string;
  /** The state layer's part merge (compaction), see src/state. */
  readonly mergeKeyGroupParts: MergeKeyGroupParts;
  /**
   * Compression of key-group segments and descriptors.
   * @default 'none' — restore speed and CPU on the processing host matter more than bytes for local
   * files; choose 'gzip' when the store is remote (JetStream) or disk is scarce.
   */
  readonly compression?: Compression;
  /** Complete checkpoints kept; older ones and the parts only they use are deleted. @default 3 */
  readonly retain?: number;
  /**
   * Write a full (compacted) checkpoint after this many incremental ones. A full checkpoint rewrites
   * the whole state: by default none is written by count, key groups are compacted by size instead
   * (`compactionRatio`). @default undefined (never by count)
   */
  readonly fullEvery?: number;
  /**
   * Compact a key group (merge its chain into one segment) once the bytes of its increments reach
   * this fraction of its base segment's, as an LSM tree does: rewriting a large base is paid for by
   * as many bytes of changes. Bounds what a restore reads to about (1 + ratio) times the state.
   * @default 1
   */
  readonly compactionRatio?: number;
  /**
   * A key group whose chain would grow longer than this has its newer increments merged into one
   * (tiered by size, the base left in place), so a restore reads at most this many segments per
   * key group. @default 8
   */
  readonly maxChainLength?: number;
  /** A lease not renewed for this long is expired (another host may take over). @default 30000 */
  readonly leaseTtlMs?: number;
  /** Wall clock (epoch millis). @default Date.now */
  readonly clock?: () => number;
  /** @default this process (process.pid, os.hostname(), signal-0 probe) */
  readonly processIdentity?: ProcessIdentity;
}

export interface ResolvedCheckpointsOptions {
  readonly jobId: string;
  readonly mergeKeyGroupParts: MergeKeyGroupParts;
  readonly compression: Compression;
  readonly retain: number;
  readonly fullEvery: number | undefined;
  readonly compactionRatio: number;
  readonly maxChainLength: number;
  readonly leaseTtlMs: number;
  readonly clock: () => number;
  readonly processIdentity: ProcessIdentity | undefined;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new CheckpointConfigError(`checkpoint option ${name} is ${value}; it must be an integer >= 1`);
  }
  return value;
}

function positiveNumber(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new CheckpointConfigError(`checkpoint option ${name} is ${value}; it must be a number > 0`);
  }
  return value;
}

export function resolveCheckpointsOptions(options: CheckpointsOptions): ResolvedCheckpointsOptions {
  if (typeof options.jobId !== 'string' || options.jobId.length === 0) {
    throw new CheckpointConfigError('checkpoint option jobId is empty; pass the job name');
  }
  if (typeof options.mergeKeyGroupParts !== 'function') {
    throw new CheckpointConfigError(
      "checkpoint option mergeKeyGroupParts is missing; pass the state layer's mergeKeyGroupParts",
    );
  }
  const compression = options.compression ?? 'none';
  if (!['none', 'gzip', 'brotli'].includes(compression)) {
    throw new CheckpointConfigError(
      `checkpoint compression ${String(compression)} is unknown; use none, gzip or brotli`,
    );
  }
  return {
    jobId: options.jobId,
    mergeKeyGroupParts: options.mergeKeyGroupParts,
    compression,
    retain: positiveInteger('retain', options.retain ?? 3),
    fullEvery: options.fullEvery === undefined ? undefined : positiveInteger('fullEvery', options.fullEvery),
    compactionRatio: positiveNumber('compactionRatio', options.compactionRatio ?? 1),
    maxChainLength: positiveInteger('maxChainLength', options.maxChainLength ?? 8),
    leaseTtlMs: positiveInteger('leaseTtlMs', options.leaseTtlMs ?? 30_000),
    clock: options.clock ?? Date.now,
    processIdentity: options.processIdentity,
  };
}
