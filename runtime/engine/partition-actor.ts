import type { TaskOutput, TaskRunner } from '../../src/task/task-runner.ts';
import { LocalStateStoreError } from '../../src/state/index.ts';
import { EntryKind, Mailbox } from './mailbox.ts';
import type { DeadLetterReceiver, Outlet } from './outlet.ts';
import type { PartitionInbox } from './key-router.ts';
import type { TurnTimer } from './turn-timer.ts';
import { WatermarkTracker } from './watermark-tracker.ts';

/** What an actor needs from the engine that runs it. */
export interface ActorHost {
  /** Counts entries in all mailboxes, so the engine knows when everything is processed. */
  pending: number;
  /** Called after an actor ran out of work (or paused): the engine checks for quiescence. */
  actorIdle(): void;
  /** An unrecoverable error (a timer or lifecycle call threw): the job fails. */
  fail(error: unknown): void;
}

export interface PartitionActorOptions {
  readonly stage: string;
  readonly partition: number;
  /** Number of upstream inputs whose watermarks combine (the upstream stage's parallelism, or 1 for a source). */
  readonly inputs: number;
  readonly mailboxCapacity: number;
  /** Messages taken per run before yielding to the event loop. */
  readonly batchSize: number;
  /** Retries after a first failed attempt before the message becomes a dead letter. */
  readonly maxRetries: number;
  /** Times a sample of data turns (metrics on); undefined: no clock reads at all. */
  readonly turnTimer?: TurnTimer | undefined;
}

/**
 * A mailbox entry of kind CALL: run with the partition's runner between turns. It must not throw or
 * reject (a failure would fail the job): it answers its caller itself. A promise holds the partition
 * until it settles.
 */
export type ActorCall = (runner: TaskRunner<unknown, unknown, unknown>) => void | Promise<void>;

// How often (in messages) a running actor checks whether downstream is over its bound.
const CONGESTION_CHECK_MASK = 63;

/**
 * One partition of a stateful stage: a mailbox and a TaskRunner, run turn by turn. Messages are
 * taken one at a time, in order, many per run (one setImmediate per batch, not per message), so the
 * task's code never runs concurrently with itself and needs no locks.
 *
 * The runner releases a turn's outputs only once the turn committed (a failed attempt emits
 * nothing; its retry or dead letter is all downstream sees), so the actor forwards them as they
 * come, tagged with the position of the entry whose turn is under way.
 */
export class PartitionActor<In, Out, K> implements PartitionInbox {
  readonly mailbox: Mailbox;
  readonly tracker: WatermarkTracker;
  /** The position the outputs of the turn under way carry (-1 for processing-time timers). */
  private turnPosition = -1;
  private scheduled = false;
  private turnInProgress = false;
  /** The asynchronous turn under way, until its outcome is handled. */
  private turnUnderWay: Promise<void> | undefined;
  private waitingDownstream = false;
  private lastOutputWatermark = -Number.MAX_VALUE;
  private stopped = false;
  /** Told the position of each entry processed (set when an OrderedMerge follows this stage). */
  progress: ((position: number) => void) | undefined;
  // Counters for metrics and the status page: plain fields, read when scraped.
  /** Data messages taken from the mailbox (once each, however often retried). */
  messagesIn = 0;
  /** Outputs of committed turns (timer outputs included). */
  messagesOut = 0;
  /** Attempts after a failed first one. */
  retries = 0;
  /** Messages given up on after maxRetries. */
  deadLetters = 0;
  private readonly sampleMask: number;

  constructor(
    private readonly options: PartitionActorOptions,
    readonly runner: TaskRunner<In, Out, K>,
    private readonly outlet: Outlet,
    private readonly deadLetter: DeadLetterReceiver,
    private readonly host: ActorHost,
  ) {
    this.mailbox = new Mailbox(options.mailboxCapacity);
    this.tracker = new WatermarkTracker(options.inputs);
    this.sampleMask = (options.turnTimer?.sampleEvery ?? 1) - 1;
  }

  get stage(): string {
    return this.options.stage;
  }

  get partition(): number {
    return this.options.partition;
  }

  /** Entries waiting in the mailbox (data and control markers). */
  get mailboxDepth(): number {
    return this.mailbox.size;
  }

  /** The partition's input watermark (combined over its inputs). */
  get watermark(): number {
    return this.tracker.watermark;
  }

  /** Keys holding state in this partition (an estimate: see TaskRunner.keyCount). */
  get keyCount(): number {
    return this.runner.keyCount;
  }

  /** The receiver to give the runner: a committed turn's outputs, passed downstream. */
  readonly receive = (output: TaskOutput<Out, K>): void => {
    // Instants are numbers except Beam's sentinels (bigints), which are far beyond any data time.
    const timestamp = output.timestamp;
    this.messagesOut++;
    try {
      this.outlet.data(output.value, typeof timestamp === 'number' ? timestamp : Number(timestamp), this.turnPosition);
    } catch (error) {
      // Thrown downstream, after the turn committed: not the task's failure, so never retried.
      this.host.fail(error);
    }
  };

  /** True while a turn or a run is under way or messages wait. */
  get busy(): boolean {
    return this.turnInProgress || this.mailbox.size > 0;
  }

  /** Starts from a restored watermark (after `runner.restore`). */
  restoreWatermark(watermark: number): void {
    this.tracker.restore(watermark);
    // What the runner publishes, held back by its restored holds: taking the input watermark would
    // hold back the output watermarks between the two, which the run that went on sends downstream.
    this.lastOutputWatermark = Number(this.runner.outputWatermark);
  }

  enqueue(kind: EntryKind, key: unknown, value: unknown, timestamp: number, position: number): void {
    this.mailbox.push(kind, key, value, timestamp, position);
    this.host.pending++;
    if (!this.scheduled && !this.turnInProgress && !this.waitingDownstream) this.schedule();
  }

  isFull(): boolean {
    return this.mailbox.isFull();
  }

  whenWritable(): Promise<void> {
    return this.mailbox.whenWritable();
  }

  /**
   * Stops scheduling runs (after a failure); entries left are dropped with the process. A turn in
   * progress is abandoned: its task's ctx.signal is aborted so its asynchronous work can end.
   */
  stop(): void {
    this.stopped = true;
    this.runner.abort('the job stopped after a failure, so the turn under way will not be used');
  }

  /** True while an asynchronous turn is under way (after stop(): abandoned, but not settled yet). */
  get turnPending(): boolean {
    return this.turnUnderWay !== undefined;
  }

  /**
   * Closes the runner (the task's close() runs) once no turn is under way: the runner refuses
   * close() during a turn, and a stopped actor's abandoned turn may still be settling. Idempotent.
   */
  async closeRunner(): Promise<void> {
    while (this.turnUnderWay !== undefined) await this.turnUnderWay;
    await this.runner.close();
  }

  private schedule(): void {
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    if (this.turnInProgress || this.stopped) return;
    const mailbox = this.mailbox;
    try {
      let budget = this.options.batchSize;
      // `stopped` also ends this run when a downstream error failed the job during a turn.
      while (mailbox.size > 0 && !this.stopped) {
        if (budget === 0) {
          this.schedule();
          break;
        }
        if ((budget & CONGESTION_CHECK_MASK) === 0 && this.outlet.congested) {
          this.awaitDownstream();
          break;
        }
        budget--;
        const pending = this.step();
        if (pending !== undefined) {
          // An async turn: the rest of this run continues once it settles.
          this.turnInProgress = true;
          this.turnUnderWay = pending.then(
            () => {
              this.turnUnderWay = undefined;
              this.turnInProgress = false;
              this.finishEntry();
              this.run();
            },
            (error: unknown) => {
              this.turnUnderWay = undefined;
              // After stop() the job has failed already; an abandoned turn's failure is not news.
              if (!this.stopped) this.host.fail(error);
            },
          );
          mailbox.notifyIfWritable();
          return;
        }
        this.finishEntry();
      }
    } catch (error) {
      if (!this.stopped) this.host.fail(error);
      return;
    }
    mailbox.notifyIfWritable();
    this.host.actorIdle();
  };

  private finishEntry(): void {
    const progress = this.progress;
    if (progress !== undefined) {
      const position = this.mailbox.peekPosition();
      if (position >= 0) progress(position);
    }
    this.mailbox.shift();
    this.host.pending--;
  }

  private awaitDownstream(): void {
    this.waitingDownstream = true;
    this.outlet.whenUncongested().then(
      () => {
        this.waitingDownstream = false;
        if (!this.scheduled) this.schedule();
      },
      (error: unknown) => this.host.fail(error),
    );
  }

  /** Handles the head entry; returns a promise when the turn is asynchronous. */
  private step(): Promise<void> | undefined {
    const mailbox = this.mailbox;
    switch (mailbox.peekKind()) {
      case EntryKind.DATA: {
        const timer = this.options.turnTimer;
        this.messagesIn++;
        if (timer !== undefined && (this.messagesIn & this.sampleMask) === 0) {
          return this.timedTurn(
            timer,
            mailbox.peekKey() as K,
            mailbox.peekValue() as In,
            mailbox.peekTimestamp(),
            mailbox.peekPosition(),
          );
        }
        return this.processData(
          mailbox.peekKey() as K,
          mailbox.peekValue() as In,
          mailbox.peekTimestamp(),
          mailbox.peekPosition(),
          1,
        );
      }
      case EntryKind.WATERMARK: {
        const advanced = this.tracker.update(mailbox.peekKey() as number, mailbox.peekTimestamp());
        return advanced === undefined ? undefined : this.advanceWatermark(advanced, mailbox.peekPosition());
      }
      case EntryKind.IDLE: {
        const advanced = this.tracker.markIdle(mailbox.peekKey() as number);
        const pending = advanced === undefined ? undefined : this.advanceWatermark(advanced, -1);
        if (this.tracker.allIdle) {
          if (pending === undefined) this.outlet.idle(this.options.partition);
          else return pending.then(() => this.outlet.idle(this.options.partition));
        }
        return pending;
      }
      case EntryKind.CALL: {
        this.turnPosition = -1;
        const result = (mailbox.peekValue() as ActorCall)(this.runner as TaskRunner<unknown, unknown, unknown>);
        return isPromise(result) ? result : undefined;
      }
      case EntryKind.PROCESSING_TIME: {
        this.turnPosition = -1;
        const result = this.runner.advanceProcessingTime(mailbox.peekTimestamp());
        return isPromise(result) ? result : undefined;
      }
      default:
        throw new Error(`mailbox entry of unknown kind ${mailbox.peekKind()}`);
    }
  }

  private timedTurn(
    timer: TurnTimer,
    key: K,
    value: In,
    timestamp: number,
    position: number,
  ): Promise<void> | undefined {
    const started = performance.now();
    const pending = this.processData(key, value, timestamp, position, 1);
    const stage = this.options.stage;
    if (pending === undefined) {
      timer.record(stage, (performance.now() - started) / 1000);
      return undefined;
    }
    return pending.then(() => timer.record(stage, (performance.now() - started) / 1000));
  }

  private processData(
    key: K,
    value: In,
    timestamp: number,
    position: number,
    attempt: number,
  ): Promise<void> | undefined {
    this.turnPosition = position;
    for (;;) {
      try {
        const result = this.runner.processElement(key, value, timestamp);
        if (isPromise(result)) {
          return result.then(undefined, (error: unknown) =>
            this.failedAttempt(key, value, timestamp, position, attempt, error),
          );
        }
        return undefined;
      } catch (error) {
        if (this.stopped) throw error;
        const fatal = jobFailure(error);
        if (fatal !== undefined) {
          this.host.fail(fatal);
          return undefined;
        }
        if (attempt > this.options.maxRetries) {
          this.giveUp(key, value, position, attempt, error);
          return undefined;
        }
        attempt++;
        this.retries++;
      }
    }
  }

  private failedAttempt(
    key: K,
    value: In,
    timestamp: number,
    position: number,
    attempt: number,
    error: unknown,
  ): Promise<void> | undefined {
    // A turn that failed after stop() (abandoned: its ctx.signal aborted) is neither retried nor
    // dead-lettered: the job failed, its message is not committed, and the next run processes it again.
    if (this.stopped) throw error;
    const fatal = jobFailure(error);
    if (fatal !== undefined) {
      this.host.fail(fatal);
      return undefined;
    }
    if (attempt > this.options.maxRetries) {
      this.giveUp(key, value, position, attempt, error);
      return undefined;
    }
    this.retries++;
    return this.processData(key, value, timestamp, position, attempt + 1);
  }

  private giveUp(key: K, value: In, position: number, attempts: number, error: unknown): void {
    this.deadLetters++;
    this.deadLetter({
      stage: this.options.stage,
      partition: this.options.partition,
      position,
      error,
      attempts,
      key,
      value,
    });
  }

  /** Fires due timers; their outputs and the output watermark carry the marker's `position`. */
  private advanceWatermark(watermark: number, position: number): Promise<void> | undefined {
    this.turnPosition = position;
    const result = this.runner.advanceWatermark(watermark);
    if (isPromise(result)) return result.then((output) => this.emitWatermark(Number(output), position));
    this.emitWatermark(Number(result), position);
    return undefined;
  }

  private emitWatermark(output: number, position: number): void {
    if (output > this.lastOutputWatermark) {
      this.lastOutputWatermark = output;
      this.outlet.watermark(this.options.partition, output, position);
    }
  }
}

function isPromise(value: unknown): value is Promise<never> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * The job's failure in a failed turn, when it is not its message's: the local state store failed
 * (LocalStateStoreError, maybe as the cause of a task callback's error, which a state read inside
 * the callback gives). Retrying the message or dead-lettering it would lose it; the job fails with
 * the store's error instead, and a rerun restores its checkpoint.
 */
function jobFailure(error: unknown): LocalStateStoreError | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++)
    if (e instanceof LocalStateStoreError) return e;
  return undefined;
}
