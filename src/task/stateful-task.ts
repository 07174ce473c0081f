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
// What a handle declared before attachment answers to: the function that binds it for real.
const bindDeclared = Symbol.for('stator.bindDeclaredHandle');

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
 * like a Beam state parameter or a Flink keyed state. They may also be declared once, as fields
 * (`private readonly count = this.state(COUNT)`): such a handle binds when the runner opens the task. Each method may
 * return a promise; the runner waits for it before the next message (the key stays in scope until it settles).
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

  /**
   * Called once when the runner closes: after a run's final checkpoint, and when the run fails (once
   * the turn under way, abandoned through ctx.signal, has settled). Release what open() took here.
   */
  close(_ctx: TaskContext): void | Promise<void> {}

  /**
   * The state cell `tag` in the global namespace (or `namespace`) of the key in scope at each call.
   * Declare it as a field initializer or obtain it in open(); the handle stays valid for the task's
   * life. A handle declared before the runner attaches the task binds just before open(); using it
   * before then (in a constructor) throws TaskLifecycleError.
   */
  protected state<S extends State | WatermarkHoldState>(tag: StateTag<S>): S;
  protected state<S extends State | WatermarkHoldState>(namespace: StateNamespace, tag: StateTag<S>): S;
  protected state<S extends State | WatermarkHoldState>(a: StateNamespace | StateTag<S>, b?: StateTag<S>): S {
    const [namespace, tag] = b === undefined ? [undefined, a as StateTag<S>] : [a as StateNamespace, b];
    if (this[binding] === undefined) return declaredHandle(() => this.bound().state(namespace, tag));
    return this[binding].state(namespace, tag);
  }

  /**
   * The timer `timerId` of the key in scope (Beam's @TimerId parameter), in the global namespace or
   * `namespace`. `domain` is a TimeDomain or a TimerSpec from TimerSpecs.timer(domain).
   */
  protected timer(timerId: string, domain: TimeDomain | TimerSpec, namespace?: StateNamespace): Timer {
    if (this[binding] === undefined) return declaredHandle(() => this.bound().timer(timerId, domain, namespace));
    return this[binding].timer(timerId, domain, namespace);
  }

  /** A family of timers with dynamic ids (Beam's @TimerFamily / TimerMap). */
  protected timerFamily(timerFamilyId: string, domain: TimeDomain | TimerSpec, namespace?: StateNamespace): TimerMap {
    if (this[binding] === undefined)
      return declaredHandle(() => this.bound().timerFamily(timerFamilyId, domain, namespace));
    return this[binding].timerFamily(timerFamilyId, domain, namespace);
  }

  private bound(): TaskBinding {
    const b = this[binding];
    if (b === undefined) {
      throw new TaskLifecycleError(
        `${this.constructor.name} used a state or timer handle before it was attached to a runner (in a constructor?): ` +
          'declare handles as fields or obtain them in open(), and use them from open() on',
      );
    }
    return b;
  }
}

/**
 * Whether `value` is a StatefulTask instance, of this copy of stator or another (a job may load its
 * own copy; see `binding`). Internal.
 */
export function isStatefulTask(value: unknown): value is StatefulTask<unknown, unknown, unknown> {
  return typeof value === 'object' && value !== null && binding in value;
}

/** Attaches a task to its runner (internal to src/task). */
export function attachTask(task: StatefulTask<unknown, unknown, unknown>, b: TaskBinding): void {
  if (task[binding] !== undefined) {
    throw new TaskLifecycleError(
      `${task.constructor.name} is already attached to a runner: create a fresh task instance per runner`,
    );
  }
  task[binding] = b;
}

/**
 * A handle declared before the task was attached (a field initializer): it forwards to the handle
 * `bind` returns, binding on first use. bindDeclaredHandles replaces such fields with the bound handle
 * before open(), so the hot path never goes through the proxy; one kept elsewhere still works.
 */
function declaredHandle<T extends object>(bind: () => T): T {
  let bound: T | undefined;
  const target = (): T => (bound ??= bind());
  return new Proxy(Object.create(null) as T, {
    get(_, property) {
      if (property === bindDeclared) return target;
      const handle = target();
      const value: unknown = Reflect.get(handle, property, handle);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(handle) : value;
    },
    has: (_, property) => property === bindDeclared || Reflect.has(target(), property),
    getPrototypeOf: () => Reflect.getPrototypeOf(target()),
  });
}

/** Binds the handles a task declared as fields, and puts the bound handles in those fields. */
export function bindDeclaredHandles(task: StatefulTask<unknown, unknown, unknown>): void {
  for (const field of Object.keys(task)) {
    const value: unknown = (task as unknown as Record<string, unknown>)[field];
    if (typeof value !== 'object' || value === null) continue;
    const bind = (value as { [bindDeclared]?: unknown })[bindDeclared];
    if (typeof bind !== 'function') continue;
    const descriptor = Object.getOwnPropertyDescriptor(task, field);
    const handle: unknown = (bind as () => unknown)();
    // A readonly field is still a writable own property at run time; a frozen one keeps its proxy.
    if (descriptor?.writable === true) (task as unknown as Record<string, unknown>)[field] = handle;
  }
}
