import { randomBytes } from 'node:crypto';
import type { CapturedChanges } from '../state/keyed-state-backend.ts';
import type { TaskRestore } from '../task/task-runner.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import type { CheckpointDescriptor } from './checkpoint-descriptor.ts';
import type { CheckpointsOptions, ProcessIdentity, ResolvedCheckpointsOptions } from './checkpoint-options.ts';
import { resolveCheckpointsOptions } from './checkpoint-options.ts';
import type { ReadOptions, VerifiedCheckpoint } from './checkpoint-reader.ts';
import { isUnreadableCheckpoint, readCheckpoint, readDescriptor } from './checkpoint-reader.ts';
import type { CheckpointSnapshot } from './checkpoint-writer.ts';
import { partitionKey, writeCheckpointParts } from './checkpoint-writer.ts';
import { createCompactor, type Compactor } from './compactor.ts';
import type { CheckpointPartMissingError } from './errors.ts';
import {
  CheckpointConfigError,
  CheckpointCorruptError,
  CheckpointNotFoundError,
  FencedError,
  JobRunningError,
} from './errors.ts';
import { currentProcessIdentity, describeLease, isLeaseLive } from './lease.ts';
import type { CheckpointInfo, Manifest } from './manifest.ts';
import { decodeManifest, encodeManifest } from './manifest.ts';
import { newestCheckpoints, unreferencedParts } from './retention.ts';
import { partitionStateDigest } from './partition-state-digest.ts';

/**
 * A loaded checkpoint, verified, with the newer ones that had to be skipped (the runtime turns it into
 * its RestoredCheckpoint).
 */
export interface LoadedCheckpoint extends VerifiedCheckpoint {
  /** Newer checkpoints that failed verification and were skipped, newest first (log them). */
  readonly skipped: readonly (CheckpointCorruptError | CheckpointPartMissingError)[];
  /** The restore of one partition, or undefined when the checkpoint has none for it (a new partition). */
  restoreFor(stage: string, partition: number): TaskRestore | undefined;
}

/** Options of one `write`. */
export interface WriteOptions {
  /**
   * Awaited after the parts are written and before the manifest commit: the place to wait until the
   * outputs this checkpoint covers are acknowledged, so a committed checkpoint never covers lost output.
   */
  readonly beforeCommit?: () => Promise<void>;
  /** Write a full (compacted) checkpoint now. */
  readonly full?: boolean;
}

/** What a prune removed. */
export interface PruneResult {
  /** Checkpoints dropped from the manifest. */
  readonly removedCheckpoints: readonly number[];
  /** Parts deleted: those no retained checkpoint references, orphans included. */
  readonly deletedParts: readonly string[];
  /** Parts whose deletion failed (retried at the next prune), or why deletion was skipped. */
  readonly failures: readonly string[];
}

export interface WriteResult {
  readonly info: CheckpointInfo;
  /** When the manifest naming it was committed (epoch millis), before unreferenced parts were deleted. */
  readonly committedAt: number;
  readonly pruned: PruneResult;
}

/**
 * The checkpoints of one job in one store: atomic commit, latest, list, load, prune, clear.
 *
 * Writes are incremental: each builds on the checkpoint `load` restored (or on the previous write),
 * writing only the key groups that changed. A key group's chain is compacted when its increments'
 * bytes reach `compactionRatio` of its base (within a per-checkpoint budget, so a large state is
 * rewritten a little at a time), its newer increments are merged when it would grow past
 * `maxChainLength`, and every chain when `fullEvery` is set and reached. Operations are serialized
 * in call order.
 *
 * Fencing: the instance remembers the manifest revision it read or last committed; when another
 * writer committed in between, `write` (and every later call) throws FencedError: stop the job.
 */
export interface Checkpoints {
  readonly jobId: string;
  readonly store: CheckpointStore;

  /**
   * Set once the current manifest was found corrupt and an earlier one the store kept was used
   * instead (log it: checkpoints committed only in the corrupt one are lost). Undefined otherwise.
   */
  readonly manifestFallback: CheckpointCorruptError | undefined;

  /** Retained checkpoints, oldest first, as currently committed in the store. */
  list(): Promise<readonly CheckpointInfo[]>;
  /** The newest retained checkpoint, or undefined. */
  latest(): Promise<CheckpointInfo | undefined>;

  /**
   * Loads checkpoint `id` (default: the newest), verifying every part. When it is corrupt or has a
   * missing part, falls back to the next older one and reports the skipped ones in `skipped`. The
   * next `write` builds on the loaded checkpoint, and drops the newer (skipped or abandoned) ones.
   * @returns undefined when no checkpoint exists.
   * @throws CheckpointNotFoundError when `id` is not retained; CheckpointCorruptError when no
   * retained checkpoint at or before it is readable.
   */
  load(id?: number, options?: ReadOptions): Promise<LoadedCheckpoint | undefined>;

  /**
   * The digest (partitionStateDigest) of one partition's state in the checkpoint that holds exactly
   * the state captured so far: the one loaded or last committed, when every capture written since
   * went into a committed checkpoint. Undefined when changes wait for the next write (a failed
   * write, a rebase), before a load, or when that checkpoint has no such partition.
   */
  committedDigest(stage: string, partition: number): string | undefined;

  /**
   * Writes a checkpoint of `snapshot` and commits it (compare-and-set), then deletes the parts no
   * retained checkpoint references. On a retryable failure the snapshot's changes are kept and
   * written with the next snapshot.
   * @throws FencedError when another writer committed: stop the job.
   */
  write(snapshot: CheckpointSnapshot, options?: WriteOptions): Promise<WriteResult>;

  /** Keeps the newest `keep` (default: `retain`) checkpoints and deletes every unreferenced part, orphans included. */
  prune(keep?: number): Promise<PruneResult>;

  /**
   * Removes all checkpoints of the job (Quix's clear_state()).
   * @throws JobRunningError while a live lease holds the job.
   */
  clear(): Promise<void>;

  /**
   * Marks the job as running by this process (a lease in the manifest). With `takeover`, a live
   * lease of another process is replaced (the caller decided ownership elsewhere, e.g. a scaled-out
   * job's group lease): the manifest's new revision fences that process's next commit.
   * @throws JobRunningError when another live process holds it (without `takeover`).
   */
  acquireLease(options?: { readonly takeover?: boolean }): Promise<void>;
  /** Renews the lease; call every `leaseTtlMs / 3` or so. */
  renewLease(): Promise<void>;
  /**
   * Releases the lease (graceful stop). With `replayPending`, the run may have emitted outputs its
   * last checkpoint does not cover (it failed, or stopped without a final checkpoint): the lease is
   * left in the manifest, expired, so the next run sees `previousRunStopped` false, as after a crash.
   */
  releaseLease(options?: { readonly replayPending?: boolean }): Promise<void>;

  /**
   * Whether the lease `acquireLease` replaced was released by its holder (true: the previous run
   * stopped at a final checkpoint, or there was none), or left behind by a run that died or failed
   * (false; see `releaseLease`). Undefined before `acquireLease`.
   */
  readonly previousRunStopped: boolean | undefined;

  /**
   * Restarts the chain after a restore into another layout (a stage's parallelism changed): the
   * next write builds on nothing and writes `partitions`' key groups (payload chains, as restored)
   * as its own segments, compacted, together with the changes since. Partitions are in the new
   * layout; a write that fails keeps them for the next one.
   */
  rebase(partitions: readonly PartitionSeed[]): Promise<void>;

  /** Releases the lease when held; the store stays open (its owner closes it). Idempotent. */
  close(): Promise<void>;
}

/** One partition's restored key groups in a new layout (see `Checkpoints.rebase`). */
export interface PartitionSeed {
  readonly stage: string;
  readonly partition: number;
  readonly keyGroups: ReadonlyMap<number, readonly Uint8Array[]>;
}

const emptyPrune: PruneResult = { removedCheckpoints: [], deletedParts: [], failures: [] };

class CheckpointsImpl implements Checkpoints {
  readonly jobId: string;
  readonly store: CheckpointStore;
  private readonly options: ResolvedCheckpointsOptions;
  private readonly self: ProcessIdentity;
  private readonly holder = randomBytes(8).toString('hex');
  private tail: Promise<unknown> = Promise.resolve();
  private opened = false;
  private manifest: Manifest;
  private revision: number | undefined;
  private base: CheckpointDescriptor | undefined;
  /** Checkpoints newer than this are not part of the current history (skipped or rolled back). */
  private cutoff = Infinity;
  private readonly descriptors = new Map<number, CheckpointDescriptor>();
  /** Changes captured by snapshots whose write failed, per partition, oldest first. */
  private carry = new Map<string, CapturedChanges[]>();
  private fenced: FencedError | undefined;
  manifestFallback: CheckpointCorruptError | undefined;
  private leaseHeld = false;
  previousRunStopped: boolean | undefined;
  /** Restored key groups the next write must write whole (after a rebase), per partition. */
  private seeds: Map<string, ReadonlyMap<number, readonly Uint8Array[]>> | undefined;
  private closed = false;
  private readonly compactor: Compactor;
  /** Writes called and not finished (queued or under way): their captures are not committed yet. */
  private writes = 0;

  constructor(store: CheckpointStore, options: ResolvedCheckpointsOptions) {
    this.store = store;
    this.options = options;
    this.compactor = createCompactor(options.mergeKeyGroupParts);
    this.jobId = options.jobId;
    this.self = options.processIdentity ?? currentProcessIdentity();
    this.manifest = this.emptyManifest();
  }

  private emptyManifest(): Manifest {
    return { jobId: this.jobId, nextId: 1, checkpoints: [], lease: undefined };
  }

  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      if (this.closed)
        throw new CheckpointConfigError(`checkpoints of job ${this.jobId} were closed; create a new instance`);
      if (this.fenced !== undefined) throw this.fenced;
      return operation();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async readStored(): Promise<{ manifest: Manifest; revision: number | undefined }> {
    const stored = await this.store.readManifest();
    if (stored === undefined) return { manifest: this.emptyManifest(), revision: undefined };
    let manifest: Manifest;
    try {
      manifest = this.checkJob(await decodeManifest(stored.bytes));
    } catch (error) {
      if (!(error instanceof CheckpointCorruptError)) throw error;
      manifest = await this.previousManifest(error);
    }
    // After a fallback too: the next commit replaces the corrupt manifest, fenced on its revision.
    return { manifest, revision: stored.revision };
  }

  private checkJob(manifest: Manifest): Manifest {
    if (manifest.jobId !== this.jobId) {
      throw new CheckpointConfigError(
        `${this.store.description} holds checkpoints of job ${manifest.jobId}, not ${this.jobId}; point the job at its own state directory or bucket`,
      );
    }
    return manifest;
  }

  /**
   * The newest readable manifest the store kept before the corrupt current one, as parts fall back
   * to older checkpoints. Checkpoints committed only in the corrupt one are lost (their parts are
   * orphans, pruned later); ids stay unique because nextId moves past every part present.
   */
  private async previousManifest(corrupt: CheckpointCorruptError): Promise<Manifest> {
    const previous = await this.store.readPreviousManifests();
    for (const candidate of previous) {
      let manifest: Manifest;
      try {
        manifest = this.checkJob(await decodeManifest(candidate.bytes));
      } catch (error) {
        if (error instanceof CheckpointCorruptError) continue;
        throw error;
      }
      const highestPart = Math.max(0, ...(await this.store.listParts()).map(checkpointIdOfPart));
      this.manifestFallback = new CheckpointCorruptError('manifest', corrupt.problem, {
        cause: corrupt,
        outcome:
          `used the previous manifest (revision ${candidate.revision}, checkpoints ${manifest.checkpoints.map((c) => c.id).join(', ') || 'none'}) ` +
          'that the store keeps; checkpoints committed after it are lost and their input is processed again',
      });
      return { ...manifest, nextId: Math.max(manifest.nextId, highestPart + 1) };
    }
    throw new CheckpointCorruptError('manifest', corrupt.problem, {
      cause: corrupt,
      outcome:
        previous.length === 0
          ? 'the store keeps no earlier manifest to fall back to: restore the state from a backup, or clear the job state to start over'
          : `none of the ${previous.length} earlier manifests the store keeps is readable either: restore the state from a backup, or clear the job state to start over`,
    });
  }

  /** (Re)reads the manifest: the revision seen here is what the next commit is fenced against. */
  private async sync(): Promise<void> {
    const { manifest, revision } = await this.readStored();
    this.manifest = manifest;
    this.revision = revision;
    this.opened = true;
  }

  private async commit(next: Manifest): Promise<void> {
    try {
      this.revision = await this.store.commitManifest(await encodeManifest(next), this.revision);
      this.manifest = next;
    } catch (error) {
      if (error instanceof FencedError) this.fenced = error;
      throw error;
    }
  }

  async list(): Promise<readonly CheckpointInfo[]> {
    return (await this.readStored()).manifest.checkpoints;
  }

  async latest(): Promise<CheckpointInfo | undefined> {
    return (await this.list()).at(-1);
  }

  load(id?: number, options: ReadOptions = {}): Promise<LoadedCheckpoint | undefined> {
    return this.serial(async () => {
      await this.sync();
      const all = this.manifest.checkpoints;
      if (id !== undefined && !all.some((c) => c.id === id)) {
        throw new CheckpointNotFoundError(
          id,
          all.map((c) => c.id),
        );
      }
      const candidates = all.filter((c) => id === undefined || c.id <= id).sort((a, b) => b.id - a.id);
      this.carry.clear();
      this.seeds = undefined;
      if (candidates.length === 0) {
        this.base = undefined;
        this.cutoff = 0;
        return undefined;
      }
      const skipped: (CheckpointCorruptError | CheckpointPartMissingError)[] = [];
      // What is wrong with each, newest first: the one line a user gets must say it (the cause has the rest).
      const reasons: string[] = [];
      const cache = new Map<string, Promise<Uint8Array>>();
      for (const info of candidates) {
        try {
          const verified = await readCheckpoint(this.store, info, cache, options);
          this.base = verified.descriptor;
          this.cutoff = info.id;
          this.descriptors.set(info.id, verified.descriptor);
          const byKey = new Map(verified.partitions.map((p) => [partitionKey(p.stage, p.partition), p.restore]));
          return {
            ...verified,
            skipped,
            restoreFor: (stage: string, partition: number) => byKey.get(partitionKey(stage, partition)),
          };
        } catch (error) {
          if (!isUnreadableCheckpoint(error)) throw error;
          skipped.push(error);
          reasons.push(
            `checkpoint ${info.id}: part ${error.part} ${error instanceof CheckpointCorruptError ? `is corrupt: ${error.problem}` : 'is missing'}`,
          );
        }
      }
      throw new CheckpointCorruptError(
        'checkpoints',
        `none of the ${candidates.length} retained checkpoints (${candidates.map((c) => c.id).join(', ')}) is readable (${reasons.join('; ')})`,
        { cause: new AggregateError(skipped, 'every retained checkpoint failed verification') },
      );
    });
  }

  committedDigest(stage: string, partition: number): string | undefined {
    const base = this.base;
    if (
      base === undefined ||
      this.writes > 0 ||
      this.carry.size > 0 ||
      this.seeds !== undefined ||
      this.fenced !== undefined
    )
      return undefined;
    const p = base.partitions.find((c) => c.stage === stage && c.partition === partition);
    return p === undefined ? undefined : partitionStateDigest(base, p);
  }

  write(snapshot: CheckpointSnapshot, options?: WriteOptions): Promise<WriteResult> {
    this.writes++;
    const written = this.writeSerially(snapshot, options);
    const done = (): void => void this.writes--;
    written.then(done, done);
    return written;
  }

  private writeSerially(snapshot: CheckpointSnapshot, options: WriteOptions | undefined): Promise<WriteResult> {
    return this.serial(async () => {
      if (!this.opened) await this.sync();
      const manifest = this.manifest;
      const id = manifest.nextId;
      const changes = new Map<string, CapturedChanges[]>();
      for (const p of snapshot.partitions) {
        const key = partitionKey(p.stage, p.partition);
        changes.set(key, [...(this.carry.get(key) ?? []), p.capture.state]);
      }
      // The captures' records are written while processing goes on. One whose values do not encode
      // is void (its keys are changed again in their backend, for the next capture): no retry of
      // this write may carry it.
      const failed = await settleAll(changes);
      if (failed !== undefined) {
        this.carry = new Map([...changes].map(([key, list]) => [key, list.filter((c) => !failed.captures.has(c))]));
        throw failed.error;
      }
      const full =
        options?.full === true ||
        this.seeds !== undefined ||
        (this.base !== undefined &&
          this.options.fullEvery !== undefined &&
          this.base.incrementsSinceFull >= this.options.fullEvery);
      let info: CheckpointInfo;
      let descriptor: CheckpointDescriptor;
      try {
        const written = await writeCheckpointParts({
          store: this.store,
          options: this.options,
          id,
          nonce: randomBytes(3).toString('hex'),
          createdAt: snapshot.createdAt ?? this.options.clock(),
          base: this.base,
          snapshot,
          changes,
          full,
          compactor: this.compactor,
          ...(this.seeds === undefined ? {} : { seeds: this.seeds }),
        });
        descriptor = written.descriptor;
        info = {
          id,
          createdAt: descriptor.createdAt,
          kind: descriptor.kind,
          parentId: descriptor.parentId,
          incrementsSinceFull: descriptor.incrementsSinceFull,
          descriptor: written.descriptorPart,
          stats: descriptor.stats,
        };
        await options?.beforeCommit?.();
        const history = manifest.checkpoints.filter((c) => c.id <= this.cutoff);
        await this.commit({
          ...manifest,
          nextId: id + 1,
          checkpoints: newestCheckpoints([...history, info], this.options.retain),
        });
      } catch (error) {
        // Not written: those changes must go into the next checkpoint, or it would miss them.
        if (!(error instanceof FencedError)) this.carry = changes;
        throw error;
      }
      const committedAt = Date.now();
      this.carry = new Map();
      this.seeds = undefined;
      this.base = descriptor;
      this.cutoff = id;
      this.descriptors.set(id, descriptor);
      return { info, committedAt, pruned: await this.deleteUnreferenced([]) };
    });
  }

  prune(keep?: number): Promise<PruneResult> {
    const count = keep ?? this.options.retain;
    if (!Number.isInteger(count) || count < 1) {
      return Promise.reject(
        new CheckpointConfigError(`prune(keep) needs keep >= 1, got ${count}; use clear() to remove every checkpoint`),
      );
    }
    return this.serial(async () => {
      if (!this.opened) await this.sync();
      const history = this.manifest.checkpoints.filter((c) => c.id <= this.cutoff);
      const kept = newestCheckpoints(history, count);
      const removed = this.manifest.checkpoints.filter((c) => !kept.includes(c)).map((c) => c.id);
      if (removed.length > 0) await this.commit({ ...this.manifest, checkpoints: kept });
      return this.deleteUnreferenced(removed);
    });
  }

  /** Deletes every part no checkpoint in the committed manifest references. Never throws. */
  private async deleteUnreferenced(removedCheckpoints: readonly number[]): Promise<PruneResult> {
    const retained: { info: CheckpointInfo; descriptor: CheckpointDescriptor }[] = [];
    try {
      for (const info of this.manifest.checkpoints) {
        let descriptor = this.descriptors.get(info.id);
        if (descriptor === undefined) {
          descriptor = await readDescriptor(this.store, info);
          this.descriptors.set(info.id, descriptor);
        }
        retained.push({ info, descriptor });
      }
    } catch (error) {
      // Without every retained descriptor we cannot know what is referenced: delete nothing.
      return { ...emptyPrune, removedCheckpoints, failures: [`skipped deleting parts: ${(error as Error).message}`] };
    }
    const ids = new Set(this.manifest.checkpoints.map((c) => c.id));
    for (const id of this.descriptors.keys()) if (!ids.has(id)) this.descriptors.delete(id);
    let parts: string[];
    try {
      parts = await this.store.listParts();
    } catch (error) {
      return { ...emptyPrune, removedCheckpoints, failures: [`could not list parts: ${(error as Error).message}`] };
    }
    const deletedParts: string[] = [];
    const failures: string[] = [];
    for (const part of unreferencedParts(parts, retained)) {
      try {
        await this.store.deletePart(part);
        deletedParts.push(part);
      } catch (error) {
        failures.push(`${part}: ${(error as Error).message}`);
      }
    }
    return { removedCheckpoints, deletedParts, failures };
  }

  clear(): Promise<void> {
    return this.serial(async () => {
      const { manifest } = await this.readStored();
      if (isLeaseLive(manifest.lease, this.options.clock(), this.self)) {
        throw new JobRunningError(this.store.description, describeLease(manifest.lease!), 'clear the job state');
      }
      await this.store.clear();
      this.manifest = this.emptyManifest();
      this.revision = undefined;
      this.opened = true;
      this.base = undefined;
      this.cutoff = Infinity;
      this.descriptors.clear();
      this.carry = new Map();
      this.seeds = undefined;
    });
  }

  rebase(partitions: readonly PartitionSeed[]): Promise<void> {
    return this.serial(async () => {
      this.base = undefined;
      this.carry = new Map();
      this.seeds = new Map(partitions.map((p) => [partitionKey(p.stage, p.partition), p.keyGroups]));
    });
  }

  acquireLease(options: { readonly takeover?: boolean } = {}): Promise<void> {
    return this.serial(async () => {
      if (!this.opened) await this.sync();
      const current = this.manifest.lease;
      const now = this.options.clock();
      if (
        options.takeover !== true &&
        current !== undefined &&
        current.holder !== this.holder &&
        isLeaseLive(current, now, this.self)
      ) {
        throw new JobRunningError(this.store.description, describeLease(current), 'start the job');
      }
      this.previousRunStopped = current === undefined || current.holder === this.holder;
      await this.commit({
        ...this.manifest,
        lease: {
          holder: this.holder,
          pid: this.self.pid,
          hostname: this.self.hostname,
          acquiredAt: now,
          heartbeatAt: now,
          ttlMs: this.options.leaseTtlMs,
        },
      });
      this.leaseHeld = true;
    });
  }

  renewLease(): Promise<void> {
    return this.serial(async () => {
      const lease = this.manifest.lease;
      if (!this.leaseHeld || lease === undefined) {
        throw new CheckpointConfigError(`renewLease() without a lease on job ${this.jobId}; call acquireLease() first`);
      }
      await this.commit({ ...this.manifest, lease: { ...lease, heartbeatAt: this.options.clock() } });
    });
  }

  releaseLease(options: { readonly replayPending?: boolean } = {}): Promise<void> {
    return this.serial(async () => {
      if (!this.leaseHeld) return;
      const lease = this.manifest.lease;
      const expired = lease === undefined ? undefined : { ...lease, heartbeatAt: 0 };
      await this.commit({ ...this.manifest, lease: options.replayPending === true ? expired : undefined });
      this.leaseHeld = false;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.leaseHeld && this.fenced === undefined) await this.releaseLease().catch(() => undefined);
    this.closed = true;
    await this.compactor.close();
  }
}

/** Creates the checkpoint service of one job on `store`. */
export function createCheckpoints(store: CheckpointStore, options: CheckpointsOptions): Checkpoints {
  return new CheckpointsImpl(store, resolveCheckpointsOptions(options));
}

/** The checkpoint id in a part name (`c0000000042-...`), 0 for names of another form. */
function checkpointIdOfPart(name: string): number {
  const match = /^c(\d+)-/.exec(name);
  return match === null ? 0 : Number(match[1]);
}

/** Settles every capture; undefined when all did, else the failed ones and the first error. */
async function settleAll(
  changes: ReadonlyMap<string, readonly CapturedChanges[]>,
): Promise<{ captures: Set<CapturedChanges>; error: unknown } | undefined> {
  let failed: { captures: Set<CapturedChanges>; error: unknown } | undefined;
  for (const list of changes.values()) {
    for (const capture of list) {
      try {
        await capture.settle();
      } catch (error) {
        failed ??= { captures: new Set(), error };
        failed.captures.add(capture);
      }
    }
  }
  return failed;
}
