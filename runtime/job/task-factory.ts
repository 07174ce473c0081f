import type { StatefulTask } from '../../src/task/stateful-task.ts';

/**
 * Makes the task instance of one partition: each partition of a stage runs its own instance
 * (a task's fields are per-partition; its state is per key). Type parameters in StatefulTask's order.
 */
export type TaskFactory<In, Out, K> = () => StatefulTask<In, Out, K>;
