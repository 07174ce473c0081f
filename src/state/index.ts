// The state API: Beam's state kinds on a namespace × tag table, StateInternals, and the keyed state
// backend with incremental checkpoints and timers. Curated: internals (cells, slots, part envelope
// details) stay unexported.
export type {
  State,
  ReadableState,
  ValueState,
  GroupingState,
  BagState,
  SetState,
  MapState,
  MultimapState,
  OrderedListState,
  CombineFn,
  CombineFnWithContext,
  StateContext,
  CombiningState,
  WatermarkHoldState,
} from './state.ts';
export { TimestampCombiner } from './state.ts';

export { StateNamespaces } from './state-namespace.ts';
export type { StateNamespace } from './state-namespace.ts';
export { StateTags } from './state-tag.ts';
export type { StateTag, StateSpec, StateKind } from './state-tag.ts';

export { InMemoryStateInternals } from './state-internals.ts';
export type { StateInternals, StateInternalsFactory } from './state-internals.ts';
export { StateMerging, createMergingStateAccessor } from './state-merging.ts';
export type { MergingStateAccessor } from './state-merging.ts';

export { TimeDomain } from './time-domain.ts';
export type { TimerData } from './timer-data.ts';
export type { TimerInternals } from './timer-internals.ts';
export { InMemoryTimerInternals, compareTimerData } from './in-memory-timer-internals.ts';

export type { KeyedStateBackend, CapturedChanges, MergeKeyGroupParts } from './keyed-state-backend.ts';
export { HeapKeyedStateBackend, createKeyedStateBackend } from './heap-keyed-state-backend.ts';
export type { KeyedStateBackendOptions, StateTierOptions } from './heap-keyed-state-backend.ts';
export type { LocalStateStore, LocalStoreHeads, LocalStoreWrite } from './local-state-store.ts';
export {
  DEFAULT_MAX_KEY_GROUPS,
  keyGroupFor,
  partitionForKeyGroup,
  keyGroupRangeForPartition,
  murmur3,
} from './key-group.ts';
export { mergeKeyGroupParts, PART_VERSION } from './key-group-part.ts';

export {
  StateError,
  StateTagConflictError,
  RestoredStateMismatchError,
  StatePartCorruptError,
  StatePartVersionError,
  StateValueNotEncodableError,
  LocalStateStoreError,
} from './state-errors.ts';
