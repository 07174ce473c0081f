import {
  KvCoder,
  ListCoder,
  instantPlus,
  type BoundedWindow,
  type Coder,
  type Instant,
  type KV,
} from '../../coders/index.ts';
import type { State, ValueState } from '../state/state.ts';
import { StateNamespaces, type StateNamespace } from '../state/state-namespace.ts';
import { StateTags, type StateTag } from '../state/state-tag.ts';
import { TimeDomain } from '../state/time-domain.ts';
import { StatefulTask, type Message } from '../task/stateful-task.ts';
import type { OutputContext, ProcessContext, TimerContext } from '../task/task-context.ts';
import type { FiredTimer } from '../task/timer.ts';
import { END_OF_GLOBAL_WINDOW } from './window-time.ts';
import type { WindowingStrategy } from './windowing-strategy.ts';
import { WindowingError } from './windowing-error.ts';

/** The timer id of the end-of-window timer, in the window's namespace. */
export const END_OF_WINDOW_TIMER = 'beam:end-of-window';
/**
 * The timer family of garbage-collection timers (window end + allowed lateness), in the global namespace, one timer per
 * window.
 */
export const GARBAGE_COLLECTION_TIMERS = 'beam:gc';

/** When a pane fires relative to the watermark (Beam's PaneInfo.Timing, the two a default trigger produces). */
export type FiringTiming = 'ON_TIME' | 'LATE';

/** The state of one window: what every WindowedTask callback can reach. */
export interface WindowContext<K, W extends BoundedWindow> {
  readonly key: K;
  /** The window (for a merging WindowFn, the merged window the element or firing belongs to). */
  readonly window: W;
  /** The cell `tag` of this window (in the window namespace where its state lives). */
  state<S extends State>(tag: StateTag<S>): S;
}

/** processValue's context: one element in one of its windows (Beam's ReduceFn.ProcessValueContext). */
export interface ProcessValueContext<In, K, W extends BoundedWindow> extends WindowContext<K, W> {
  readonly value: In;
  readonly timestamp: Instant;
}

/**
 * onMerge's context (Beam's ReduceFn.OnMergeContext): `access(tag)` is the state the merged window
 * will use, `accessInEachMergingWindow(tag)` the state of every window being merged (keyed by the
 * window holding it; the result's own state among them). It is a MergingStateAccessor, so
 * `StateMerging.mergeBags(c, TAG)` and friends take it as it is.
 */
export interface OnMergeContext<K, W extends BoundedWindow> {
  readonly key: K;
  /** The window the merge produces. */
  readonly window: W;
  /** The windows merged into it. */
  readonly mergingWindows: readonly W[];
  access<S extends State>(tag: StateTag<S>): S;
  accessInEachMergingWindow<S extends State>(tag: StateTag<S>): Map<W, S>;
}

/** onTrigger's context: a window fires (Beam's ReduceFn.OnTriggerContext), outputs go downstream. */
export interface OnTriggerContext<Out, K, W extends BoundedWindow> extends WindowContext<K, W> {
  /** ON_TIME when the watermark passed the end of the window; LATE for a late element's firing. */
  readonly timing: FiringTiming;
  /** Whether the window can fire no more (no allowed lateness left). */
  readonly isLast: boolean;
  /** Outputs under the key, at the end of the window (ON_TIME) or the late element's timestamp (LATE). */
  output(value: Out): void;
  outputWithTimestamp(value: Out, timestamp: Instant): void;
  /** @deprecated The same as `output`: use `output`, Beam's name. */
  emit(value: Out): void;
  /** @deprecated The same as `outputWithTimestamp`: use `outputWithTimestamp`, Beam's name. */
  emitWithTimestamp(value: Out, timestamp: Instant): void;
}

interface ActiveWindow<W> {
  /** The window as the WindowFn sees it (merged). */
  readonly window: W;
  /** The window whose namespace holds its state (merges keep one of the merged windows' namespaces). */
  readonly address: W;
}

/**
 * Beam's windowing for a keyed task, the way Beam's runners-core ReduceFnRunner does it for a
 * GroupByKey with the default trigger: each element is assigned to windows by the strategy's
 * WindowFn; state lives in window namespaces; a merging WindowFn (Sessions) merges a key's windows
 * and their state (`onMerge`, with StateMerging); an event-time timer at each window's end fires it
 * (`onTrigger`); elements later than the window end plus the allowed lateness are dropped; late
 * elements within the allowed lateness fire the window again (a LATE pane); a window's state is
 * cleared (`clearState`) after its last firing. Panes are discarding: state is cleared after every
 * firing.
 *
 * A subclass implements processValue, onTrigger and clearState (and onMerge for merging
 * WindowFns). It must not override invoke() or onTimer(); other timers it sets arrive at
 * onOtherTimer().
 */
export abstract class WindowedTask<In, Out, K, W extends BoundedWindow> extends StatefulTask<In, Out, K> {
  private readonly windowCoder: Coder<W>;
  private readonly activeWindowsTag: StateTag<ValueState<KV<W, W>[]>>;
  private activeWindowsHandle: ValueState<KV<W, W>[]> | undefined;
  /** Elements dropped as too late since this task started (not checkpointed; for tests and metrics). */
  droppedDueToLateness = 0;

  protected constructor(readonly windowing: WindowingStrategy<W>) {
    super();
    this.windowCoder = windowing.windowFn.windowCoder();
    const listCoder = ListCoder.of(KvCoder.of(this.windowCoder, this.windowCoder));
    this.activeWindowsTag = StateTags.makeSystemTagInternal(StateTags.value('beam:active-windows', listCoder));
  }

  /** Adds one element to one window's state (Beam's ReduceFn.processValue). */
  protected abstract processValue(c: ProcessValueContext<In, K, W>): void;

  /** Emits a window's result from its state (Beam's ReduceFn.onTrigger). */
  protected abstract onTrigger(c: OnTriggerContext<Out, K, W>): void;

  /** Clears a window's state after it fired (Beam's ReduceFn.clearState). */
  protected abstract clearState(c: WindowContext<K, W>): void;

  /**
   * Merges the state of windows being merged into one (Beam's ReduceFn.onMerge), e.g.
   * `StateMerging.mergeBags(c, PAGES)`. Called only when two or more of the merged windows hold
   * state. The default throws: a merging WindowFn needs it.
   */
  protected onMerge(c: OnMergeContext<K, W>): void {
    throw new WindowingError(
      `${this.constructor.name} uses ${this.windowing.windowFn} (a merging WindowFn) and windows ${c.mergingWindows.join(', ')} merged: override onMerge to merge their state (StateMerging.mergeBags(c, TAG), ...)`,
    );
  }

  /** Timers the subclass set itself (not the windowing's own). */
  protected onOtherTimer(_timer: FiredTimer<K>, _ctx: TimerContext<Out, K>): void | Promise<void> {}

  override invoke(message: Message<In, K>, ctx: ProcessContext<Out, K>): void {
    const fn = this.windowing.windowFn;
    const watermark = ctx.inputWatermark;
    for (const assigned of fn.assignWindows(message.timestamp)) {
      if (this.isExpired(assigned, watermark)) {
        this.droppedDueToLateness++;
        continue;
      }
      const active = fn.isNonMerging()
        ? { window: assigned, address: assigned }
        : this.mergeInto(assigned, message.key);
      this.processValue({
        key: message.key,
        window: active.window,
        value: message.value,
        timestamp: message.timestamp,
        state: (tag) => this.windowState(active.address, tag),
      });
      if (active.window.maxTimestamp() < watermark) {
        // The watermark already passed the end of the window: a late element fires it at once.
        this.fire(active, message.key, 'LATE', ctx);
      } else {
        this.timer(END_OF_WINDOW_TIMER, TimeDomain.EVENT_TIME, this.namespace(active.window)).set(
          active.window.maxTimestamp(),
        );
      }
      if (this.windowing.allowedLatenessMs > 0) {
        this.timerFamily(GARBAGE_COLLECTION_TIMERS, TimeDomain.EVENT_TIME).set(
          this.namespace(active.window).stringKey(),
          this.garbageCollectionTime(active.window),
        );
      }
    }
  }

  override async onTimer(timer: FiredTimer<K>, ctx: TimerContext<Out, K>): Promise<void> {
    if (timer.timerId === END_OF_WINDOW_TIMER && timer.timerFamilyId === '') {
      const window = this.windowOf(timer.namespace.stringKey());
      const active = this.findActive(window);
      if (active !== undefined) this.fire(active, timer.key, 'ON_TIME', ctx);
      return;
    }
    if (timer.timerFamilyId === GARBAGE_COLLECTION_TIMERS) {
      const window = this.windowOf(timer.timerId);
      const active = this.findActive(window);
      if (active !== undefined) this.retire(active, timer.key);
      return;
    }
    await this.onOtherTimer(timer, ctx);
  }

  /** Beam's LateDataDroppingDoFnRunner rule: the window's end plus allowed lateness is behind the watermark. */
  private isExpired(window: W, watermark: Instant): boolean {
    return this.garbageCollectionTime(window) < watermark;
  }

  private garbageCollectionTime(window: W): Instant {
    const t = BigInt(window.maxTimestamp()) + BigInt(this.windowing.allowedLatenessMs);
    return t >= END_OF_GLOBAL_WINDOW
      ? instantPlus(END_OF_GLOBAL_WINDOW, -1)
      : instantPlus(window.maxTimestamp(), this.windowing.allowedLatenessMs);
  }

  private fire(active: ActiveWindow<W>, key: K, timing: FiringTiming, ctx: OutputContext<Out, K>): void {
    const isLast = this.windowing.allowedLatenessMs === 0;
    const state = <S extends State>(tag: StateTag<S>): S => this.windowState(active.address, tag);
    this.onTrigger({
      key,
      window: active.window,
      timing,
      isLast,
      state,
      output: (value) => ctx.output(value),
      outputWithTimestamp: (value, timestamp) => ctx.outputWithTimestamp(value, timestamp),
      emit: (value) => ctx.output(value),
      emitWithTimestamp: (value, timestamp) => ctx.outputWithTimestamp(value, timestamp),
    });
    // Discarding panes: a later firing holds only what arrived after this one.
    this.clearState({ key, window: active.window, state });
    if (isLast) this.retire(active, key, false);
  }

  /** The window is done: its state is cleared and it leaves the active set. */
  private retire(active: ActiveWindow<W>, key: K, clear = true): void {
    if (clear) this.clearState({ key, window: active.window, state: (tag) => this.windowState(active.address, tag) });
    if (this.windowing.windowFn.isNonMerging()) return;
    const remaining = this.readActive().filter((a) => !a.window.equals(active.window));
    this.writeActive(remaining);
  }

  /**
   * Adds `assigned` to the key's active windows and applies the WindowFn's merges (Beam's
   * MergingActiveWindowSet): a merged window keeps the state namespace of the first merged window
   * that has state, and the others' state is merged into it by onMerge.
   */
  private mergeInto(assigned: W, key: K): ActiveWindow<W> {
    let active = this.readActive();
    // The element's own window, when not active yet, holds no state: a merge need not merge it.
    const fresh: ActiveWindow<W> | undefined = active.some((a) => a.window.equals(assigned))
      ? undefined
      : { window: assigned, address: assigned };
    if (fresh !== undefined) active.push(fresh);
    let target = assigned;
    for (const merge of this.windowing.windowFn.mergeWindows(active.map((a) => a.window))) {
      const parts = merge.toBeMerged.map((w) => active.find((a) => a.window.equals(w))!);
      const holders = parts.filter((a) => a !== fresh);
      const address = (holders[0] ?? parts[0]!).address;
      if (holders.length > 1) {
        const addresses = holders.map((h) => h.address);
        // One handle per (window, tag) for the whole merge, so StateMerging recognises the result
        // among the sources by identity.
        const handles = new Map<string, State>();
        const handle = <S extends State>(w: W, tag: StateTag<S>): S => {
          const id = `${this.namespace(w).stringKey()}|${tag.columnKey}`;
          let h = handles.get(id);
          if (h === undefined) handles.set(id, (h = this.windowState(w, tag)));
          return h as S;
        };
        this.onMerge({
          key,
          window: merge.mergeResult,
          mergingWindows: merge.toBeMerged,
          access: (tag) => handle(address, tag),
          accessInEachMergingWindow: <S extends State>(tag: StateTag<S>) =>
            new Map(addresses.map((w) => [w, handle(w, tag)] as [W, S])),
        });
      }
      for (const part of holders) {
        if (part.window.equals(merge.mergeResult)) continue;
        this.timer(END_OF_WINDOW_TIMER, TimeDomain.EVENT_TIME, this.namespace(part.window)).clear();
        if (this.windowing.allowedLatenessMs > 0)
          this.timerFamily(GARBAGE_COLLECTION_TIMERS, TimeDomain.EVENT_TIME)
            .get(this.namespace(part.window).stringKey())
            .clear();
      }
      if (merge.toBeMerged.some((w) => w.equals(target))) target = merge.mergeResult;
      active = active.filter((a) => !parts.includes(a));
      active.push({ window: merge.mergeResult, address });
    }
    this.writeActive(active);
    return active.find((a) => a.window.equals(target))!;
  }

  private readActive(): ActiveWindow<W>[] {
    return (this.activeWindows().read() ?? []).map((kv) => ({ window: kv.key, address: kv.value }));
  }

  private writeActive(active: readonly ActiveWindow<W>[]): void {
    if (active.length === 0) this.activeWindows().clear();
    else this.activeWindows().write(active.map((a) => ({ key: a.window, value: a.address })));
  }

  private findActive(window: W): ActiveWindow<W> | undefined {
    if (this.windowing.windowFn.isNonMerging()) return { window, address: window };
    return this.readActive().find((a) => a.window.equals(window));
  }

  private activeWindows(): ValueState<KV<W, W>[]> {
    this.activeWindowsHandle ??= this.state(this.activeWindowsTag);
    return this.activeWindowsHandle;
  }

  private namespace(window: W): StateNamespace {
    return StateNamespaces.window(this.windowCoder, window);
  }

  private windowState<S extends State>(address: W, tag: StateTag<S>): S {
    return this.state(this.namespace(address), tag);
  }

  /** The window of a namespace string key (restored timers may not carry the decoded window). */
  private windowOf(stringKey: string): W {
    const window = StateNamespaces.fromString(stringKey, this.windowCoder).window;
    if (window === undefined)
      throw new WindowingError(`timer namespace ${stringKey} is not a window namespace of ${this.windowing.windowFn}`);
    return window as W;
  }
}
