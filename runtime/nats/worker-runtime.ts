// One worker of a scaled-out job: it runs the units its group assigns it, each a JobRuntime with its
// own checkpoints (unit-runtime.ts), and presents them to the CLI, metrics and the status page as
// one JobRuntime. Units start when the worker gains them (restoring their last checkpoint first)
// and stop when it hands them over (after a final checkpoint) or loses them (abandoned at once).
import type { Observable, Subscription } from 'rxjs';
import { Subject } from '../rx.ts';
import { FencedError } from '../../src/checkpoint/index.ts';
import type { JobRuntime, RunResult, RuntimeEvent } from '../job-runtime.ts';
import { watermarkTime, type JobView, type PartitionView, type SourceView, type StageView } from '../job-view.ts';
import { Lifecycle, type LifecycleState } from '../lifecycle.ts';
import type { Logger } from '../log.ts';
import { UnitAbandonedError, UnitStopError } from './errors.ts';
import { ConfigError } from '../errors.ts';
import { RescaleError } from '../rescale-errors.ts';
import type { UnitHost, UnitProgress } from '../group/index.ts';
import type { JobUnit } from './job-units.ts';
import { openUnitRuntime, type UnitEnvironment, type UnitRuntime } from './unit-runtime.ts';

/** How a worker learns which units it owns. */
export interface UnitAssignment {
  /** Starts assigning units to `host`; resolves once joined. */
  join(host: UnitHost): Promise<void>;
  /** Hands every owned unit back (host.stop each) and leaves. Idempotent. */
  leave(): Promise<void>;
  /**
   * A unit stopped without being asked to: the group must release it so that it runs again.
   * `failure`: it failed (counted towards marking it failed), not fenced or finished.
   */
  unitEnded(unit: string, reason: string, failure?: boolean): void;
  /**
   * Whether the units this worker runs are still its own for sure (see WorkerGroup.confirmed):
   * strong reads are answered only then. @default always
   */
  confirmed?(): boolean;
}

interface RunningUnit {
  readonly unit: JobUnit;
  readonly runtime: JobRuntime;
  /** Messages on the unit's input subject after its position. */
  readonly inputLag: () => number | undefined;
  readonly done: Promise<RunResult | undefined>;
  readonly events: Subscription;
  readonly progress: { lastCheckpoint?: { readonly id: number; readonly at: string } };
  /** Being stopped or abandoned: a new start waits for it to close. */
  ending: boolean;
  /** Why its run failed, once it has. */
  error?: unknown;
}

export interface WorkerRuntimeOptions {
  readonly env: UnitEnvironment;
  readonly units: readonly JobUnit[];
  readonly assignment: UnitAssignment;
  readonly logger: Logger;
}

export class WorkerRuntime implements JobRuntime {
  private readonly lifecycle = new Lifecycle();
  private readonly eventSubject = new Subject<RuntimeEvent>();
  private readonly running = new Map<string, RunningUnit>();
  /** Units whose start is pending, with why they were abandoned meanwhile (they must not run then). */
  private readonly starting = new Map<string, { abandoned?: string }>();
  private readonly byName: ReadonlyMap<string, JobUnit>;
  private runPromise: Promise<RunResult> | undefined;
  private stopRequested = false;
  private wakeStop: (() => void) | undefined;
  private failure: { error: unknown } | undefined;
  /** Set while the worker hands its units over to stop: a unit whose stop fails then is recorded below. */
  private leaving = false;
  private readonly uncleanStops = new Map<string, unknown>();
  /** Counters of units that ran here and stopped, so totals do not drop when a unit leaves. */
  private finished = { messagesRead: 0, deadLetters: 0, checkpoints: 0 };

  constructor(private readonly options: WorkerRuntimeOptions) {
    this.byName = new Map(options.units.map((unit) => [unit.name, unit]));
  }

  get state(): LifecycleState {
    return this.lifecycle.state;
  }

  get stateChanges(): Observable<LifecycleState> {
    return this.lifecycle.changes;
  }

  get events(): Observable<RuntimeEvent> {
    return this.eventSubject.asObservable();
  }

  /** The units running in this worker now. */
  get ownedUnits(): readonly string[] {
    return [...this.running.keys()];
  }

  run(): Promise<RunResult> {
    this.runPromise ??= this.runOnce();
    return this.runPromise;
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    this.wakeStop?.();
    if (this.runPromise === undefined) {
      this.lifecycle.tryTransition('stopped');
      return;
    }
    await this.runPromise.catch(() => undefined);
  }

  /**
   * A checkpoint of every unit that runs. A unit still restoring holds nothing its checkpoint lacks,
   * and one that is stopping writes its final checkpoint anyway: both are left out.
   */
  async checkpoint(): Promise<void> {
    await Promise.all(
      [...this.running.values()]
        .filter((running) => !running.ending && running.runtime.state === 'running')
        .map((running) => running.runtime.checkpoint()),
    );
  }

  fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = { error };
    for (const running of this.running.values()) running.runtime.fail(error);
    this.wakeStop?.();
  }

  get view(): JobView | undefined {
    if (this.lifecycle.state === 'created') return undefined;
    const units = [...this.running.values()];
    const stages = new Map<string, PartitionView[]>();
    for (const { runtime } of units) {
      for (const stage of runtime.view?.stages ?? [])
        stages.set(stage.name, [...(stages.get(stage.name) ?? []), ...stage.partitions]);
    }
    const sources = units
      .filter((u) => u.unit.kind !== 'stage')
      .map((u) => u.runtime.view?.source)
      .filter((s): s is SourceView => s !== undefined);
    const finished = this.finished;
    const source: SourceView = {
      name: this.options.env.job.source.name,
      lastPosition: Math.max(-1, ...sources.map((s) => s.lastPosition)),
      messagesRead: finished.messagesRead + sources.reduce((sum, s) => sum + s.messagesRead, 0),
      // Summed over the input partitions this worker reads.
      inputLag: async () => {
        if (sources.length === 0) return undefined;
        const lags = await Promise.all(sources.map((s) => s.inputLag?.() ?? Promise.resolve(undefined)));
        return { messages: lags.reduce((sum, lag) => sum + (lag?.messages ?? 0), 0) };
      },
    };
    const stageViews: StageView[] = [...stages].map(([name, partitions]) => ({
      name,
      partitions: partitions.sort((a, b) => a.partition - b.partition),
    }));
    return {
      job: this.options.env.job.name,
      source,
      stages: stageViews,
      deadLetters: finished.deadLetters + units.reduce((sum, u) => sum + (u.runtime.view?.deadLetters ?? 0), 0),
    };
  }

  private async runOnce(): Promise<RunResult> {
    const { logger, assignment } = this.options;
    this.lifecycle.transition('restoring');
    try {
      await assignment.join({
        start: (unit) => this.startUnit(unit),
        stop: (unit) => this.stopUnit(unit),
        abandon: (unit, reason) => this.abandonUnit(unit, reason),
        describe: (unit) => this.describeUnit(unit),
        failuresChanged: (unit, failure) =>
          this.eventSubject.next({
            type: 'unit-failures',
            unit,
            failures: failure?.failures ?? 0,
            failed: failure?.failed ?? false,
          }),
      });
      if (!this.ended()) {
        this.lifecycle.transition('running');
        await new Promise<void>((resolve) => {
          this.wakeStop = resolve;
          if (this.ended()) resolve();
        });
      }
      this.throwIfFailed();
      this.lifecycle.transition('draining');
      logger.info(`stopping: handing over ${this.running.size} unit(s) after a final checkpoint each`);
      this.leaving = true;
      await assignment.leave();
      this.throwIfFailed();
      if (this.uncleanStops.size > 0) throw new UnitStopError(this.uncleanStops);
      this.lifecycle.transition('stopped');
      this.eventSubject.complete();
      return { reason: 'stopped', ...this.finished, restoredCheckpoint: undefined };
    } catch (error) {
      this.fail(error);
      await assignment.leave().catch(() => undefined);
      await Promise.all([...this.running.values()].map((running) => running.done));
      this.lifecycle.tryTransition('failed');
      this.eventSubject.complete();
      throw error;
    }
  }

  private ended(): boolean {
    return this.failure !== undefined || this.stopRequested;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }

  private async startUnit(name: string): Promise<void> {
    const unit = this.byName.get(name);
    if (unit === undefined) throw new Error(`no unit ${name} in job ${this.options.env.job.name}`);
    const previous = this.running.get(name);
    if (previous !== undefined && !previous.ending) return;
    const starting: { abandoned?: string } = {};
    this.starting.set(name, starting);
    let opened: UnitRuntime;
    try {
      // Abandoned or handed over, and now assigned here again: the new incarnation restores what
      // the old one committed, so it starts once the old one has closed.
      if (previous !== undefined) await previous.done;
      opened = await openUnitRuntime(this.options.env, unit, {
        takeover: true,
        // A worker paused while this unit opened (a stopped process, a long GC) may find on waking
        // that the group gave the unit to another, before its own timers run and fence it: taking
        // the checkpoint lease then would fence the new owner, whose checkpoints would be refused.
        beforeLease: () => {
          if (starting.abandoned !== undefined) throw new UnitAbandonedError(name, starting.abandoned);
          if (this.options.assignment.confirmed?.() === false)
            throw new UnitAbandonedError(
              name,
              "this worker's hold on the group is not confirmed (no heartbeat acknowledged lately), so it may run elsewhere",
            );
        },
      });
    } finally {
      this.starting.delete(name);
    }
    const { runtime, inputLag } = opened;
    // Abandoned while it opened: failed before it runs, so it neither restores (its restore would take
    // over the checkpoint lease from the unit's next owner) nor writes; run() only closes what it opened.
    if (starting.abandoned !== undefined) runtime.fail(new UnitAbandonedError(name, starting.abandoned));
    const progress: { lastCheckpoint?: { readonly id: number; readonly at: string } } = {};
    const events = runtime.events.subscribe((event) => {
      if (event.type === 'checkpoint')
        progress.lastCheckpoint = { id: event.checkpointId, at: new Date().toISOString() };
      // The checkpoint it restored is its last one until it writes another (an idle unit may never).
      else if (event.type === 'restored' && event.checkpointId !== undefined && event.createdAt !== undefined)
        progress.lastCheckpoint ??= { id: event.checkpointId, at: new Date(event.createdAt).toISOString() };
      this.eventSubject.next(event.type === 'restored' ? { ...event, unit: name } : event);
    });
    let started = false;
    let startError: unknown;
    const done = runtime.run().then(
      (result) => {
        if (started) this.endedOnItsOwn(running, 'it finished');
        return result;
      },
      (error: unknown) => {
        running.error = error;
        if (error instanceof FencedError || error instanceof UnitAbandonedError) {
          this.options.logger.warn(
            `[${name}] ${error instanceof FencedError ? 'fenced: another worker committed a checkpoint of this unit' : error.message}; it runs elsewhere now`,
          );
          // Usually the group has moved it already; if not (it took this worker's checkpoint lease
          // without the group knowing yet), holding on to its lease would leave it unowned.
          if (started) this.endedOnItsOwn(running, error.message);
        } else if (!started) {
          // Restoring failed (e.g. a server of the cluster is down): the group releases the unit and
          // tries again later, here or elsewhere. Not when the job's own configuration refuses its
          // checkpoints (a rescale that cannot be done): every worker would fail alike, so this one
          // stops with the message that says what to do.
          startError = error;
          if (error instanceof RescaleError || error instanceof ConfigError) this.fail(error);
        } else {
          // Failed while running (an error past the retries, e.g. publishes refused): the other units
          // run on; the group releases this one and starts it again after a back-off, here or
          // elsewhere, from its last checkpoint.
          const why = error instanceof Error ? error.message : String(error);
          if (running.ending) {
            // stopUnit reports it to the group, which abandons and releases it.
            this.options.logger.error(`[${name}] failed while stopping: ${why}`);
            return undefined;
          }
          this.options.logger.error(`[${name}] failed: ${why}; handing it back to the group`);
          this.endedOnItsOwn(running, `failed: ${why}`, true);
        }
        return undefined;
      },
    );
    const running: RunningUnit = {
      unit,
      runtime,
      inputLag,
      done,
      events,
      progress,
      ending: starting.abandoned !== undefined,
    };
    this.running.set(name, running);
    void done.then((result) => this.forget(running, result));
    // Started once it runs (restored and reading), or ended trying.
    await new Promise<void>((resolve) => {
      const watch = runtime.stateChanges.subscribe((state) => {
        if (state === 'running' || state === 'stopped' || state === 'failed') {
          resolve();
          queueMicrotask(() => watch.unsubscribe());
        }
      });
      void done.then(() => resolve());
    });
    // A failed start settles `done` (which records why) just after the state change.
    if (runtime.state !== 'running') await done;
    if (runtime.state !== 'running') {
      // This worker stops for it (a configuration refusal, above): not a failure of the unit for the
      // group to count and back off from, since it would keep the next worker waiting.
      if (this.failure !== undefined && this.failure.error === startError) return;
      // Fenced or abandoned while starting records no startError (it is not the unit's failure), but is the cause.
      const cause = startError ?? running.error;
      const why = cause instanceof Error ? cause.message : String(cause ?? runtime.state);
      throw new Error(`unit ${name} did not start: ${why}`, { cause });
    }
    started = true;
  }

  private async stopUnit(name: string): Promise<void> {
    const running = this.running.get(name);
    if (running === undefined) return;
    running.ending = true;
    await running.runtime.stop();
    // A run that failed while stopping did not commit its final checkpoint: the group must hear it,
    // not hand the unit over as if it had.
    if ((await running.done) !== undefined) return;
    const error = running.error ?? new Error(`unit ${name} ended without a result`);
    if (this.leaving) this.uncleanStops.set(name, error);
    throw error;
  }

  /** How far an owned unit got, for `stator status`. */
  private describeUnit(name: string): UnitProgress | undefined {
    const running = this.running.get(name);
    const view = running?.runtime.view;
    if (running === undefined || view === undefined) return undefined;
    const watermarks = view.stages.flatMap((stage) => stage.partitions.map((p) => p.watermark));
    const watermark = watermarks.length === 0 ? undefined : watermarkTime(Math.min(...watermarks));
    const lag = running.inputLag();
    return {
      position: view.source.lastPosition,
      ...(lag === undefined ? {} : { lag }),
      ...(watermark === undefined ? {} : { watermark }),
      ...(running.progress.lastCheckpoint === undefined ? {} : { lastCheckpoint: running.progress.lastCheckpoint }),
    };
  }

  private abandonUnit(name: string, reason: string): void {
    const starting = this.starting.get(name);
    if (starting !== undefined) starting.abandoned ??= reason;
    const running = this.running.get(name);
    if (running === undefined) return;
    running.ending = true;
    running.runtime.fail(new UnitAbandonedError(name, reason));
  }

  /** The unit stopped while the group thinks it runs here: let the group release and re-plan it. */
  private endedOnItsOwn(running: RunningUnit, reason: string, failure = false): void {
    if (running.ending || this.ended()) return;
    running.ending = true;
    this.options.assignment.unitEnded(running.unit.name, reason, failure);
  }

  private forget(running: RunningUnit, result: RunResult | undefined): void {
    if (this.running.get(running.unit.name) !== running) return;
    this.running.delete(running.unit.name);
    running.events.unsubscribe();
    const view = running.runtime.view;
    this.finished = {
      messagesRead: this.finished.messagesRead + (running.unit.kind !== 'stage' ? (view?.source.messagesRead ?? 0) : 0),
      deadLetters: this.finished.deadLetters + (view?.deadLetters ?? 0),
      checkpoints: this.finished.checkpoints + (result?.checkpoints ?? 0),
    };
  }
}
