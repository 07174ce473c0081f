import { BoundedWindow, instantPlus, type Coder, type Instant } from '../../coders/index.ts';
import type { State, WatermarkHoldState } from '../state/state.ts';
import { StateNamespaces, type StateNamespace } from '../state/state-namespace.ts';
import type { StateTag } from '../state/state-tag.ts';
import { TimeDomain } from '../state/time-domain.ts';
import type { TimerData } from '../state/timer-data.ts';
import type { StateInternals } from '../state/state-internals.ts';
import { createTaskBackend, type TaskBackend } from './task-backend.ts';
import { attachTask, bindDeclaredHandles, type StatefulTask, type TaskBinding } from './stateful-task.ts';
import { RunnerContext, type Scope } from './runner-context.ts';
import {
  TaskAbandonedError,
  TaskCallbackError,
  TaskLifecycleError,
  TimerError,
  WatermarkRegressionError,
} from './task-errors.ts';
import { clampTime, resolveOptions, type ResolvedOptions } from './task-runner-options.ts';
import type { TaskCapture, TaskRestore, TaskRunner, TaskRunnerOptions } from './task-runner.ts';
import {
  BoundTimer,
  BoundTimerMap,
  type FiredTimer,
  type Timer,
  type TimerHost,
  type TimerMap,
  type TimerSpec,
} from './timer.ts';

/**
 * Creates the runner of one task instance for one partition. The task must be fresh (never attached
 * to another runner). See TaskRunner for the calling protocol.
 */
export function createTaskRunner<In, Out, K>(
  task: StatefulTask<In, Out, K>,
  options: TaskRunnerOptions<Out, K>,
): TaskRunner<In, Out, K> {
  return new DefaultTaskRunner(task, resolveOptions(options));
}

type Phase = 'created' | 'restored' | 'opening' | 'open' | 'closing' | 'closed';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== undefined && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function domainOf(domain: TimeDomain | TimerSpec): TimeDomain {
  const d = typeof domain === 'string' ? domain : domain.timeDomain;
  if (d !== TimeDomain.EVENT_TIME && d !== TimeDomain.PROCESSING_TIME) {
    throw new TimerError(`unknown time domain '${String(d)}': use TimeDomain.EVENT_TIME or TimeDomain.PROCESSING_TIME`);
  }
  return d;
}

// Timer families share the backend's timer-id space: a family timer is stored under
// "\0<family>\0<id>", which a plain timer id (checked below) cannot start with.
const FAMILY_MARK = '\u0000';
function storedTimerId(timerFamilyId: string, timerId: string): string {
  return timerFamilyId === '' ? timerId : FAMILY_MARK + timerFamilyId + FAMILY_MARK + timerId;
}

/** The backend of a runner made by createTaskRunner (for the TaskHarness's inspection). Internal. */
export function backendOf<K>(runner: TaskRunner<unknown, unknown, K>): TaskBackend<K> {
  if (!(runner instanceof DefaultTaskRunner)) throw new TaskLifecycleError('not a runner made by createTaskRunner');
  return runner.stateBackend as TaskBackend<K>;
}

class DefaultTaskRunner<In, Out, K> implements TaskRunner<In, Out, K>, TimerHost, TaskBinding {
  readonly keyCoder: Coder<K>;
  readonly maxKeyGroups: number;
  turn = 0;
  readonly allowedTimestampSkewMs: number;

  private phase: Phase = 'created';
  /** A turn is under way (set for sync turns too, so re-entrant calls from the task are refused). */
  private busy = false;
  private readonly backend: TaskBackend<K>;
  get stateBackend(): TaskBackend<K> {
    return this.backend;
  }
  private readonly ctx: RunnerContext<Out, K>;
  private readonly taskName: string;
  private input: Instant = BoundedWindow.TIMESTAMP_MIN_VALUE;
  private published: Instant = BoundedWindow.TIMESTAMP_MIN_VALUE;
  private processing: Instant;
  private readonly abandoned = new AbortController();

  constructor(
    private readonly task: StatefulTask<In, Out, K>,
    private readonly options: ResolvedOptions<Out, K>,
  ) {
    this.keyCoder = options.keyCoder;
    this.maxKeyGroups = options.maxKeyGroups;
    this.processing = options.initialProcessingTime;
    this.allowedTimestampSkewMs = task.allowedTimestampSkewMs;
    if (!(this.allowedTimestampSkewMs >= 0)) {
      throw new TaskLifecycleError(
        `${task.constructor.name}.allowedTimestampSkewMs is ${this.allowedTimestampSkewMs}: it must be >= 0 (Infinity allowed)`,
      );
    }
    this.taskName = task.constructor.name;
    this.backend = createTaskBackend(options.keyCoder, options.maxKeyGroups, options.windowCoder, options.stateTier);
    this.ctx = new RunnerContext(this, options.output, options.partition, options.parallelism, options.files);
    attachTask(task as StatefulTask<unknown, unknown, unknown>, this);
  }

  // ---- clocks -------------------------------------------------------------------------------

  get inputWatermark(): Instant {
    return this.input;
  }

  get processingTime(): Instant {
    return this.processing;
  }

  get keyCount(): number {
    return this.backend.keyCount;
  }

  /** The input watermark held back by holds and pending timers' output timestamps; monotonic. */
  get outputWatermark(): Instant {
    let wm = this.input;
    const hold = this.backend.minimumWatermarkHold();
    if (hold !== undefined && hold < wm) wm = hold;
    const timerHold = this.backend.timerInternals.minimumOutputTimestamp();
    if (timerHold !== undefined && timerHold < wm) wm = timerHold;
    if (wm > this.published) this.published = wm;
    return this.published;
  }

  /** The output watermark last returned to the driver (the bound for emits in onWatermark). */
  get publishedOutputWatermark(): Instant {
    return this.published;
  }

  currentTime(domain: TimeDomain): Instant {
    return domain === TimeDomain.EVENT_TIME ? this.input : this.processing;
  }

  inputTimestampForTimer(): Instant {
    const scope = this.ctx.scope;
    if (scope === 'element' || scope === 'timer') return this.ctx.timestamp;
    throw new TimerError(
      'a timer can be set only in invoke() or onTimer(), where a key and an input timestamp are in scope',
    );
  }

  get signal(): AbortSignal {
    return this.abandoned.signal;
  }

  abort(reason: string): void {
    if (!this.abandoned.signal.aborted)
      this.abandoned.abort(new TaskAbandonedError(`${this.taskName} was abandoned: ${reason}`));
  }

  // ---- TaskBinding: what the task's state()/timer() use --------------------------------------

  state<S extends State | WatermarkHoldState>(namespace: StateNamespace | undefined, tag: StateTag<S>): S {
    return this.backend.boundState(namespace ?? StateNamespaces.global(), tag);
  }

  timer(timerId: string, domain: TimeDomain | TimerSpec, namespace: StateNamespace | undefined): Timer {
    if (typeof timerId !== 'string' || timerId.length === 0 || timerId.startsWith(FAMILY_MARK)) {
      throw new TimerError(
        `timer id ${JSON.stringify(timerId)} is not allowed: use a non-empty string not starting with \\0`,
      );
    }
    return new BoundTimer(this, namespace ?? StateNamespaces.global(), timerId, '', domainOf(domain));
  }

  timerFamily(timerFamilyId: string, domain: TimeDomain | TimerSpec, namespace: StateNamespace | undefined): TimerMap {
    if (typeof timerFamilyId !== 'string' || timerFamilyId.length === 0 || timerFamilyId.includes(FAMILY_MARK)) {
      throw new TimerError(
        `timer family id ${JSON.stringify(timerFamilyId)} is not allowed: use a non-empty string without \\0`,
      );
    }
    return new BoundTimerMap(this, namespace ?? StateNamespaces.global(), timerFamilyId, domainOf(domain));
  }

  stateInternals<KT>(keyCoder: Coder<KT>, key: KT): StateInternals<KT> {
    if (keyCoder.toString() !== this.keyCoder.toString()) {
      throw new TaskLifecycleError(
        `getStateInternals was given ${keyCoder.toString()} but this task's keys use ${this.keyCoder.toString()}: pass the runner's key coder`,
      );
    }
    return this.backend.stateInternalsForKey(key as unknown as K) as unknown as StateInternals<KT>;
  }

  setTimer(
    namespace: StateNamespace,
    timerId: string,
    timerFamilyId: string,
    target: Instant,
    outputTimestamp: Instant,
    domain: TimeDomain,
  ): void {
    this.requireKeyForTimer();
    this.backend.timerInternals.setTimer({
      namespace,
      timerId: storedTimerId(timerFamilyId, timerId),
      domain,
      timestamp: target,
      outputTimestamp,
    });
  }

  deleteTimer(namespace: StateNamespace, timerId: string, timerFamilyId: string, domain: TimeDomain): void {
    this.requireKeyForTimer();
    this.backend.timerInternals.deleteTimer(namespace, storedTimerId(timerFamilyId, timerId), domain);
  }

  private requireKeyForTimer(): void {
    const scope = this.ctx.scope;
    if (scope !== 'element' && scope !== 'timer') {
      throw new TimerError(
        `timers belong to a key: set or clear them in invoke() or onTimer(), not in ${scopeName(scope)}`,
      );
    }
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  restore(snapshot: TaskRestore): void {
    if (this.phase !== 'created') {
      throw new TaskLifecycleError(`restore() must come before open() and only once; the runner is ${this.phase}`);
    }
    for (const [keyGroup, chain] of snapshot.keyGroups) this.backend.restoreKeyGroup(keyGroup, chain);
    this.input = clampTime(snapshot.watermark);
    this.processing = clampTime(snapshot.processingTime);
    // The input watermark held back by the restored holds and timers, as the runner that went on
    // had published it (starting from the input watermark instead held back none of them). Earlier
    // only where a hold was added behind what it had published: the capture does not record that.
    this.published = this.outputWatermark;
    this.phase = 'restored';
  }

  open(): void | Promise<void> {
    if (this.phase !== 'created' && this.phase !== 'restored') {
      throw new TaskLifecycleError(`open() may be called once, before any turn; the runner is ${this.phase}`);
    }
    this.phase = 'opening';
    this.busy = true;
    this.beginKeylessTurn();
    this.ctx.enter('open');
    const done = (): void => {
      this.backend.commitTurn();
      this.ctx.leave();
      this.busy = false;
      this.phase = 'open';
    };
    const failed = (err: unknown): never => {
      // Undone, so open() can be called again on a clean slate.
      this.backend.rollbackTurn();
      this.ctx.leave();
      this.busy = false;
      this.phase = 'created';
      throw new TaskCallbackError(this.taskName, 'open', '', err);
    };
    let result: void | Promise<void>;
    try {
      bindDeclaredHandles(this.task as StatefulTask<unknown, unknown, unknown>);
      result = this.task.open(this.ctx);
    } catch (err) {
      return failed(err);
    }
    if (isThenable(result)) return Promise.resolve(result).then(done, failed);
    done();
  }

  close(): void | Promise<void> {
    if (this.phase === 'closed' || this.phase === 'closing') return;
    this.refuseIfBusy('close');
    if (this.phase !== 'open') {
      this.phase = 'closed';
      this.abort('the runner closed');
      return;
    }
    this.phase = 'closing';
    this.busy = true;
    this.beginKeylessTurn();
    this.ctx.enter('close');
    const done = (): void => {
      this.backend.commitTurn();
      this.ctx.leave();
      this.busy = false;
      this.phase = 'closed';
      this.abort('the runner closed');
    };
    const failed = (err: unknown): never => {
      this.backend.rollbackTurn();
      this.ctx.leave();
      this.busy = false;
      this.phase = 'closed';
      this.abort('the runner closed');
      throw new TaskCallbackError(this.taskName, 'close', '', err);
    };
    let result: void | Promise<void>;
    try {
      result = this.task.close(this.ctx);
    } catch (err) {
      return failed(err);
    }
    if (isThenable(result)) return Promise.resolve(result).then(done, failed);
    done();
  }

  capture(): TaskCapture {
    this.refuseIfBusy('capture');
    if (this.phase === 'closed')
      throw new TaskLifecycleError('capture() after close(): capture before closing the runner');
    return { state: this.backend.captureChanges(), watermark: this.input, processingTime: this.processing };
  }

  // ---- state access from outside the task ------------------------------------------------------

  boundTags(): readonly StateTag<State>[] {
    return this.backend.boundTags();
  }

  inspectKey<R>(key: K, read: (state: StateInternals<K>) => R): R {
    this.refuseOutsideTurns('inspectKey');
    return read(this.backend.stateInternalsForKey(key));
  }

  changeState<R>(change: (stateOf: (key: K) => StateInternals<K>) => R): R {
    this.refuseOutsideTurns('changeState');
    this.busy = true;
    const backend = this.backend;
    backend.clearCurrentKey();
    backend.beginTurn();
    try {
      const result = change((key) => backend.stateInternalsForKey(key));
      backend.commitTurn();
      return result;
    } catch (error) {
      backend.rollbackTurn();
      throw error;
    } finally {
      this.busy = false;
    }
  }

  encodeKeyCells(key: K): Uint8Array | undefined {
    this.refuseOutsideTurns('encodeKeyCells');
    return this.backend.encodeKeyCells(key);
  }

  writeStateToLocalStore(): boolean {
    if (this.busy) this.refuseTurn('writeStateToLocalStore');
    return this.backend.writeBack();
  }

  private refuseOutsideTurns(method: string): void {
    if (this.busy || this.phase !== 'open') this.refuseTurn(method);
  }

  // ---- turns ----------------------------------------------------------------------------------

  processElement(key: K, value: In, timestamp: Instant): void | Promise<void> {
    if (this.busy || this.phase !== 'open') this.refuseTurn('processElement');
    this.busy = true;
    this.turn++;
    const backend = this.backend;
    try {
      backend.setCurrentKey(key);
    } catch (err) {
      // A key its coder cannot encode: refused before any callback ran.
      this.busy = false;
      throw err;
    }
    const ctx = this.ctx;
    ctx.enterElement(key, timestamp);
    backend.beginTurn();
    let result: void | Promise<void>;
    try {
      result = this.task.invoke({ key, value, timestamp }, ctx);
    } catch (err) {
      this.abortTurn();
      throw new TaskCallbackError(this.taskName, 'invoke', ` for key ${describeKey(key)} at ${timestamp}`, err);
    }
    if (isThenable(result)) return this.settleElement(result, key, timestamp);
    backend.commitTurn();
    ctx.leave();
    this.busy = false;
    ctx.releaseOutputs();
  }

  private settleElement(result: PromiseLike<unknown>, key: K, timestamp: Instant): Promise<void> {
    return Promise.resolve(result).then(
      () => {
        this.backend.commitTurn();
        this.ctx.leave();
        this.busy = false;
        this.ctx.releaseOutputs();
      },
      (err: unknown) => {
        this.abortTurn();
        throw new TaskCallbackError(this.taskName, 'invoke', ` for key ${describeKey(key)} at ${timestamp}`, err);
      },
    );
  }

  /** Undoes the failed turn: its state and timer changes, and its outputs (never released). */
  private abortTurn(): void {
    this.backend.rollbackTurn();
    this.ctx.discardOutputs();
    this.ctx.leave();
    this.busy = false;
  }

  /** A turn of a callback without a key in scope (open, onWatermark, close): bound handles throw. */
  private beginKeylessTurn(): void {
    this.backend.clearCurrentKey();
    this.backend.beginTurn();
  }

  advanceWatermark(watermark: Instant): Instant | Promise<Instant> {
    if (this.busy || this.phase !== 'open') this.refuseTurn('advanceWatermark');
    const w = clampTime(watermark);
    if (w < this.input) throw new WatermarkRegressionError(this.input, watermark);
    this.busy = true;
    this.input = w;
    return this.fireDue(TimeDomain.EVENT_TIME, w);
  }

  advanceProcessingTime(time: Instant): void | Promise<void> {
    if (this.busy || this.phase !== 'open') this.refuseTurn('advanceProcessingTime');
    const t = clampTime(time);
    if (t > this.processing) this.processing = t;
    this.busy = true;
    const result = this.fireDue(TimeDomain.PROCESSING_TIME, this.processing);
    if (isThenable(result)) return Promise.resolve(result).then(() => undefined);
  }

  /**
   * Fires every timer of `domain` due at `upTo` (set strictly before it), earliest first, re-checking
   * after each firing so timers set while firing fire in the same call. For event time, then calls
   * onWatermark. Continues asynchronously from the first callback that returns a promise.
   */
  private fireDue(domain: TimeDomain, upTo: Instant): Instant | Promise<Instant> {
    const timers = this.backend.timerInternals;
    // The backend's bound is inclusive; Beam fires a timer once its clock has passed it.
    const anyDue = upTo > BoundedWindow.TIMESTAMP_MIN_VALUE;
    const dueAtOrBefore = anyDue ? instantPlus(upTo, -1) : upTo;
    while (anyDue) {
      // The turn starts before the timer is taken, so a rollback puts it back as it was (same
      // place in the firing order): a retry of the same advance fires it again.
      this.backend.beginTurn();
      const due = timers.removeNextDueTimer(domain, dueAtOrBefore);
      if (due === undefined) {
        this.backend.commitTurn();
        break;
      }
      const result = this.fireTimer(due);
      if (isThenable(result)) return Promise.resolve(result).then(() => this.fireDue(domain, upTo));
    }
    if (domain === TimeDomain.PROCESSING_TIME) {
      this.busy = false;
      return this.processing;
    }
    this.turn++;
    this.beginKeylessTurn();
    this.ctx.enterWatermark(upTo);
    let result: void | Promise<void>;
    try {
      result = this.task.onWatermark(upTo, this.ctx);
    } catch (err) {
      this.abortTurn();
      throw new TaskCallbackError(this.taskName, 'onWatermark', ` at ${upTo}`, err);
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        () => this.finishWatermark(),
        (err: unknown) => {
          this.abortTurn();
          throw new TaskCallbackError(this.taskName, 'onWatermark', ` at ${upTo}`, err);
        },
      );
    }
    return this.finishWatermark();
  }

  private finishWatermark(): Instant {
    this.backend.commitTurn();
    this.ctx.leave();
    this.busy = false;
    this.ctx.releaseOutputs();
    return this.outputWatermark;
  }

  /**
   * One timer turn (opened by fireDue, which took the timer inside it): its key in scope, then
   * onTimer. On failure the rollback re-arms the timer as it was and drops the attempt's changes
   * (including a new setting of the same timer), so a retry fires it again at its original time.
   */
  private fireTimer(data: TimerData<K>): void | Promise<void> {
    const fired = this.toFiredTimer(data);
    this.turn++;
    this.backend.setCurrentKey(fired.key);
    this.ctx.enterTimer(fired);
    this.options.timerFired?.(fired);
    let result: void | Promise<void>;
    try {
      result = this.task.onTimer(fired, this.ctx);
    } catch (err) {
      throw this.timerFailed(fired, err);
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        () => this.finishTimer(),
        (err: unknown) => {
          throw this.timerFailed(fired, err);
        },
      );
    }
    this.finishTimer();
  }

  private finishTimer(): void {
    this.backend.commitTurn();
    this.ctx.leave();
    this.ctx.releaseOutputs();
  }

  private timerFailed(fired: FiredTimer<K>, err: unknown): TaskCallbackError {
    this.abortTurn();
    return new TaskCallbackError(
      this.taskName,
      'onTimer',
      ` for timer '${fired.timerId}' of key ${describeKey(fired.key)} at ${fired.timestamp}`,
      err,
    );
  }

  private toFiredTimer(data: TimerData<K>): FiredTimer<K> {
    let timerId = data.timerId;
    let timerFamilyId = '';
    if (timerId.startsWith(FAMILY_MARK)) {
      const end = timerId.indexOf(FAMILY_MARK, 1);
      timerFamilyId = timerId.slice(1, end);
      timerId = timerId.slice(end + 1);
    }
    return {
      key: data.key as K,
      namespace: data.namespace,
      timerId,
      timerFamilyId,
      domain: data.domain,
      timestamp: data.timestamp,
      outputTimestamp: data.outputTimestamp,
    };
  }

  private refuseIfBusy(method: string): void {
    if (this.busy) {
      throw new TaskLifecycleError(
        `${method}() was called while a turn is still running: await the previous call's promise first`,
      );
    }
  }

  private refuseTurn(method: string): never {
    this.refuseIfBusy(method);
    throw new TaskLifecycleError(
      this.phase === 'created' || this.phase === 'restored'
        ? `${method}() before open(): call (and await) open() first`
        : `${method}() on a runner that is ${this.phase}: create a new runner`,
    );
  }
}

function scopeName(scope: Scope): string {
  return scope === 'none' ? 'between turns' : scope === 'watermark' ? 'onWatermark()' : `${scope}()`;
}

function describeKey(key: unknown): string {
  try {
    const s = typeof key === 'string' ? JSON.stringify(key) : String(key);
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    return '(unprintable key)';
  }
}
