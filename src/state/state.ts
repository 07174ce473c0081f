// CONTRACT: Beam's state kinds (org.apache.beam.sdk.state), as TypeScript interfaces.
// Semantics follow Beam's javadoc; where Beam's runners disagree, stator's choice is documented on
// the method and in docs/beam-compat.md.

/** Any state cell. */
export interface State {
  /** Removes the cell's contents; reading it afterwards gives the empty value of its kind. */
  clear(): void;
  /**
   * Whether `other` is a handle of the same cell (Beam compares state handles with equals()): same
   * StateInternals or task, key, namespace and tag id.
   */
  equals(other: unknown): boolean;
}

/**
 * A value that can be read, possibly later (Beam's ReadableState).
 *
 * As in Beam, a ReadableState returned by isEmpty(), MapState.get/getOrDefault/keys/values/entries
 * and the MultimapState reads is deferred: it is read at read(), so one obtained before an add or
 * put sees the change. It reads the key its handle acted on when it was obtained, whatever key is in
 * scope at read(). SetState.contains/addIfAbsent and MapState.putIfAbsent/computeIfAbsent answer at
 * the call. An Iterable returned by read() is a snapshot: later writes do not show in it.
 *
 * `readLater()` is Beam's prefetch hint. stator's state is in memory, so it does nothing and
 * returns the same object: it neither reads early nor fixes the value.
 */
export interface ReadableState<T> {
  read(): T;
  /** Hints that read() will be called (a no-op here); returns this. */
  readLater(): ReadableState<T>;
}

/** A single value; `read()` is null when unset. */
export interface ValueState<T> extends State, ReadableState<T | null> {
  write(value: T): void;
  readLater(): ValueState<T>;
}

/** Beam's GroupingState: accepts inputs, reads an output. */
export interface GroupingState<In, Out> extends State, ReadableState<Out> {
  add(value: In): void;
  isEmpty(): ReadableState<boolean>;
  readLater(): GroupingState<In, Out>;
}

/** An unordered multiset of values, read in insertion order. */
export interface BagState<T> extends GroupingState<T, Iterable<T>> {
  readLater(): BagState<T>;
}

/** A set of values, compared by their coder's structural value. */
export interface SetState<T> extends GroupingState<T, Iterable<T>> {
  contains(value: T): ReadableState<boolean>;
  /** Adds `value` when absent; the result reads true when it was absent (it was added). */
  addIfAbsent(value: T): ReadableState<boolean>;
  remove(value: T): void;
  readLater(): SetState<T>;
}

/** A map, keys compared by their coder's structural value. */
export interface MapState<K, V> extends State {
  put(key: K, value: V): void;
  /** Puts `value` unless `key` is present; reads the value that was there before (null when absent). */
  putIfAbsent(key: K, value: V): ReadableState<V | null>;
  /** Computes and puts a value unless `key` is present; reads the value that was there before (null when absent). */
  computeIfAbsent(key: K, mapping: (key: K) => V): ReadableState<V | null>;
  remove(key: K): void;
  get(key: K): ReadableState<V | null>;
  getOrDefault(key: K, defaultValue: V | null): ReadableState<V | null>;
  keys(): ReadableState<Iterable<K>>;
  values(): ReadableState<Iterable<V>>;
  entries(): ReadableState<Iterable<[K, V]>>;
  isEmpty(): ReadableState<boolean>;
}

/** A map from a key to many values. */
export interface MultimapState<K, V> extends State {
  put(key: K, value: V): void;
  get(key: K): ReadableState<Iterable<V>>;
  /** Removes every value under `key`. */
  remove(key: K): void;
  keys(): ReadableState<Iterable<K>>;
  entries(): ReadableState<Iterable<[K, V]>>;
  containsKey(key: K): ReadableState<boolean>;
  isEmpty(): ReadableState<boolean>;
}

import type { BoundedWindow, Coder, CoderRegistry, Instant, TimestampedValue } from '../../coders/index.ts';
import type { StateNamespace } from './state-namespace.ts';
/** A value with an event-time timestamp (re-exported from coders/). */
export type { TimestampedValue } from '../../coders/index.ts';

/** Values sorted by timestamp; equal timestamps keep insertion order. Ranges are half-open [min, limit). */
export interface OrderedListState<T> extends GroupingState<TimestampedValue<T>, Iterable<TimestampedValue<T>>> {
  readRange(minTimestamp: Instant, limitTimestamp: Instant): Iterable<TimestampedValue<T>>;
  clearRange(minTimestamp: Instant, limitTimestamp: Instant): void;
  readLater(): OrderedListState<T>;
}

/** Beam's CombineFn. */
export interface CombineFn<In, Accum, Out> {
  createAccumulator(): Accum;
  addInput(accumulator: Accum, input: In): Accum;
  mergeAccumulators(accumulators: Iterable<Accum>): Accum;
  extractOutput(accumulator: Accum): Out;
  /**
   * The accumulator coder for inputs encoded with `inputCoder` (Beam's getAccumulatorCoder), used by
   * StateTags.combiningValueFromInputInternal. Optional: Beam's default infers it from the Java
   * type, which TypeScript does not have at run time, so a CombineFn without it needs an explicit
   * accumulator coder (StateTags.combiningValue).
   */
  getAccumulatorCoder?(registry: CoderRegistry, inputCoder: Coder<In>): Coder<Accum>;
}

/**
 * What a CombineFnWithContext sees of the state it combines for (Beam's StateContext, reduced to what
 * stator has: no pipeline options, no side inputs).
 */
export interface StateContext {
  /** The namespace of the combining cell. */
  readonly namespace: StateNamespace;
  /**
   * The window of the cell's namespace (Beam's StateContext.window()).
   * @throws StateError when the namespace has no window (global, or restored without a window coder).
   */
  window(): BoundedWindow;
}

/** Beam's CombineFnWithContext: a CombineFn whose every method also gets the state's context. */
export interface CombineFnWithContext<In, Accum, Out> {
  createAccumulator(c: StateContext): Accum;
  addInput(accumulator: Accum, input: In, c: StateContext): Accum;
  mergeAccumulators(accumulators: Iterable<Accum>, c: StateContext): Accum;
  extractOutput(accumulator: Accum, c: StateContext): Out;
}

/** A combining cell: inputs folded into an accumulator with a CombineFn. */
export interface CombiningState<In, Accum, Out> extends GroupingState<In, Out> {
  getAccum(): Accum;
  addAccum(accumulator: Accum): void;
  mergeAccumulators(accumulators: Iterable<Accum>): Accum;
  readLater(): CombiningState<In, Accum, Out>;
}

/** How watermark holds (and output timestamps) combine (Beam's TimestampCombiner). */
export const TimestampCombiner = {
  EARLIEST: 'EARLIEST',
  LATEST: 'LATEST',
  END_OF_WINDOW: 'END_OF_WINDOW',
} as const;
export type TimestampCombiner = (typeof TimestampCombiner)[keyof typeof TimestampCombiner];

/** A watermark hold: the output watermark may not pass the held timestamp while it is set. */
export interface WatermarkHoldState extends GroupingState<Instant, Instant | null> {
  getTimestampCombiner(): TimestampCombiner;
  readLater(): WatermarkHoldState;
}
