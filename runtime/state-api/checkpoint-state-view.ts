import { createCheckpoints } from '../../src/checkpoint/index.ts';
import type { Checkpoints, CheckpointStore } from '../../src/checkpoint/index.ts';
import { mergeKeyGroupParts } from '../../src/state/index.ts';
import { createTaskRunner } from '../../src/task/index.ts';
import type { TaskRunner } from '../../src/task/index.ts';
import type { Job } from '../job/job.ts';
import type { KeyRead } from './state-owner.ts';
import { readKey } from './state-owner.ts';
import type { ProcessStep, StateStore } from './state-stores.ts';
import { newTask } from '../task-runners.ts';

type Runner = TaskRunner<unknown, unknown, unknown>;

/** Decoded keys kept per checkpoint; past this many the cache starts over. */
const CACHED_READS = 100_000;

/** What an eventual read answers: the keys as of the latest committed checkpoint. */
export interface CheckpointRead {
  /** The checkpoint read (undefined: the job has none yet, every key is absent). */
  readonly checkpointId: number | undefined;
  readonly keys: readonly KeyRead[];
}

/** Where eventual reads come from: the job's checkpoints (one chain, or one per unit of a scaled-out job). */
export interface EventualStateView {
  /** The keys as of the latest committed checkpoint that holds them. */
  read(store: StateStore, keyTexts: readonly string[]): Promise<{ readonly keys: readonly KeyRead[] }>;
  /**
   * The same answer as read() when it needs no wait (the checkpoint is loaded and the store's state
   * restored), else undefined: call read(). Most eventual reads are answered so, without a promise.
   */
  readNow(store: StateStore, keyTexts: readonly string[]): readonly KeyRead[] | undefined;
  /** Drops what it restored. Idempotent. */
  close(): Promise<void>;
}

export interface CheckpointStateViewOptions {
  readonly job: Job;
  /** The id the checkpoints were written under. @default the job's name */
  readonly jobId?: string;
  /** The job's checkpoint store (read only: no lease is taken, so the job may run meanwhile). */
  readonly store: CheckpointStore;
  /** How old the answer to "which checkpoint is the latest" may be. @default 250 */
  readonly refreshMs?: number;
}

interface Loaded {
  readonly id: number | undefined;
  readonly stages: Map<string, Promise<Runner>>;
  /** The runners of `stages` that are open, for reads that do not wait. */
  readonly opened: Map<string, Runner>;
  /** Keys already read from this checkpoint (its state never changes), by store and key. */
  readonly reads: Map<string, KeyRead>;
  readonly restoreFor: (step: ProcessStep) => Map<number, readonly Uint8Array[]>;
  readonly watermarks: (step: ProcessStep) => number;
}

/**
 * Eventual reads: a job's keyed state as of its latest committed checkpoint, readable by any process
 * (the job may run elsewhere, or not at all). Each stage's state is restored once per checkpoint into
 * a runner of a fresh task instance (restore is lazy per key group, so this costs about reading the
 * checkpoint's bytes); which checkpoint is the latest is looked up at most every `refreshMs`.
 */
export class CheckpointStateView implements EventualStateView {
  private readonly checkpoints: Checkpoints;
  private readonly refreshMs: number;
  private ready: Loaded | undefined;
  private refreshing: Promise<void> | undefined;
  private lastError: unknown;
  private checkedAt = 0;
  private closed = false;

  constructor(private readonly options: CheckpointStateViewOptions) {
    this.checkpoints = createCheckpoints(options.store, {
      jobId: options.jobId ?? options.job.name,
      mergeKeyGroupParts,
    });
    this.refreshMs = options.refreshMs ?? 250;
  }

  readNow(store: StateStore, keyTexts: readonly string[]): readonly KeyRead[] | undefined {
    const loaded = this.ready;
    if (loaded === undefined || this.closed) return undefined;
    this.refreshWhenDue();
    if (loaded.id === undefined) return keyTexts.map((key) => ({ key }));
    const runner = loaded.opened.get(store.stage.name);
    if (runner === undefined) return undefined;
    return keyTexts.length === 1
      ? [this.cachedRead(loaded, runner, store, keyTexts[0]!)]
      : keyTexts.map((key) => this.cachedRead(loaded, runner, store, key));
  }

  async read(store: StateStore, keyTexts: readonly string[]): Promise<CheckpointRead> {
    const loaded = await this.current();
    if (loaded.id === undefined) return { checkpointId: undefined, keys: keyTexts.map((key) => ({ key })) };
    let runner = loaded.stages.get(store.stage.name);
    if (runner === undefined) {
      runner = this.openRunner(store.stage, loaded);
      loaded.stages.set(store.stage.name, runner);
    }
    const ready = await runner;
    return { checkpointId: loaded.id, keys: keyTexts.map((key) => this.cachedRead(loaded, ready, store, key)) };
  }

  /** A key as this checkpoint holds it: decoded (value and ETag) once, then answered from memory. */
  private cachedRead(loaded: Loaded, runner: Runner, store: StateStore, key: string): KeyRead {
    const cacheKey = `${store.stage.name}\u0000${key}`;
    let read = loaded.reads.get(cacheKey);
    if (read === undefined) {
      read = readKey(runner, store, key);
      if (loaded.reads.size >= CACHED_READS) loaded.reads.clear();
      loaded.reads.set(cacheKey, read);
    }
    return read;
  }

  /** Drops the restored state. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.refreshing;
    if (this.ready !== undefined) await closeRunners(this.ready);
  }

  /**
   * The newest checkpoint loaded. Once one is, reads never wait for the next: the lookup (every
   * refreshMs) and the load of a newer checkpoint run in the background, and reads are answered
   * from the one before until it is ready (both are committed: an eventual read may lag).
   */
  private async current(): Promise<Loaded> {
    if (this.ready === undefined) {
      await this.startRefresh();
      if (this.ready === undefined) throw this.lastError;
      return this.ready;
    }
    this.refreshWhenDue();
    return this.ready;
  }

  /** Looks up the latest checkpoint in the background once refreshMs passed since the last look. */
  private refreshWhenDue(): void {
    if (this.refreshing === undefined && Date.now() - this.checkedAt >= this.refreshMs) void this.startRefresh();
  }

  private startRefresh(): Promise<void> {
    this.refreshing ??= (async () => {
      this.checkedAt = Date.now();
      try {
        const previous = this.ready;
        const next = await this.refresh(previous);
        if (next !== previous && previous !== undefined) {
          // The stages read so far are restored before the switch, so no read waits for it.
          for (const stage of previous.stages.keys()) {
            const step = this.options.job.steps.find((s): s is ProcessStep => s.kind === 'process' && s.name === stage);
            if (step !== undefined) next.stages.set(stage, this.openRunner(step, next));
          }
          await Promise.all(next.stages.values());
        }
        if (this.closed) {
          if (next !== previous) await closeRunners(next);
          return;
        }
        this.ready = next;
        if (previous !== undefined && previous !== next) void closeRunners(previous);
      } catch (error) {
        // Answered from the checkpoint loaded before; looked up again after refreshMs.
        this.lastError = error;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async refresh(before: Loaded | undefined): Promise<Loaded> {
    const latest = await this.checkpoints.latest();
    if (before !== undefined && before.id === latest?.id) return before;
    if (latest === undefined) return emptyLoaded();
    const restored = await this.checkpoints.load();
    if (restored === undefined) return emptyLoaded();
    return {
      id: restored.info.id,
      stages: new Map(),
      opened: new Map(),
      reads: new Map(),
      restoreFor: (step) => {
        const keyGroups = new Map<number, readonly Uint8Array[]>();
        for (const part of restored.partitions)
          if (part.stage === step.name)
            for (const [group, chain] of part.restore.keyGroups) keyGroups.set(group, chain);
        return keyGroups;
      },
      watermarks: (step) => {
        const watermarks = restored.partitions
          .filter((p) => p.stage === step.name)
          .map((p) => Number(p.restore.watermark));
        return watermarks.length === 0 ? -Number.MAX_VALUE : Math.min(...watermarks);
      },
    };
  }

  /** A runner holding every key group of the stage (one partition of all), opened so its tags are bound. */
  private async openRunner(step: ProcessStep, loaded: Loaded): Promise<Runner> {
    const runner = createTaskRunner(newTask(step), {
      keyCoder: step.keyCoder,
      maxKeyGroups: this.options.job.maxKeyGroups,
      partition: 0,
      parallelism: 1,
      output: () => {},
    });
    runner.restore({ watermark: loaded.watermarks(step), processingTime: 0, keyGroups: loaded.restoreFor(step) });
    await runner.open();
    loaded.opened.set(step.name, runner);
    return runner;
  }
}

function emptyLoaded(): Loaded {
  return {
    id: undefined,
    stages: new Map(),
    opened: new Map(),
    reads: new Map(),
    restoreFor: () => new Map(),
    watermarks: () => 0,
  };
}

async function closeRunners(loaded: Loaded): Promise<void> {
  for (const runner of loaded.stages.values()) {
    try {
      await (await runner).close();
    } catch {
      // A task's close() failing on a read-only copy changes nothing.
    }
  }
}
