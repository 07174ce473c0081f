// Beam's windowing for task authors: WindowFns, the windowing strategy and WindowedTask.
export type { WindowFn, WindowMerge } from './window-fn.ts';
export { FixedWindows } from './fixed-windows.ts';
export { SlidingWindows } from './sliding-windows.ts';
export { Sessions } from './sessions.ts';
export { GlobalWindows } from './global-windows.ts';
export { mergeOverlappingIntervalWindows } from './merge-overlapping-interval-windows.ts';
export { WindowingStrategy } from './windowing-strategy.ts';
export { WindowingError } from './windowing-error.ts';
export { WindowedTask, END_OF_WINDOW_TIMER, GARBAGE_COLLECTION_TIMERS } from './windowed-task.ts';
export type {
  WindowContext,
  ProcessValueContext,
  OnMergeContext,
  OnTriggerContext,
  FiringTiming,
} from './windowed-task.ts';
