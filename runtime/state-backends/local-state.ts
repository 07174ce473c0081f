import { readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { StateTierOptions } from '../../src/state/index.ts';
import type { CheckpointDescriptor, PartitionCheckpoint } from '../../src/checkpoint/index.ts';
import type { Job } from '../job/job.ts';
import { LifecycleError } from '../errors.ts';
import { LmdbStateStore } from './lmdb-state-store.ts';

/** Where keyed state lives while a job runs: all on the heap, or a bounded heap cache over local disk. */
export type StateBackendKind = 'heap' | 'disk';

/** The disk backend's heap budget when none is given: 256 MiB for all the process's partitions. */
export const DEFAULT_STATE_MEMORY_BYTES = 256 * 1024 * 1024;

/** Options of openLocalState. */
export interface LocalStateOptions {
  readonly stateDir: string;
  readonly job: Job;
  /** @default 'heap' */
  readonly backend?: StateBackendKind;
  /** Heap budget of keyed state for the whole process, split evenly over the partitions. @default 256 MiB */
  readonly memoryBytes?: number;
  /**
   * A worker of a scaled-out job: its working copies go to `local/workers/<host>-<pid>/`, so workers
   * sharing a state directory on one host never touch each other's (copies left by workers of this
   * host that no longer run are removed).
   */
  readonly perWorker?: boolean;
}

/** A partition whose local copy holds exactly a checkpoint's state (see LocalState.markWarm). */
export interface WarmCopy {
  readonly stage: string;
  readonly partition: number;
  /** partitionStateDigest of that state. */
  readonly digest: string;
}

/**
 * The local working copies of a job's partitions under the disk backend: one LMDB environment per
 * (stage, partition) in `<state-dir>/<job>/local/<stage>-<partition>/`. Checkpoints stay the source
 * of truth: a copy is made fresh when its task runner is made (a restore then fills it from the
 * checkpoint), unless it is a **warm copy** of the very state being restored. A copy is warm only
 * when a run that stopped after its final checkpoint wrote its whole state back into it, synced it
 * and marked it with the digest of that checkpoint's state of the partition (markWarm); the mark
 * is removed durably before the copy is written again, so a copy a crash left behind is never
 * taken for a checkpoint's state.
 */
export class LocalState {
  private readonly stores = new Map<string, LmdbStateStore>();
  private readonly perPartitionBytes: number;
  private closed = false;
  /** Copies the restore takes as they are (see reuse). */
  private warm = new Set<string>();

  /** The directory of the working copies. */
  readonly dir: string;

  get backend(): StateBackendKind {
    return this.options.backend ?? 'heap';
  }

  constructor(private readonly options: LocalStateOptions) {
    const partitions = options.job.steps.reduce((n, step) => n + (step.kind === 'process' ? step.parallelism : 0), 0);
    this.perPartitionBytes = (options.memoryBytes ?? DEFAULT_STATE_MEMORY_BYTES) / Math.max(1, partitions);
    const local = join(options.stateDir, options.job.name, 'local');
    this.dir = options.perWorker === true ? join(local, 'workers', `${hostname()}-${process.pid}`) : local;
  }

  /**
   * Whether the partition's local copy is a warm copy holding exactly `digest`'s state, in the
   * job's current layout (the checkpoint reader's ReadOptions.reuseLocal). Reads the copy's mark
   * only. Never for a scaled-out worker (its copies last one process) or a copy this process opened.
   */
  holdsState(partition: PartitionCheckpoint, digest: string, descriptor: CheckpointDescriptor): boolean {
    if (this.backend !== 'disk' || this.options.perWorker === true || this.closed) return false;
    const { job } = this.options;
    const step = job.steps.find((s) => s.name === partition.stage);
    if (step?.kind !== 'process' || descriptor.maxKeyGroups !== job.maxKeyGroups) return false;
    if (descriptor.parallelism?.[partition.stage] !== step.parallelism) return false;
    const name = storeName(partition.stage, partition.partition);
    if (this.stores.has(name)) return false;
    return LmdbStateStore.warmDigest(join(this.dir, name)) === digest;
  }

  /**
   * The partitions whose warm copy serves the restore (those the checkpoint reader skipped:
   * PartitionRestore.reusesLocalCopy): tierFor opens them as they are. Every other copy is made afresh.
   */
  reuse(partitions: Iterable<{ readonly stage: string; readonly partition: number }>): void {
    this.warm = new Set([...partitions].map((p) => storeName(p.stage, p.partition)));
  }

  /**
   * The tier of a partition's backend (undefined under the heap backend): its warm copy when
   * `reuse` named it, else a fresh store.
   */
  tierFor(stage: string, partition: number): StateTierOptions | undefined {
    if ((this.options.backend ?? 'heap') === 'heap') return undefined;
    if (this.closed)
      throw new LifecycleError('the local state stores are closed: make a new LocalState for another run');
    if (this.stores.size === 0 && this.options.perWorker === true) this.removeStaleWorkerCopies();
    const name = storeName(stage, partition);
    let store = this.stores.get(name);
    if (store === undefined && this.warm.delete(name)) {
      store = LmdbStateStore.openWarm(join(this.dir, name));
      this.stores.set(name, store);
      return { store, memoryBytes: this.perPartitionBytes, reused: true };
    }
    if (store === undefined) {
      store = LmdbStateStore.openFresh(join(this.dir, name));
      this.stores.set(name, store);
    } else {
      store.clear();
    }
    return { store, memoryBytes: this.perPartitionBytes };
  }

  /**
   * Marks copies warm: each holds, synced to disk, exactly the state named by its digest (its
   * backend wrote its whole state back after the final checkpoint, and nothing writes to it before
   * close). A scaled-out worker's copies are removed at close instead.
   */
  async markWarm(copies: readonly WarmCopy[]): Promise<void> {
    if (this.options.perWorker === true) return;
    for (const copy of copies) await this.stores.get(storeName(copy.stage, copy.partition))?.markWarm(copy.digest);
  }

  /** Removes the copies of workers of this host whose process is gone (a worker killed before it cleaned up). */
  private removeStaleWorkerCopies(): void {
    const workers = join(this.dir, '..');
    let names: string[];
    try {
      names = readdirSync(workers);
    } catch {
      return;
    }
    const prefix = `${hostname()}-`;
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number(name.slice(prefix.length));
      if (!Number.isSafeInteger(pid) || pid === process.pid || isAlive(pid)) continue;
      rmSync(join(workers, name), { recursive: true, force: true });
    }
  }

  /** Closes every store; idempotent. The working copies stay on disk (the next run reuses or replaces them). */
  async close(): Promise<void> {
    this.closed = true;
    const stores = [...this.stores.values()];
    this.stores.clear();
    await Promise.all(stores.map((s) => s.close()));
    // A worker's copies are named after its process: no later run reads them.
    if (this.options.perWorker === true) rmSync(this.dir, { recursive: true, force: true });
  }
}

function storeName(stage: string, partition: number): string {
  return `${encodeURIComponent(stage)}-${partition}`;
}

/** Whether a process with this pid runs on this host (signal 0 checks without sending). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
