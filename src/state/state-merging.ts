import { BoundedWindow, type Coder, type Instant } from '../../coders/index.ts';
import type { BagState, CombiningState, SetState, State, WatermarkHoldState } from './state.ts';
import { TimestampCombiner } from './state.ts';
import { StateError } from './state-errors.ts';
import type { StateInternals } from './state-internals.ts';
import { StateNamespaces } from './state-namespace.ts';
import type { StateTag } from './state-tag.ts';

/**
 * The state of the windows being merged (Beam runners-core's MergingStateAccessor): `access(tag)`
 * is the state in the window the merge produces, `accessInEachMergingWindow(tag)` the state in each
 * window being merged into it (which may include the result window itself).
 */
export interface MergingStateAccessor<W extends BoundedWindow = BoundedWindow> {
  access<S extends State>(tag: StateTag<S>): S;
  accessInEachMergingWindow<S extends State>(tag: StateTag<S>): Map<W, S>;
}

/**
 * A MergingStateAccessor over one key's state: each window's state lives in the window namespace of
 * `windowCoder` (StateNamespaces.window). The result window may be one of `mergingWindows`.
 */
export function createMergingStateAccessor<W extends BoundedWindow>(
  internals: StateInternals,
  windowCoder: Coder<W>,
  mergingWindows: Iterable<W>,
  resultWindow: W,
): MergingStateAccessor<W> {
  const windows = [...mergingWindows];
  return {
    access<S extends State>(tag: StateTag<S>): S {
      return internals.state(StateNamespaces.window(windowCoder, resultWindow), tag);
    },
    accessInEachMergingWindow<S extends State>(tag: StateTag<S>): Map<W, S> {
      const states = new Map<W, S>();
      for (const w of windows) states.set(w, internals.state(StateNamespaces.window(windowCoder, w), tag));
      return states;
    },
  };
}

function isAccessor(x: unknown): x is MergingStateAccessor<BoundedWindow> {
  return typeof (x as MergingStateAccessor | undefined)?.accessInEachMergingWindow === 'function';
}

/** Beam compares state handles with equals(): two handles of one cell are the same state. */
function sameState(a: State, b: State): boolean {
  return a === b || a.equals(b);
}

function containsState(sources: readonly State[], state: State): boolean {
  return sources.some((s) => sameState(s, state));
}

/** Beam's TimestampCombiner.merge(window, timestamps): the combined hold of merged windows. */
function mergeTimestamps(combiner: TimestampCombiner, window: BoundedWindow, timestamps: readonly Instant[]): Instant {
  switch (combiner) {
    case TimestampCombiner.EARLIEST:
      return timestamps.reduce((a, b) => (b < a ? b : a));
    case TimestampCombiner.LATEST:
      return timestamps.reduce((a, b) => (b > a ? b : a));
    case TimestampCombiner.END_OF_WINDOW:
      return window.maxTimestamp();
  }
}

/**
 * Helpers for merging the state of merging windows (Beam runners-core's StateMerging), e.g. when
 * two sessions of a key become one. Each merge function moves the contents of every source into
 * `result` and clears the sources; `result` may be one of the sources (it keeps its contents).
 * Each has two forms, as in Beam: explicit handles `(sources, result)`, or a MergingStateAccessor
 * and a tag.
 *
 * The prefetch functions call `readLater()` on the states to be read (a hint: stator's state is in
 * memory, so they do no work beyond resolving the handles).
 */
export const StateMerging = {
  /** Clears the state of `tag` in every window under merge (the result window too, when among them). */
  clear<S extends State>(context: MergingStateAccessor, tag: StateTag<S>): void {
    for (const state of context.accessInEachMergingWindow(tag).values()) state.clear();
  },

  /** Prefetch hint for the bags of every merging window except the result's. */
  prefetchBags<T>(context: MergingStateAccessor, tag: StateTag<BagState<T>>): void {
    const map = context.accessInEachMergingWindow(tag);
    if (map.size === 0) return;
    const result = context.access(tag);
    for (const source of map.values()) if (!sameState(source, result)) source.readLater();
  },

  /**
   * Moves every element of the `sources` bags into `result` (appended after its own, source by
   * source in the order given) and clears the sources other than `result`.
   */
  mergeBags<T>(
    sourcesOrContext: Iterable<BagState<T>> | MergingStateAccessor,
    resultOrTag: BagState<T> | StateTag<BagState<T>>,
  ): void {
    if (isAccessor(sourcesOrContext)) {
      const tag = resultOrTag as StateTag<BagState<T>>;
      StateMerging.mergeBags(sourcesOrContext.accessInEachMergingWindow(tag).values(), sourcesOrContext.access(tag));
      return;
    }
    moveElements([...sourcesOrContext], resultOrTag as BagState<T>);
  },

  /** As mergeBags, for sets: `result` ends up with the union, the other sources empty. */
  mergeSets<T>(
    sourcesOrContext: Iterable<SetState<T>> | MergingStateAccessor,
    resultOrTag: SetState<T> | StateTag<SetState<T>>,
  ): void {
    if (isAccessor(sourcesOrContext)) {
      const tag = resultOrTag as StateTag<SetState<T>>;
      StateMerging.mergeSets(sourcesOrContext.accessInEachMergingWindow(tag).values(), sourcesOrContext.access(tag));
      return;
    }
    moveElements([...sourcesOrContext], resultOrTag as SetState<T>);
  },

  /** Prefetch hint for the combining values of every merging window. */
  prefetchCombiningValues<S extends CombiningState<any, any, any>>(
    context: MergingStateAccessor,
    tag: StateTag<S>,
  ): void {
    for (const state of context.accessInEachMergingWindow(tag).values()) state.readLater();
  },

  /**
   * Merges the accumulators of `sources` with `result`'s CombineFn (mergeAccumulators), clears every
   * source, then adds the merged accumulator to `result` (addAccum). Nothing happens when the only
   * source is `result` itself.
   */
  mergeCombiningValues<In, A, Out>(
    sourcesOrContext: Iterable<CombiningState<In, A, Out>> | MergingStateAccessor,
    resultOrTag: CombiningState<In, A, Out> | StateTag<CombiningState<In, A, Out>>,
  ): void {
    if (isAccessor(sourcesOrContext)) {
      const tag = resultOrTag as StateTag<CombiningState<In, A, Out>>;
      StateMerging.mergeCombiningValues(
        sourcesOrContext.accessInEachMergingWindow(tag).values(),
        sourcesOrContext.access(tag),
      );
      return;
    }
    const sources = [...sourcesOrContext];
    const result = resultOrTag as CombiningState<In, A, Out>;
    if (sources.length === 0) return;
    if (sources.length === 1 && sameState(sources[0]!, result)) return;
    for (const source of sources) source.readLater();
    const accumulators = sources.map((source) => source.getAccum());
    // May update and return one of the accumulators read above: the sources are cleared only after.
    const merged = result.mergeAccumulators(accumulators);
    for (const source of sources) source.clear();
    result.addAccum(merged);
  },

  /** Prefetch hint for the holds of every merging window, where the merge will read them. */
  prefetchWatermarks(context: MergingStateAccessor, tag: StateTag<WatermarkHoldState>): void {
    const map = context.accessInEachMergingWindow(tag);
    if (map.size === 0) return;
    const result = context.access(tag);
    const combiner = result.getTimestampCombiner();
    if (map.size === 1 && containsState([...map.values()], result) && combiner === TimestampCombiner.EARLIEST) return;
    if (combiner === TimestampCombiner.END_OF_WINDOW) return;
    for (const source of map.values()) source.readLater();
  },

  /**
   * Merges the watermark holds of `sources` into `result` for the merged window `resultWindow`, with
   * `result`'s TimestampCombiner: END_OF_WINDOW clears the sources and holds at the end of
   * `resultWindow` (its maxTimestamp); EARLIEST and LATEST hold at the earliest / latest of the
   * sources' holds (none when no source held). Nothing happens when the only source is `result`
   * and the combiner is EARLIEST.
   * @throws StateError when END_OF_WINDOW would hold at or before TIMESTAMP_MIN_VALUE.
   */
  mergeWatermarks<W extends BoundedWindow>(
    sourcesOrContext: Iterable<WatermarkHoldState> | MergingStateAccessor,
    resultOrTag: WatermarkHoldState | StateTag<WatermarkHoldState>,
    resultWindow: W,
  ): void {
    if (isAccessor(sourcesOrContext)) {
      const tag = resultOrTag as StateTag<WatermarkHoldState>;
      StateMerging.mergeWatermarks(
        sourcesOrContext.accessInEachMergingWindow(tag).values(),
        sourcesOrContext.access(tag),
        resultWindow,
      );
      return;
    }
    const sources = [...sourcesOrContext];
    const result = resultOrTag as WatermarkHoldState;
    if (sources.length === 0) return;
    const combiner = result.getTimestampCombiner();
    if (sources.length === 1 && sameState(sources[0]!, result) && combiner === TimestampCombiner.EARLIEST) return;
    if (combiner === TimestampCombiner.END_OF_WINDOW) {
      for (const source of sources) source.clear();
      // Beam: END_OF_WINDOW.assign(window, TIMESTAMP_MIN_VALUE), checked to lie after TIMESTAMP_MIN_VALUE.
      const hold = resultWindow.maxTimestamp();
      if (!(hold > BoundedWindow.TIMESTAMP_MIN_VALUE))
        throw new StateError(
          `cannot merge END_OF_WINDOW holds: window ${String(resultWindow)} ends at or before TIMESTAMP_MIN_VALUE`,
        );
      result.add(hold);
      return;
    }
    const holds: Instant[] = [];
    for (const source of sources) {
      const t = source.read();
      if (t !== null) holds.push(t);
    }
    for (const source of sources) source.clear();
    if (holds.length > 0) result.add(mergeTimestamps(combiner, resultWindow, holds));
  },
};

/** Beam's bag/set transfer: read every source but `result`, add to `result`, then clear those sources. */
function moveElements<T>(sources: readonly (BagState<T> | SetState<T>)[], result: BagState<T> | SetState<T>): void {
  if (sources.length === 0) return;
  const others = sources.filter((source) => !sameState(source, result));
  if (others.length === 0) return;
  for (const source of others) source.readLater();
  // Read all before adding: a source listed twice, or equal to another, must not see its own adds.
  const elements = others.map((source) => [...source.read()]);
  for (const list of elements) for (const element of list) result.add(element);
  for (const source of others) source.clear();
}
