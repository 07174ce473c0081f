import type { CheckpointStore } from '../../src/checkpoint/index.ts';
import { HeapKeyedStateBackend, keyGroupFor, partitionForKeyGroup } from '../../src/state/index.ts';
import { createTaskRunner } from '../../src/task/index.ts';
import type { StatefulTask } from '../../src/task/index.ts';
import { createJobRuntime } from '../job-runtime.ts';
import type { JobRuntime } from '../job-runtime.ts';
import type { Job } from '../job/job.ts';
import type { Logger } from '../log.ts';
import { deadLetterFileBinding, fileSinkBinding, fileSourceBinding } from './file-bindings.ts';
import { jobCheckpoints } from './job-checkpoints.ts';

/** Default wall-clock spacing of checkpoints (and event-time interval of the watermark trigger). */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5000;

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
  readonly checkpointIntervalMs?: number;
  readonly maxRetries?: number;
  readonly mailboxCapacity?: number;
  readonly batchSize?: number;
  readonly throughputLogIntervalMs?: number;
  readonly logger: Logger;
}

/**
 * The runtime in embedded mode: the same JobRuntime as NATS mode, with in-process exchanges, the
 * file source and sink, and a local checkpoint store.
 */
export function createEmbeddedRuntime(options: EmbeddedOptions): JobRuntime {
  const { job } = options;
  let maxRetries = options.maxRetries;
  if (!stateRollsBackFailedTurns() && maxRetries !== 0) {
    // Without rollback a retry would apply the failed attempt's state changes a second time.
    options.logger.warn(
      'the state backend cannot roll back a failed turn: retries are off (a failing message is dead-lettered at once; ' +
        'state changes its attempt made before throwing are kept)',
    );
    maxRetries = 0;
  }
  // The checkpoints exist before the runtime whose failure they report: bound once it exists.
  let fatal: (error: unknown) => void = () => {};
  const deadLetterPath = options.deadLetter ?? `${options.output}.dead.jsonl`;
  const runtime = createJobRuntime({
    job,
    grouping: { maxKeyGroups: job.maxKeyGroups, keyGroupFor, partitionForKeyGroup },
    createRunner: (step, partition, output) =>
      createTaskRunner(step.factory() as StatefulTask<unknown, unknown, unknown>, {
        keyCoder: step.keyCoder,
        maxKeyGroups: job.maxKeyGroups,
        partition,
        parallelism: step.parallelism,
        output,
      }),
    source: (entry, deadLetter) =>
      fileSourceBinding(job.source, { path: options.input, follow: options.follow ?? false }, entry, deadLetter),
    sink: (deadLetter, fail) => fileSinkBinding(job.sink, options.output, deadLetter, fail),
    deadLetters: (fail) => deadLetterFileBinding(deadLetterPath, fail),
    checkpoints: jobCheckpoints({
      store: options.store,
      jobId: job.name,
      logger: options.logger,
      intervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
      onFatal: (error) => fatal(error),
    }),
    logger: options.logger,
    ...(options.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: options.checkpointIntervalMs }),
    ...(maxRetries === undefined ? {} : { maxRetries }),
    ...(options.mailboxCapacity === undefined ? {} : { mailboxCapacity: options.mailboxCapacity }),
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.throughputLogIntervalMs === undefined ? {} : { throughputLogIntervalMs: options.throughputLogIntervalMs }),
  });
  fatal = (error) => runtime.fail(error);
  return runtime;
}

/**
 * Whether the state backend undoes a failed turn's state changes (TaskRunner.processElement's
 * contract: "rolled back when the state backend supports it"); the runner feature-detects the same
 * methods.
 */
export function stateRollsBackFailedTurns(): boolean {
  const prototype = HeapKeyedStateBackend.prototype as unknown as Record<string, unknown>;
  return typeof prototype.beginTurn === 'function' && typeof prototype.rollbackTurn === 'function' && typeof prototype.commitTurn === 'function';
}
