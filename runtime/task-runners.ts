import { keyGroupFor, partitionForKeyGroup } from '../src/state/index.ts';
import { createTaskRunner } from '../src/task/index.ts';
import type { StatefulTask } from '../src/task/index.ts';
import type { JobFiles } from '../src/files/index.ts';
import type { KeyGrouping } from './engine/key-router.ts';
import type { RunnerFactory } from './engine/pipeline.ts';
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
      return createTaskRunner(step.factory() as StatefulTask<unknown, unknown, unknown>, {
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
