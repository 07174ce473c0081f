import { Subject } from './rx.ts';
import type { Observable } from 'rxjs';
import { DEFAULT_CHECKPOINT_INTERVAL_MS } from './defaults.ts';
import type { Job } from './job/job.ts';
import type { KeyGrouping } from './engine/key-router.ts';
import type { TurnTimer } from './engine/turn-timer.ts';
import type { JobView } from './job-view.ts';
import type { DeadLetterReceiver, Outlet } from './engine/outlet.ts';
import { Pipeline } from './engine/pipeline.ts';
import type { RunnerFactory } from './engine/pipeline.ts';
import type { JobCheckpoints, RestoredCheckpoint, SinkBinding, SourceBinding } from './bindings.ts';
import { CheckpointProcedure, formatBytes } from './checkpoint-procedure.ts';
import type { CheckpointOutcome } from './checkpoint-procedure.ts';
import { Lifecycle } from './lifecycle.ts';
import type { LifecycleState } from './lifecycle.ts';
import type { Logger } from './log.ts';
import { restoreRunners, type Rescale } from './restore-runners.ts';
import { RescaleAfterCrashError } from './rescale-errors.ts';
import { FinalCheckpointError, LifecycleError } from './errors.ts';
import { CheckpointStoreError } from '../src/checkpoint/index.ts';
import type { LocalStateOwner } from './state-api/state-owner.ts';
import type { LocalState, WarmCopy } from './state-backends/local-state.ts';
import type { RunResult, RuntimeEvent } from './runtime-events.ts';
import { counted } from './counted.ts';

export type { RunResult, RuntimeEvent } from './runtime-events.ts';

/** Options of `createJobRuntime`; see resolveJobRuntimeOptions for defaults. */
export interface JobRuntimeOptions {
  readonly job: Job;
  readonly grouping: KeyGrouping;
  readonly createRunner: RunnerFactory;
  /** Binds the job's source, given the pipeline's entry outlet and the dead-letter receiver. */
  readonly source: (entry: Outlet, deadLetter: DeadLetterReceiver) => SourceBinding;
  /** Binds the job's sink; `fail` fails the job (a write error would otherwise lose output). */
  readonly sink: (deadLetter: DeadLetterReceiver, fail: (error: unknown) => void) => SinkBinding;
  /** Binds the dead-letter sink: the binding, the receiver that feeds it, and its count. */
  readonly deadLetters: (fail: (error: unknown) => void) => DeadLetters;
  readonly checkpoints: JobCheckpoints;
  readonly logger: Logger;
  /** Wall-clock floor between checkpoints while running. @default 5000 */
  readonly checkpointIntervalMs?: number;
  /** Retries of a failing message before it becomes a dead letter. @default 3 */
  readonly maxRetries?: number;
  /**
   * Messages a partition's mailbox holds before its producers wait. A checkpoint's cut drains the
   * mailboxes with intake paused, so this bounds the pause. @default 1024
   */
  readonly mailboxCapacity?: number;
  /** Messages an actor takes per run before yielding to the event loop. @default 4096 */
  readonly batchSize?: number;
  /** Interval of processing-time ticks (processing-time timers). @default 200 */
  readonly processingTimeTickMs?: number;
  /** Interval of the throughput log line. @default 10000 */
  readonly throughputLogIntervalMs?: number;
  /** Times a sample of turns (metrics on). @default none */
  readonly turnTimer?: TurnTimer | undefined;
  /** The state API's access to this run's partitions (strong reads, logged writes), when it is served. */
  readonly stateOwner?: LocalStateOwner;
  /**
   * A unit of a scaled-out job (runtime/nats/job-units.ts): the one partition of its stage it runs,
   * and how many upstream units feed its input. @default the whole job, fed by its source
   */
  readonly unit?: { readonly onlyPartition?: number; readonly sourceInputs: number };
  /**
   * The partitions' local copies under the disk backend (the runners' tiers come from it): a warm
   * copy of the restored state is reused instead of reading its parts, and after the final
   * checkpoint each partition's copy is left warm for the next run.
   */
  readonly localState?: LocalState;
}

/** A dead-letter sink as the runtime uses it. */
export interface DeadLetters {
  readonly binding: SinkBinding;
  readonly receive: DeadLetterReceiver;
  readonly count: () => number;
}

type Resolved = Required<Omit<JobRuntimeOptions, 'stateOwner' | 'unit'>> &
  Pick<JobRuntimeOptions, 'stateOwner' | 'unit'>;

/** Dead letters logged one by one per run; the rest are counted only. */
const LOGGED_DEAD_LETTERS = 10;

function resolveJobRuntimeOptions(options: JobRuntimeOptions): Resolved {
  return {
    checkpointIntervalMs: DEFAULT_CHECKPOINT_INTERVAL_MS,
    maxRetries: 3,
    mailboxCapacity: 1024,
    batchSize: 4096,
    processingTimeTickMs: 200,
    throughputLogIntervalMs: 10_000,
    ...stripUndefined(options),
  } as Resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A job running in this process. */
export interface JobRuntime {
  readonly state: LifecycleState;
  readonly stateChanges: Observable<LifecycleState>;
  /** Restores, checkpoints and throughput, as they happen; completes when the run ends. */
  readonly events: Observable<RuntimeEvent>;
  /** Restores, opens and runs until the input ends (bounded) or stop() is called. Call once. */
  run(): Promise<RunResult>;
  /** Stops intake, drains, writes the final checkpoint and closes; resolves when `run()` has finished. */
  stop(): Promise<void>;
  /**
   * Writes a checkpoint now (between turns); resolves when it is committed.
   * @throws LifecycleError before run() has restored, once the stop's final checkpoint has begun
   * (it covers everything), or once the run has failed (its failure is the `cause`).
   */
  checkpoint(): Promise<void>;
  /** Fails the run (e.g. checkpoints were fenced by another writer): `run()` rejects with `error`. */
  fail(error: unknown): void;
  /** The running job's counters and partitions, for metrics and the status page; undefined until run() opened it. */
  readonly view: JobView | undefined;
}

export function createJobRuntime(options: JobRuntimeOptions): JobRuntime {
  return new JobRuntimeImpl(resolveJobRuntimeOptions(options));
}

class JobRuntimeImpl implements JobRuntime {
  private readonly lifecycle = new Lifecycle();
  private readonly log: Logger;
  private pipeline: Pipeline | undefined;
  private source: SourceBinding | undefined;
  private sink: SinkBinding | undefined;
  private sourceActive = false;
  private stopRequested = false;
  private failure: { error: unknown } | undefined;
  private failWaiters: ((error: unknown) => void)[] = [];
  /** The capture under way (periodic or on demand): at most one at a time. */
  private capturing: Promise<void> | undefined;
  /** Set once the stop's final checkpoint begins: checkpoint() is refused from then on. */
  private finalCheckpointTaken = false;
  private readonly procedure: CheckpointProcedure;
  /** When a capture last found nothing to write: the next periodic one waits an interval from there. */
  private skippedAt = 0;
  /** Outputs an earlier run stored past the restored checkpoint, which this run's replay re-emits (0: none/done). */
  private replayed = 0;
  private timers: NodeJS.Timeout[] = [];
  private runPromise: Promise<RunResult> | undefined;
  private readonly deadLetters: DeadLetters;
  private readonly eventSubject = new Subject<RuntimeEvent>();
  private jobView: JobView | undefined;

  constructor(private readonly options: Resolved) {
    this.log = options.logger;
    const deadLetters = options.deadLetters((error) => this.fail(error));
    const events = this.eventSubject;
    const log = this.log;
    let logged = 0;
    this.deadLetters = {
      ...deadLetters,
      receive: (letter) => {
        deadLetters.receive(letter);
        const { stage, partition, position, attempts, error } = letter;
        events.next({ type: 'dead-letter', stage, partition, position, attempts, error, at: Date.now() });
        // The first few are logged one by one; the rest only counted (throughput line, /metrics): bad
        // input in bulk must not flood the log.
        if (logged < LOGGED_DEAD_LETTERS) {
          logged++;
          const why = error instanceof Error ? error.message : String(error);
          log.warn(
            `dead letter from ${stage}${partition === undefined ? '' : ` partition ${partition}`} at position ${position} after ${attempts} attempt(s): ${why}` +
              (logged === LOGGED_DEAD_LETTERS ? ` (further dead letters are counted, not logged)` : ''),
            { stage, ...(partition === undefined ? {} : { partition }), position, attempts },
          );
        }
      },
    };
    this.procedure = new CheckpointProcedure({
      checkpoints: options.checkpoints,
      log: this.log,
      events: this.eventSubject,
      orFail: (promise) => this.orFail(promise),
      fail: (error) => this.fail(error),
      maxKeyGroups: options.grouping.maxKeyGroups,
      parallelism: Object.fromEntries(
        options.job.steps.flatMap((step) => (step.kind === 'process' ? [[step.name, step.parallelism]] : [])),
      ),
    });
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

  get view(): JobView | undefined {
    return this.jobView;
  }

  run(): Promise<RunResult> {
    this.runPromise ??= this.runOnce();
    return this.runPromise;
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    this.source?.stop();
    if (this.runPromise !== undefined) {
      try {
        await this.runPromise;
      } catch {
        // run() reports the failure to its own caller.
      }
    } else {
      this.lifecycle.tryTransition('stopped');
    }
  }

  async checkpoint(): Promise<void> {
    while (this.capturing !== undefined) await this.capturing.catch(() => {});
    // The run is going down (its state becomes 'failed' once the bindings are closed): a capture
    // would write nothing, and resolving would say it did.
    if (this.failure !== undefined) {
      const { error } = this.failure;
      throw new LifecycleError(
        `cannot write a checkpoint: the run failed (${error instanceof Error ? error.message : String(error)}); ` +
          'run() rejects with that error, and the next run resumes from the last committed checkpoint',
        { cause: error },
      );
    }
    // It would race the final checkpoint (an empty capture of its own committed first, without the
    // final's changes, and the final failed); the runners close after it anyway.
    if (this.finalCheckpointTaken)
      throw new LifecycleError(`cannot write a checkpoint while ${this.state}: the stop's final checkpoint is taken`);
    // While restoring, the input and sinks are not open yet: a cut would record positions before the
    // restored ones (-1) with the restored state.
    if (this.state !== 'running' && this.state !== 'draining')
      throw new LifecycleError(
        `cannot write a checkpoint while ${this.state}: ` +
          (this.state === 'created' || this.state === 'restoring'
            ? 'call it once run() has restored'
            : 'the run ended'),
      );
    const capture = this.checkpointOnce('on-demand', true, true);
    // The caller gets the failure from `capture`; `capturing` only orders captures, so it must not
    // reject unhandled (that ended the process when an on-demand checkpoint failed).
    this.capturing = capture
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => (this.capturing = undefined));
    await capture;
  }

  fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = { error };
    this.source?.stop();
    this.pipeline?.stop();
    for (const wake of this.failWaiters) wake(error);
    this.failWaiters = [];
  }

  /** Rejects when the job fails, so every wait can race it. */
  private failed(): Promise<never> {
    if (this.failure !== undefined) return Promise.reject(this.failure.error);
    return new Promise((_, reject) => this.failWaiters.push(reject));
  }

  /** Throws the run's failure, if any: a step that found nothing to do because of it is no success. */
  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }

  private async orFail<T>(promise: Promise<T>): Promise<T> {
    const failed = this.failed();
    failed.catch(() => {});
    return Promise.race([promise, failed]);
  }

  private async runOnce(): Promise<RunResult> {
    const { job, checkpoints } = this.options;
    const deadLetters = this.deadLetters;
    this.lifecycle.transition('restoring');
    let restored: RestoredCheckpoint | undefined;
    try {
      // Failed before it ran (a unit abandoned while it opened): no restore, which takes the lease.
      if (this.failure !== undefined) throw this.failure.error;
      const restoreStarted = Date.now();
      let bytesRead = 0;
      restored = await this.readLatest((done) => (bytesRead = done));
      this.options.localState?.reuse(restored?.partitions.filter((p) => p.reusesLocalCopy === true) ?? []);
      const sink = this.options.sink(deadLetters.receive, (error) => this.fail(error));
      this.sink = sink;
      const pipeline = new Pipeline({
        job,
        grouping: this.options.grouping,
        createRunner: this.options.createRunner,
        sink: sink.outlet,
        deadLetter: deadLetters.receive,
        mailboxCapacity: this.options.mailboxCapacity,
        batchSize: this.options.batchSize,
        maxRetries: this.options.maxRetries,
        onFailure: (error) => this.fail(error),
        turnTimer: this.options.turnTimer,
        ...(this.options.unit?.onlyPartition === undefined ? {} : { onlyPartition: this.options.unit.onlyPartition }),
        ...(this.options.unit === undefined ? {} : { sourceInputs: this.options.unit.sourceInputs }),
      });
      this.pipeline = pipeline;
      const owner = this.options.stateOwner;
      owner?.attach(pipeline, this.options.grouping, () => this.source?.lastPosition ?? -1);
      const source = this.options.source(
        owner === undefined ? pipeline.entry : owner.wrapEntry(pipeline.entry),
        deadLetters.receive,
      );
      this.source = source;
      this.jobView = {
        job: job.name,
        source,
        stages: pipeline.stages.map((stage) => ({ name: stage.name, partitions: stage.actors })),
        get deadLetters() {
          return deadLetters.count();
        },
      };
      const rescale =
        restored === undefined ? undefined : restoreRunners(pipeline, restored, this.options.grouping, job.name);
      await sink.open(restored?.sinks[sink.name]);
      this.replayed = sink.replayBacklog?.() ?? 0;
      if (rescale !== undefined) await this.rebase(rescale, sink);
      if (restored !== undefined) this.procedure.restoredFrom(restored);
      await deadLetters.binding.open(restored?.sinks[deadLetters.binding.name]);
      await source.open(restored?.inputs[source.name]);
      if (restored === undefined) {
        const sinkCut = sink.cut();
        const deadLetterCut = deadLetters.binding.cut();
        await this.orFail(Promise.all([sinkCut.durable, deadLetterCut.durable]));
        this.procedure.startedFresh(
          { [source.name]: source.lastPosition, ...owner?.positions() },
          { [sink.name]: sinkCut.record, [deadLetters.binding.name]: deadLetterCut.record },
        );
      }
      for (const actor of pipeline.actors()) await actor.runner.open();
      await owner?.open(restored?.inputs);
      this.eventSubject.next({
        type: 'restored',
        checkpointId: restored?.id,
        createdAt: restored?.createdAt,
        position: restored?.inputs[source.name] ?? -1,
        durationMs: Date.now() - restoreStarted,
        bytesRead,
      });
      if (restored !== undefined) {
        this.log.info(
          `restored checkpoint ${restored.id} at position ${restored.inputs[source.name] ?? -1} of ${source.name}` +
            (this.replayed === 0
              ? ''
              : `; the replay re-emits ${this.replayed} outputs an earlier run stored after it (deduplicated by id)`),
          {
            checkpointId: restored.id,
            position: restored.inputs[source.name] ?? -1,
            source: source.name,
            ...(this.replayed === 0 ? {} : { replayBacklog: this.replayed }),
          },
        );
      } else {
        this.log.info(
          `no checkpoint in ${checkpoints.description}: starting from the beginning` +
            (this.replayed === 0
              ? ''
              : `; the replay re-emits ${this.replayed} outputs an earlier run stored (deduplicated by id)`),
        );
      }
      let completed = false;
      if (this.stopRequested) {
        this.lifecycle.transition('draining');
      } else {
        this.lifecycle.transition('running');
        this.startTimers();
        this.sourceActive = true;
        const started = Date.now();
        try {
          completed = await this.orFail(source.run());
        } finally {
          this.sourceActive = false;
        }
        // Logged writes taken in after the last message are applied before the final checkpoint.
        if (completed) owner?.sourceFinished();
        this.lifecycle.transition('draining');
        this.log.info(
          completed
            ? `${source.name} ended after ${counted(source.messagesRead, 'message')} in ${Date.now() - started} ms: draining`
            : `stopping: intake stopped after ${counted(source.messagesRead, 'message')}, draining`,
        );
      }
      this.stopTimers();
      checkpoints.requestStop();
      // The final checkpoint runs after any periodic capture still under way.
      while (this.capturing !== undefined) await this.orFail(this.capturing);
      this.finalCheckpointTaken = true;
      await this.orFail(pipeline.drained());
      await this.finalCheckpoint();
      // A bounded input's end is emitted after it (below): rolled back by a rerun, not covered.
      if (!completed) this.stoppedCleanly(sink);
      // Writes arriving from now on are refused (503): the final checkpoint is taken.
      owner?.detach();
      if (completed) {
        // The end of a bounded input (a last line without newline, the final watermark) comes after
        // the final checkpoint: a rerun over the grown input restores the state from before it and
        // processes it as one run over the final input would. Its outputs are made durable, not
        // committed: a rerun cuts them back and writes them again.
        source.finishInput();
        await this.orFail(pipeline.drainedAndFlushed());
        await this.orFail(sink.cut().durable);
        await this.orFail(deadLetters.binding.cut().durable);
      }
      for (const actor of pipeline.actors()) await actor.runner.close();
      await this.keepLocalCopies(pipeline);
      await this.closeBindings();
      // A failure reported while the run was stopping (a binding's close, a fenced commit) fails it.
      this.throwIfFailed();
      this.lifecycle.transition('stopped');
      this.eventSubject.complete();
      return {
        reason: this.stopRequested ? 'stopped' : 'completed',
        messagesRead: source.messagesRead,
        deadLetters: deadLetters.count(),
        checkpoints: this.procedure.written,
        restoredCheckpoint: restored?.id,
      };
    } catch (error) {
      this.options.stateOwner?.detach();
      this.fail(error);
      this.stopTimers();
      await this.closeRunnersAfterFailure();
      await this.closeBindings().catch(() => {});
      this.lifecycle.tryTransition('failed');
      this.eventSubject.complete();
      throw error;
    }
  }

  /**
   * After a restore into another layout: the next checkpoint starts a new chain in the new layout.
   * Refused while outputs numbered in the old layout are still to be replayed: the sink's count of
   * stored outputs past the checkpoint when it knows it, else whether the previous run crashed.
   */
  private async rebase(rescale: Rescale, sink: SinkBinding): Promise<void> {
    const { checkpoints } = this.options;
    if (sink.dedupesByOrdinal === true) {
      const backlog = sink.replayBacklog?.() ?? (checkpoints.previousRunStopped === false ? undefined : 0);
      if (backlog !== 0) {
        const first = rescale.stages[0]!;
        throw new RescaleAfterCrashError(first.stage, first.from, first.to, backlog);
      }
    }
    await checkpoints.rebase(rescale.seeds);
    const keyGroups = rescale.seeds.reduce((sum, seed) => sum + seed.keyGroups.size, 0);
    const stages = rescale.stages.map((s) => `stage ${s.stage} from ${s.from} to ${s.to} partitions`).join(', ');
    this.log.info(
      `rescaled ${stages}: ${keyGroups} key groups restored into the new layout; the next checkpoint is a full one`,
      { rescaled: rescale.stages.map((s) => ({ ...s })), keyGroups },
    );
  }

  private async readLatest(read: (bytes: number) => void): Promise<RestoredCheckpoint | undefined> {
    const log = this.log;
    const started = Date.now();
    const local = this.options.localState;
    const restored = await this.options.checkpoints.restoreLatest(
      (done, total) => {
        read(done);
        log.progress(
          `restoring checkpoint: ${formatBytes(done)} / ${formatBytes(total)} (${total === 0 ? 100 : Math.floor((done / total) * 100)}%)`,
        );
      },
      local === undefined
        ? {}
        : { reuseLocal: (partition, digest, descriptor) => local.holdsState(partition, digest, descriptor) },
    );
    const reused = restored?.partitions.filter((p) => p.reusesLocalCopy === true).length ?? 0;
    if (reused > 0) log.info(`${reused} partition(s) restored from their warm local copy, without reading their parts`);
    log.progress(undefined);
    if (restored !== undefined) log.debug(`read checkpoint ${restored.id} in ${Date.now() - started} ms`);
    return restored;
  }

  /**
   * Under the disk backend, once the final checkpoint is committed and the runners closed: each
   * partition whose state is still exactly that checkpoint's writes it whole into its local copy,
   * which is then marked warm for the next run. A copy that cannot be is left unmarked (the next
   * run rebuilds it from the checkpoint): a warm copy saves the next start time, nothing more.
   */
  private async keepLocalCopies(pipeline: Pipeline): Promise<void> {
    const local = this.options.localState;
    if (local === undefined || local.backend !== 'disk') return;
    try {
      const copies: WarmCopy[] = [];
      for (const stage of pipeline.stages) {
        for (const actor of stage.actors) {
          const digest = this.options.checkpoints.committedDigest(stage.name, actor.partition);
          if (digest !== undefined && actor.runner.writeStateToLocalStore())
            copies.push({ stage: stage.name, partition: actor.partition, digest });
        }
      }
      await local.markWarm(copies);
    } catch (error) {
      this.log.warn(`the local state copies are not kept for the next run: ${(error as Error).message}`);
    }
  }

  /** The job's watermark for the checkpoint trigger: the minimum over all partitions. */
  private watermark(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const actor of this.pipeline?.actors() ?? []) min = Math.min(min, actor.tracker.watermark);
    return min === Number.POSITIVE_INFINITY ? -Number.MAX_VALUE : min;
  }

  /**
   * Releases the lease as a clean stop unless the replay of an earlier run's outputs is unfinished:
   * the next run must then replay the rest in this layout, as after a crash.
   */
  private stoppedCleanly(sink: SinkBinding): void {
    this.noticeReplayDone();
    const backlog = sink.replayBacklog?.() ?? 0;
    if (backlog === 0) {
      this.options.checkpoints.stoppedCleanly();
      return;
    }
    this.log.warn(
      `stopped ${backlog} outputs short of the ${this.replayed} an earlier run published after the restored checkpoint: ` +
        `the next run replays them and must keep this parallelism until it logs that the replay is done`,
      { replayBacklog: backlog },
    );
  }

  /** Logs once when the replay has re-emitted what an earlier run published after the checkpoint. */
  private noticeReplayDone(): void {
    if (this.replayed === 0 || this.sink?.replayBacklog?.() !== 0) return;
    this.log.info(
      `replay done: re-emitted the ${this.replayed} outputs an earlier run published after the restored checkpoint ` +
        `(from now on a graceful stop allows a change of parallelism)`,
      { replayed: this.replayed },
    );
    this.replayed = 0;
  }

  /** The stop's checkpoint; a store failure says that nothing is lost and what to do (FinalCheckpointError). */
  private async finalCheckpoint(): Promise<void> {
    try {
      await this.checkpointOnce('stop', true);
      // A failure since the drain: checkpointOnce wrote nothing.
      this.throwIfFailed();
    } catch (error) {
      throw error instanceof CheckpointStoreError ? new FinalCheckpointError(error) : error;
    }
  }

  /**
   * The consistency rule in one process (see CheckpointProcedure): state, input position and
   * committed output describe one instant. The source resumes before the write, which runs in the
   * background unless `awaitWrite` (the final one is awaited, and its failure fails the run).
   */
  private async checkpointOnce(
    reason: string,
    awaitWrite: boolean,
    force = false,
  ): Promise<CheckpointOutcome | undefined> {
    const { pipeline, source, sink } = this;
    if (pipeline === undefined || source === undefined || sink === undefined || this.failure !== undefined)
      return undefined;
    return this.procedure.run(
      {
        pipeline,
        source,
        sink,
        deadLetters: this.deadLetters.binding,
        sourceActive: () => this.sourceActive,
        ...(this.options.stateOwner === undefined ? {} : { sideInput: this.options.stateOwner }),
      },
      reason,
      { awaitWrite, force },
    );
  }

  private startTimers(): void {
    const { checkpointIntervalMs, processingTimeTickMs, throughputLogIntervalMs } = this.options;
    const checkEveryMs = Math.max(10, Math.min(250, Math.floor(checkpointIntervalMs / 4)));
    const trigger = setInterval(() => {
      this.noticeReplayDone();
      if (this.capturing !== undefined || this.failure !== undefined || this.lifecycle.state !== 'running') return;
      const reason = this.options.checkpoints.due(this.watermark());
      if (reason === undefined) return;
      // The trigger does not know a capture was skipped (nothing changed) and keeps saying a
      // checkpoint is due: look again an interval later, not at every tick.
      if (Date.now() - this.skippedAt < checkpointIntervalMs) return;
      this.capturing = this.checkpointOnce(reason, false)
        .then((outcome) => {
          if (outcome === 'skipped') this.skippedAt = Date.now();
        })
        .catch((error: unknown) => this.fail(error))
        .finally(() => (this.capturing = undefined));
    }, checkEveryMs);
    const ticker = setInterval(() => this.pipeline?.tickProcessingTime(Date.now()), processingTimeTickMs);
    let lastCount = 0;
    let lastDeadLetters = 0;
    let lastTime = Date.now();
    const throughput = setInterval(() => {
      const count = this.source?.messagesRead ?? 0;
      const now = Date.now();
      const rate = ((count - lastCount) * 1000) / Math.max(1, now - lastTime);
      const deadLetters = this.deadLetters.count();
      this.eventSubject.next({ type: 'throughput', messagesPerSecond: rate, messagesRead: count, deadLetters });
      // An idle job stays quiet: a line only when something was read or dead-lettered since the last.
      if (count !== lastCount || deadLetters !== lastDeadLetters) {
        this.log.info(
          `throughput: ${Math.round(rate)} msg/s (${counted(count, 'message')} read, ${counted(deadLetters, 'dead letter')})`,
          {
            messagesPerSecond: Math.round(rate),
            messagesRead: count,
            deadLetters,
          },
        );
      }
      lastCount = count;
      lastDeadLetters = deadLetters;
      lastTime = now;
    }, throughputLogIntervalMs);
    for (const timer of [trigger, ticker, throughput]) timer.unref();
    this.timers.push(trigger, ticker, throughput);
  }

  private stopTimers(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /**
   * After a failure, as after a stop: every runner is closed, so each task that opened releases what
   * it holds in close(). A runner whose abandoned turn is still settling closes once it settles,
   * without holding the run's end (a task that ignores ctx.signal must not keep the failure from
   * being reported). A close that fails is logged: the run rejects with its own error.
   */
  private async closeRunnersAfterFailure(): Promise<void> {
    for (const actor of this.pipeline?.actors() ?? []) {
      const settling = actor.turnPending;
      const closed = actor.closeRunner().catch((error: unknown) => {
        const { stage, partition } = actor;
        this.log.warn(
          `${stage} partition ${partition}: closing the task after the run failed: ${error instanceof Error ? error.message : String(error)}`,
          { stage, partition },
        );
      });
      if (!settling) await closed;
    }
  }

  private async closeBindings(): Promise<void> {
    const errors: unknown[] = [];
    for (const close of [
      () => this.source?.close(),
      () => this.sink?.close(),
      () => this.deadLetters.binding.close(),
      () => this.options.checkpoints.close(),
    ]) {
      try {
        await close();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
