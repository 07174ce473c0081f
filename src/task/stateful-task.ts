import type { Instant } from '../../coders/index.ts';
import type { State, WatermarkHoldState } from '../state/state.ts';
import type { StateNamespace } from '../state/state-namespace.ts';
import type { StateTag } from '../state/state-tag.ts';
import type { TimeDomain } from '../state/time-domain.ts';
import type { ProcessContext, TaskContext, TimerContext, WatermarkContext } from './task-context.ts';
import { TaskLifecycleError } from './task-errors.ts';
import type { FiredTimer, Timer, TimerMap, TimerSpec } from './timer.ts';

/** One input message: its key, value and event time (Gearpump's Message, with the key made explicit). */
export interface Message<In, K> {
  readonly key: K;
  readonly value: In;
  /** Event time, epoch milliseconds. */
  readonly timestamp: Instant;
}

/** What a task asks of the runner it is attached to. Internal. */
export interface TaskBinding {
  state<S extends State | WatermarkHoldState>(namespace: StateNamespace | undefined, tag: StateTag<S>): S;
  timer(timerId: string, domain: TimeDomain | TimerSpec, namespace: StateNamespace | undefined): Timer;
  timerFamily(timerFamilyId: string, domain: TimeDomain | TimerSpec, namespace: StateNamespace | undefined): TimerMap;
}

// Registered (Symbol.for), not module-private: a job compiled to CommonJS may get its own copy of
// stator's modules (tsx transpiles what it requires), and its tasks must still attach to this runner.
const binding = Symbol.for('stator.taskBinding');

/**
 * A keyed, stateful task: extend it, obtain state handles and timers in `open()`, handle messages in
 * `invoke()`. The runner calls the methods one at a time (never concurrently), each with the key of
 * the message or timer in scope:
 *
 *   open(ctx)                  once, after state was restored: obtain handles here
 *   invoke(message, ctx)       each message, its key in scope (Gearpump's invoke, Beam's @ProcessElement)
 *   onTimer(timer, ctx)        each fired timer, its key in scope (Beam's @OnTimer)
 *   onWatermark(wm, ctx)       after the input watermark advanced and due timers fired (Gearpump's onWatermarkProgress)
 *   close(ctx)                 once, at the end
 *
 * Handles from `this.state(tag)` and `this.timer(id, domain)` are bound to "the key in scope": one
 * handle obtained in open() reads and writes the cells of whichever key the current turn is for,
 * like a Beam state parameter or a Flink keyed state. Each method may return a promise; the runner
 * waits for it before the next message (the key stays in scope until it settles).
 *
 * Replays after a crash must produce the same outputs: keep the task deterministic. Reading
 * Date.now() or Math.random(), or relying on processing-time timers, makes a replayed run differ from
 * the original (see docs/beam-compat.md, "Determinism").
 */
export abstract class StatefulTask<In, Out, K = string> {
  /**
   * How far before the element's timestamp outputs and timer output timestamps may go (Beam's
   * DoFn.getAllowedTimestampSkew), in ms. Default 0. Override as a field:
   * `override allowedTimestampSkewMs = 5_000`.
   */
  allowedTimestampSkewMs = 0;

  /** @internal set by the runner before open(). */
  [binding]: TaskBinding | undefined = undefined;

  /** Called once, after state was restored, before any message. Obtain state handles and timers here. */
  open(_ctx: TaskContext): void | Promise<void> {}

  /** Handles one message with its key in scope. */
  abstract invoke(message: Message<In, K>, ctx: ProcessContext<Out, K>): void | Promise<void>;

  /** Handles a fired timer with its key in scope, in timestamp order. The default ignores it. */
  onTimer(_timer: FiredTimer<K>, _ctx: TimerContext<Out, K>): void | Promise<void> {}

  /** Called after the input watermark advanced (and due event-time timers fired). No key is in scope. */
  onWatermark(_watermark: Instant, _ctx: WatermarkContext<Out, K>): void | Promise<void> {}

  /** Called once when the runner closes. */
  close(_ctx: TaskContext): void | Promise<void> {}

  /**
   * The state cell `tag` in the global namespace (or `namespace`) of the key in scope at each call.
   * Call it in open() (or later); the handle stays valid for the task's life.
   * @throws TaskLifecycleError before the task is attached to a runner (e.g. in a constructor or
   *   field initializer): declare tags as fields, obtain handles in open().
   */
  protected state<S extends State | WatermarkHoldState>(tag: StateTag<S>): S;
  protected state<S extends State | WatermarkHoldState>(namespace: StateNamespace, tag: StateTag<S>): S;
  protected state<S extends State | WatermarkHoldState>(a: StateNamespace | StateTag<S>, b?: StateTag<S>): S {
    if (b === undefined) return this.bound().state(undefined, a as StateTag<S>);
    return this.bound().state(a as StateNamespace, b);
  }

  /**
   * The timer `timerId` of the key in scope (Beam's @TimerId parameter), in the global namespace or
   * `namespace`. `domain` is a TimeDomain or a TimerSpec from TimerSpecs.timer(domain).
   */
  protected timer(timerId: string, domain: TimeDomain | TimerSpec, namespace?: StateNamespace): Timer {
    return this.bound().timer(timerId, domain, namespace);
  }

  /** A family of timers with dynamic ids (Beam's @TimerFamily / TimerMap). */
  protected timerFamily(timerFamilyId: string, domain: TimeDomain | TimerSpec, namespace?: StateNamespace): TimerMap {
    return this.bound().timerFamily(timerFamilyId, domain, namespace);
  }

  private bound(): TaskBinding {
    const b = this[binding];
    if (b === undefined) {
      throw new TaskLifecycleError(
        `${this.constructor.name} asked for state or a timer before it was attached to a runner: ` +
          'declare StateTags as fields and obtain handles in open()',
      );
    }
    return b;
  }
}

/** Attaches a task to its runner (internal to src/task). */
export function attachTask(task: StatefulTask<unknown, unknown, unknown>, b: TaskBinding): void {
  if (task[binding] !== undefined) {
    throw new TaskLifecycleError(`${task.constructor.name} is already attached to a runner: create a fresh task instance per runner`);
  }
  task[binding] = b;
}
