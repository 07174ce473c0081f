// `stator/testing`: what a task author's tests import. The TaskHarness drives a task in memory (no
// runtime, no files): process messages, advance watermarks and processing time, fire timers, inspect
// state and outputs, snapshot and restore as a crash and restart would.
export { TaskHarness } from './task/index.ts';
export type { TaskHarnessOptions, TaskSnapshot, FiredTimer, TaskOutput } from './task/index.ts';
