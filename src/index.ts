// stator's public API: what a task author imports (`import { StatefulTask, StateTags } from 'stator'`).
// Curated: the state kinds, tags and namespaces, StatefulTask and timers, the TaskHarness for tests,
// and the commonly used coders. Backend, checkpoint-format and runtime internals have their own
// entry points (`stator/coders`, `stator/runtime`) or stay internal.

// ---- tasks and timers ---------------------------------------------------------------------------
// The runner plumbing (createTaskRunner, TaskRunner, TaskCapture, TaskRestore, OutputReceiver) is the
// runtime's, not a task author's: it stays internal. TaskHarness is also in 'stator/testing'.
export { StatefulTask, TimerSpecs, NO_OUTPUT_TIMESTAMP, TaskHarness } from './task/index.ts';
export type {
  Message,
  TaskContext,
  OutputContext,
  ProcessContext,
  TimerContext,
  WatermarkContext,
  Timer,
  TimerMap,
  TimerSpec,
  FiredTimer,
  TaskHarnessOptions,
  TaskSnapshot,
  TaskOutput,
} from './task/index.ts';
export {
  TaskLifecycleError,
  TaskCallbackError,
  TaskFactoryError,
  TaskAbandonedError,
  WatermarkRegressionError,
  OutputTimestampError,
  TimerError,
} from './task/index.ts';

// ---- the job's file area (ctx.files; implementations in stator/runtime) -------------------------
export {
  FileNameError,
  FileNotFoundError,
  FileDigestMismatchError,
  FilesLimitExceededError,
  FileCorruptError,
  FilesClosedError,
  FilesUnavailableError,
} from './files/index.ts';
export type { JobFiles, FileData, FileEntry, FileInfo, PutOptions } from './files/index.ts';

// ---- state ----------------------------------------------------------------------------------------
export {
  StateTags,
  StateNamespaces,
  TimeDomain,
  TimestampCombiner,
  InMemoryStateInternals,
  StateMerging,
  createMergingStateAccessor,
  InMemoryTimerInternals,
} from './state/index.ts';
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
  StateTag,
  StateNamespace,
  StateInternals,
  MergingStateAccessor,
} from './state/index.ts';
export {
  StateError,
  StateTagConflictError,
  RestoredStateMismatchError,
  StateValueNotEncodableError,
} from './state/index.ts';

// ---- windowing (Beam's WindowFns and a ReduceFnRunner-style windowed task) ----------------------
export {
  WindowedTask,
  WindowingStrategy,
  FixedWindows,
  SlidingWindows,
  Sessions,
  GlobalWindows,
  WindowingError,
} from './windowing/index.ts';
export type {
  WindowFn,
  WindowMerge,
  WindowContext,
  ProcessValueContext,
  OnMergeContext,
  OnTriggerContext,
  FiringTiming,
} from './windowing/index.ts';

// ---- coders, time and windows (the full set is in 'stator/coders') ----------------------------
export {
  StatorError,
  CoderError,
  CoderUtils,
  StringUtf8Coder,
  VarIntCoder,
  VarLongCoder,
  VarLongNumberCoder,
  BooleanCoder,
  DoubleCoder,
  ByteArrayCoder,
  InstantCoder,
  KvCoder,
  KV,
  ListCoder,
  SetCoder,
  MapCoder,
  NullableCoder,
  JsonCoder,
  MsgpackCoder,
  TimestampedValue,
  BoundedWindow,
  GlobalWindow,
  IntervalWindow,
  GlobalWindowCoder,
  IntervalWindowCoder,
} from '../coders/index.ts';
export type { Coder, Instant } from '../coders/index.ts';
