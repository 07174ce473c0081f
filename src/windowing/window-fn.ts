import type { BoundedWindow, Coder, Instant } from '../../coders/index.ts';

/** One merge a merging WindowFn asks for: these windows become `mergeResult` (Beam's MergeContext.merge). */
export interface WindowMerge<W extends BoundedWindow> {
  readonly toBeMerged: readonly W[];
  readonly mergeResult: W;
}

/**
 * How elements are put into windows (Beam's WindowFn): `assignWindows` gives the windows of an
 * element by its timestamp; a merging WindowFn (Sessions) also says which of a key's windows merge.
 */
export interface WindowFn<W extends BoundedWindow> {
  /** The windows an element with this timestamp belongs to (Beam's assignWindows). */
  assignWindows(timestamp: Instant): W[];
  /** False for WindowFns whose windows may merge (Sessions). */
  isNonMerging(): boolean;
  /**
   * The merges among `windows` (a key's active windows), Beam's mergeWindows: each result
   * replaces the windows merged into it. A window in no merge stays as it is. Always empty for a
   * non-merging WindowFn.
   */
  mergeWindows(windows: readonly W[]): WindowMerge<W>[];
  /** The coder of this WindowFn's windows: state and timers of a window are keyed by its bytes. */
  windowCoder(): Coder<W>;
  /** Whether elements windowed by `other` may be grouped with these (Beam's isCompatible). */
  isCompatible(other: WindowFn<BoundedWindow>): boolean;
  /** Whether every element goes to exactly one window (Beam's assignsToOneWindow). */
  assignsToOneWindow(): boolean;
  toString(): string;
}
