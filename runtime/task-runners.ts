import { keyGroupFor, partitionForKeyGroup } from '../src/state/index.ts';
import { createTaskRunner, TaskFactoryError } from '../src/task/index.ts';
import type { StatefulTask } from '../src/task/index.ts';
import { isStatefulTask } from '../src/task/stateful-task.ts';
import type { JobFiles } from '../src/files/index.ts';
import type { KeyGrouping } from './engine/key-router.ts';
import type { ProcessStep, RunnerFactory } from './engine/pipeline.ts';
import type { Job } from './job/job.ts';
import type { LocalState } from './state-backends/local-state.ts';

/**
 * How both runtime modes run a job's stateful stages: Beam's key groups (murmur3 of the key's bytes,
 * `maxKeyGroups` of the job) and one TaskRunner per partition with a fresh task instance, each
 * seeing the job's file area as `ctx.files`, its keyed state on the heap or (with `localState`
 * under the disk backend) in a heap cache over its local store.
 */
export function jobTaskRunners(
  job: Job,
  files?: JobFiles,
  localState?: LocalState,
): { readonly grouping: KeyGrouping; readonly createRunner: RunnerFactory; readonly localState?: LocalState } {
  return {
    ...(localState === undefined ? {} : { localState }),
    grouping: { maxKeyGroups: job.maxKeyGroups, keyGroupFor, partitionForKeyGroup },
    createRunner: (step, partition, output) => {
      const stateTier = localState?.tierFor(step.name, partition);
      return createTaskRunner(newTask(step), {
        keyCoder: step.keyCoder,
        maxKeyGroups: job.maxKeyGroups,
        partition,
        parallelism: step.parallelism,
        output,
        ...(files === undefined ? {} : { files }),
        ...(stateTier === undefined ? {} : { stateTier }),
      });
    },
  };
}

/**
 * A fresh task instance of `step`, from the factory given to `process()`. A factory that throws, or
 * returns anything but a StatefulTask (`() => MyTask` for `() => new MyTask()`, say), fails with
 * TaskFactoryError naming the stage, instead of failing later where the value is used.
 */
export function newTask(step: ProcessStep): StatefulTask<unknown, unknown, unknown> {
  let task: unknown;
  try {
    task = step.factory();
  } catch (error) {
    throw new TaskFactoryError(step.name, `threw: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  if (!isStatefulTask(task))
    throw new TaskFactoryError(
      step.name,
      `returned ${describeValue(task)}, not a StatefulTask: return a new instance of a class that extends StatefulTask, as in \`process(() => new MyTask())\``,
    );
  return task;
}

function describeValue(value: unknown): string {
  if (typeof value === 'function') return `the function ${value.name || '(anonymous)'} (missing \`new\`?)`;
  if (typeof value === 'object' && value !== null) return `an object of class ${value.constructor?.name ?? '(none)'}`;
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
