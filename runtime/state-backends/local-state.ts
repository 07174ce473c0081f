import { readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { StateTierOptions } from '../../src/state/index.ts';
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

/**
 * The local working copies of a job's partitions under the disk backend: one LMDB environment per
 * (stage, partition) in `<state-dir>/<job>/local/<stage>-<partition>/`, each made fresh when its
 * task runner is made (a restore then fills it from the checkpoint, so nothing of an earlier run is
 * read as current). Checkpoints stay the source of truth.
 */
export class LocalState {
  private readonly stores = new Map<string, LmdbStateStore>();
  private readonly perPartitionBytes: number;
  private closed = false;

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

  /** The tier of a partition's backend (undefined under the heap backend), with a fresh store. */
  tierFor(stage: string, partition: number): StateTierOptions | undefined {
    if ((this.options.backend ?? 'heap') === 'heap') return undefined;
    if (this.closed)
      throw new LifecycleError('the local state stores are closed: make a new LocalState for another run');
    if (this.stores.size === 0 && this.options.perWorker === true) this.removeStaleWorkerCopies();
    const name = `${encodeURIComponent(stage)}-${partition}`;
    let store = this.stores.get(name);
    if (store === undefined) {
      store = LmdbStateStore.openFresh(join(this.dir, name));
      this.stores.set(name, store);
    } else {
      store.clear();
    }
    return { store, memoryBytes: this.perPartitionBytes };
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

  /** Closes every store; idempotent. The working copies stay on disk (the next run replaces them). */
  async close(): Promise<void> {
    this.closed = true;
    const stores = [...this.stores.values()];
    this.stores.clear();
    await Promise.all(stores.map((s) => s.close()));
    // A worker's copies are named after its process: no later run reads them.
    if (this.options.perWorker === true) rmSync(this.dir, { recursive: true, force: true });
  }
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
