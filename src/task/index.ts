// The task layer: StatefulTask (what users extend), timers, the runner that drives a task, and the
// TaskHarness for users' tests. Curated: internals (contexts, backend adapter) stay unexported.
export { StatefulTask } from './stateful-task.ts';
export type { Message } from './stateful-task.ts';
export type { TaskContext, OutputContext, ProcessContext, TimerContext, WatermarkContext } from './task-context.ts';
export { TimerSpecs, NO_OUTPUT_TIMESTAMP } from './timer.ts';
export type { Timer, TimerMap, TimerSpec, FiredTimer } from './timer.ts';
export { createTaskRunner } from './create-task-runner.ts';
export type {
  TaskRunner,
  TaskRunnerOptions,
  TaskOutput,
  OutputReceiver,
  TaskCapture,
  TaskRestore,
} from './task-runner.ts';
export {
  TaskLifecycleError,
  TaskCallbackError,
  TaskFactoryError,
  TaskAbandonedError,
  WatermarkRegressionError,
  OutputTimestampError,
  TimerError,
} from './task-errors.ts';
export { TaskHarness } from './task-harness.ts';
export type { TaskHarnessOptions, TaskSnapshot } from './task-harness.ts';
