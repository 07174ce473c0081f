import type { CheckpointStore } from '../../src/checkpoint/index.ts';
import type { JobFiles } from '../../src/files/index.ts';
import { createJobRuntime } from '../job-runtime.ts';
import type { JobRuntime } from '../job-runtime.ts';
import type { Job } from '../job/job.ts';
import type { Logger } from '../log.ts';
import type { TurnTimer } from '../engine/turn-timer.ts';
import { jobTaskRunners } from '../task-runners.ts';
import { deadLetterFileBinding, fileSinkBinding, fileSourceBinding } from './file-bindings.ts';
import { jobCheckpoints } from './job-checkpoints.ts';
import type { LocalStateOwner } from '../state-api/index.ts';
import type { LocalState } from '../state-backends/local-state.ts';

import { DEFAULT_CHECKPOINT_INTERVAL_MS } from '../defaults.ts';

export { DEFAULT_CHECKPOINT_INTERVAL_MS } from '../defaults.ts';

/** Options of embedded mode: files in, files out, checkpoints in a local store. */
export interface EmbeddedOptions {
  readonly job: Job;
  readonly input: string;
  readonly output: string;
  /** @default `<output>.dead.jsonl` */
  readonly deadLetter?: string;
  /** Where checkpoints are kept (a file store under --state-dir). */
  readonly store: CheckpointStore;
  /** Keep reading as the input grows. @default false */
  readonly follow?: boolean;
  /** The longest input line read as a message (FileSourceOptions.maxLineBytes). */
  readonly maxLineBytes?: number;
  readonly checkpointIntervalMs?: number;
  readonly maxRetries?: number;
  readonly mailboxCapacity?: number;
  readonly batchSize?: number;
  readonly throughputLogIntervalMs?: number;
  readonly logger: Logger;
  /** Times a sample of turns (metrics on). */
  readonly turnTimer?: TurnTimer | undefined;
  /** The state API's access to the partitions, when it is served. */
  readonly stateOwner?: LocalStateOwner;
  /** The job's file area, seen by tasks as `ctx.files` (the caller opens and closes it). */
  readonly files?: JobFiles;
  /** The partitions' local stores under the disk backend (the caller closes it). */
  readonly localState?: LocalState;
}

/**
 * The runtime in embedded mode: the same JobRuntime as NATS mode, with in-process exchanges, the
 * file source and sink, and a local checkpoint store.
 */
export function createEmbeddedRuntime(options: EmbeddedOptions): JobRuntime {
  const { job } = options;
  // The checkpoints exist before the runtime whose failure they report: bound once it exists.
  let fatal: (error: unknown) => void = () => {};
  const deadLetterPath = options.deadLetter ?? `${options.output}.dead.jsonl`;
  const runtime = createJobRuntime({
    job,
    ...jobTaskRunners(job, options.files, options.localState),
    source: (entry, deadLetter) =>
      fileSourceBinding(
        job.source,
        {
          path: options.input,
          follow: options.follow ?? false,
          ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
        },
        entry,
        deadLetter,
      ),
    sink: (deadLetter, fail) => fileSinkBinding(job.sink, options.output, deadLetter, fail, options.logger),
    deadLetters: (fail) => deadLetterFileBinding(deadLetterPath, fail, options.logger),
    checkpoints: jobCheckpoints({
      store: options.store,
      jobId: job.name,
      logger: options.logger,
      intervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
      onFatal: (error) => fatal(error),
    }),
    logger: options.logger,
    ...(options.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: options.checkpointIntervalMs }),
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    ...(options.mailboxCapacity === undefined ? {} : { mailboxCapacity: options.mailboxCapacity }),
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.throughputLogIntervalMs === undefined
      ? {}
      : { throughputLogIntervalMs: options.throughputLogIntervalMs }),
    turnTimer: options.turnTimer,
    ...(options.stateOwner === undefined ? {} : { stateOwner: options.stateOwner }),
  });
  fatal = (error) => runtime.fail(error);
  return runtime;
}
