import { BoundedWindow, normalizeInstant, type Coder, type Instant } from '../../coders/index.ts';
import { DEFAULT_MAX_KEY_GROUPS } from '../state/key-group.ts';
import { TaskLifecycleError } from './task-errors.ts';
import type { OutputReceiver, TaskRunnerOptions } from './task-runner.ts';
import type { JobFiles } from '../files/job-files.ts';
import type { StateTierOptions } from '../state/heap-keyed-state-backend.ts';
import type { FiredTimer } from './timer.ts';

/** TaskRunnerOptions with defaults filled in and checked. Internal. */
export interface ResolvedOptions<Out, K> {
  readonly keyCoder: Coder<K>;
  readonly maxKeyGroups: number;
  readonly partition: number;
  readonly parallelism: number;
  readonly output: OutputReceiver<Out, K>;
  readonly timerFired: ((timer: FiredTimer<K>) => void) | undefined;
  readonly initialProcessingTime: Instant;
  readonly windowCoder: Coder<BoundedWindow> | undefined;
  readonly files: JobFiles | undefined;
  readonly stateTier: StateTierOptions | undefined;
}

export function resolveOptions<Out, K>(options: TaskRunnerOptions<Out, K>): ResolvedOptions<Out, K> {
  const parallelism = options.parallelism ?? 1;
  const partition = options.partition ?? 0;
  if (!Number.isInteger(parallelism) || parallelism < 1) {
    throw new TaskLifecycleError(`parallelism ${parallelism} is not a positive integer`);
  }
  if (!Number.isInteger(partition) || partition < 0 || partition >= parallelism) {
    throw new TaskLifecycleError(
      `partition ${partition} is outside 0..${parallelism - 1}: pass a partition below the parallelism`,
    );
  }
  if (typeof options.output !== 'function')
    throw new TaskLifecycleError('options.output must be a function receiving each TaskOutput');
  return {
    keyCoder: options.keyCoder,
    maxKeyGroups: options.maxKeyGroups ?? DEFAULT_MAX_KEY_GROUPS,
    partition,
    parallelism,
    output: options.output,
    timerFired: options.timerFired,
    initialProcessingTime: clampTime(options.initialProcessingTime ?? 0),
    windowCoder: options.windowCoder,
    files: options.files,
    stateTier: options.stateTier,
  };
}

/** Times beyond Beam's range (-Number.MAX_VALUE, Infinity) mean its ends. */
export function clampTime(t: Instant): Instant {
  if (t <= BoundedWindow.TIMESTAMP_MIN_VALUE) return BoundedWindow.TIMESTAMP_MIN_VALUE;
  if (t >= BoundedWindow.TIMESTAMP_MAX_VALUE) return BoundedWindow.TIMESTAMP_MAX_VALUE;
  if (typeof t === 'number' && !Number.isInteger(t)) return Math.floor(t);
  return normalizeInstant(t);
}
