import { createCheckpoints } from '../../src/checkpoint/index.ts';
import type { Checkpoints, CheckpointStore } from '../../src/checkpoint/index.ts';
import { mergeKeyGroupParts } from '../../src/state/index.ts';
import { createTaskRunner } from '../../src/task/index.ts';
import type { StatefulTask, TaskRunner } from '../../src/task/index.ts';
import type { Job } from '../job/job.ts';
import type { KeyRead } from './state-owner.ts';
import { readKey } from './state-owner.ts';
import type { ProcessStep, StateStore } from './state-stores.ts';

type Runner = TaskRunner<unknown, unknown, unknown>;

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
  private loaded: Promise<Loaded> | undefined;
  private checkedAt = 0;
  private closed = false;

  constructor(private readonly options: CheckpointStateViewOptions) {
    this.checkpoints = createCheckpoints(options.store, {
      jobId: options.jobId ?? options.job.name,
      mergeKeyGroupParts,
    });
    this.refreshMs = options.refreshMs ?? 250;
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
    return { checkpointId: loaded.id, keys: keyTexts.map((key) => readKey(ready, store, key)) };
  }

  /** Drops the restored state. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const loaded = await this.loaded?.catch(() => undefined);
    if (loaded !== undefined) await closeRunners(loaded);
  }

  private async current(): Promise<Loaded> {
    const now = Date.now();
    if (this.loaded !== undefined && now - this.checkedAt < this.refreshMs) return this.loaded;
    this.checkedAt = now;
    const previous = this.loaded;
    const next = this.refresh(previous);
    this.loaded = next;
    try {
      return await next;
    } catch (error) {
      // Look again at the next read, not after refreshMs.
      if (this.loaded === next) this.loaded = previous;
      this.checkedAt = 0;
      throw error;
    }
  }

  private async refresh(previous: Promise<Loaded> | undefined): Promise<Loaded> {
    const latest = await this.checkpoints.latest();
    const before = await previous?.catch(() => undefined);
    if (before !== undefined && before.id === latest?.id) return before;
    if (before !== undefined) void closeRunners(before);
    if (latest === undefined)
      return { id: undefined, stages: new Map(), restoreFor: () => new Map(), watermarks: () => 0 };
    const restored = await this.checkpoints.load();
    if (restored === undefined)
      return { id: undefined, stages: new Map(), restoreFor: () => new Map(), watermarks: () => 0 };
    return {
      id: restored.info.id,
      stages: new Map(),
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
    const runner = createTaskRunner(step.factory() as StatefulTask<unknown, unknown, unknown>, {
      keyCoder: step.keyCoder,
      maxKeyGroups: this.options.job.maxKeyGroups,
      partition: 0,
      parallelism: 1,
      output: () => {},
    });
    runner.restore({ watermark: loaded.watermarks(step), processingTime: 0, keyGroups: loaded.restoreFor(step) });
    await runner.open();
    return runner;
  }
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
