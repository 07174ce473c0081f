// Eventual reads of a scaled-out job: each unit `<stage>.p<N>` keeps its own checkpoint chain
// (buckets `stator-<job>-<stage>.p<N>`), so a key is read from the latest checkpoint of its
// partition's unit. Any process can read them, also when no worker runs.
import type { NatsConnection } from '@nats-io/transport-node';
import type { CheckpointStore } from '../../src/checkpoint/index.ts';
import { NoCheckpointBucketsError, openJetStreamCheckpointStore } from '../checkpoint/index.ts';
import type { Job } from '../job/job.ts';
import { stageUnitName, unitJobId } from '../nats/job-units.ts';
import { CheckpointStateView, type EventualStateView } from './checkpoint-state-view.ts';
import { keyPartition, keysByPartition } from './forwarding-owners.ts';
import type { KeyRead } from './state-owner.ts';
import type { StateStore } from './state-stores.ts';

export interface UnitCheckpointViewsOptions {
  readonly job: Job;
  /** A connection to read the units' checkpoint buckets on (read only: no lease is taken). */
  readonly connection: NatsConnection;
  /** The unit whose checkpoints hold a stage's partition. @default `<stage>.p<N>` (a scaled-out job) */
  readonly unitOf?: (stage: string, partition: number) => string;
}

interface UnitView {
  readonly store: CheckpointStore;
  readonly view: CheckpointStateView;
}

export class UnitCheckpointViews implements EventualStateView {
  /** By unit; undefined while the unit has no checkpoint buckets (looked for again at the next read). */
  private readonly views = new Map<string, Promise<UnitView | undefined>>();
  /** The views of `views` that are open, for reads that do not wait. */
  private readonly opened = new Map<string, CheckpointStateView>();
  /** By stage: the one unit whose checkpoints hold every partition (a job run in one process), or undefined. */
  private readonly onlyUnits = new Map<string, string | undefined>();
  private closed = false;

  constructor(private readonly options: UnitCheckpointViewsOptions) {}

  readNow(store: StateStore, keyTexts: readonly string[]): readonly KeyRead[] | undefined {
    if (this.closed) return undefined;
    let unit = this.onlyUnitOf(store);
    if (unit === undefined) {
      // Keys of several units are read the long way.
      if (keyTexts.length !== 1) return undefined;
      unit = this.unitOf(store.stage.name, keyPartition(this.options.job, store, keyTexts[0]!));
    }
    return this.opened.get(unit)?.readNow(store, keyTexts);
  }

  async read(store: StateStore, keyTexts: readonly string[]): Promise<{ readonly keys: readonly KeyRead[] }> {
    const reads = new Map<string, KeyRead>();
    await Promise.all(
      [...keysByPartition(this.options.job, store, keyTexts)].map(async ([partition, keys]) => {
        const unit = await this.viewOf(this.unitOf(store.stage.name, partition));
        if (unit === undefined) return;
        for (const read of (await unit.view.read(store, keys)).keys) reads.set(read.key, read);
      }),
    );
    return { keys: keyTexts.map((key) => reads.get(key) ?? { key }) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const opened of this.views.values()) {
      const unit = await opened.catch(() => undefined);
      await unit?.view.close();
      await unit?.store.close();
    }
    this.views.clear();
    this.opened.clear();
  }

  private unitOf(stage: string, partition: number): string {
    return (this.options.unitOf ?? stageUnitName)(stage, partition);
  }

  private onlyUnitOf(store: StateStore): string | undefined {
    const stage = store.stage;
    if (!this.onlyUnits.has(stage.name)) {
      const units = new Set(
        Array.from({ length: stage.parallelism }, (_, partition) => this.unitOf(stage.name, partition)),
      );
      this.onlyUnits.set(stage.name, units.size === 1 ? [...units][0] : undefined);
    }
    return this.onlyUnits.get(stage.name);
  }

  private viewOf(unit: string): Promise<UnitView | undefined> {
    let opened = this.views.get(unit);
    if (opened === undefined) {
      opened = this.open(unit);
      this.views.set(unit, opened);
      void opened.then(
        (view) => {
          if (this.views.get(unit) !== opened) return;
          if (view === undefined) this.views.delete(unit);
          else if (!this.closed) this.opened.set(unit, view.view);
        },
        () => {
          if (this.views.get(unit) === opened) this.views.delete(unit);
        },
      );
    }
    return opened;
  }

  private async open(unit: string): Promise<UnitView | undefined> {
    const { job, connection } = this.options;
    let store: CheckpointStore;
    try {
      store = await openJetStreamCheckpointStore({ job: job.name, task: unit, connection, create: false });
    } catch (error) {
      if (error instanceof NoCheckpointBucketsError) return undefined;
      throw error;
    }
    return { store, view: new CheckpointStateView({ job, jobId: unitJobId(job.name, unit), store }) };
  }
}
