import { StatorError } from '../coders/index.ts';
import type { CheckpointStoreError } from '../src/checkpoint/index.ts';

/** Bad options or arguments: the message names the option and what to pass instead. */
export class ConfigError extends StatorError {
  override name = 'ConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_ERROR', message, options);
  }
}

/** A job module could not be found or failed to load (syntax error, missing import). */
export class JobModuleError extends StatorError {
  override name = 'JobModuleError';
  readonly modulePath: string;
  constructor(modulePath: string, message: string, options?: { cause?: unknown }) {
    super('JOB_MODULE_ERROR', message, options);
    this.modulePath = modulePath;
  }
}

/** A job module loaded but exports no job (neither `export default` nor `export const job`). */
export class NoJobExportedError extends StatorError {
  override name = 'NoJobExportedError';
  readonly modulePath: string;
  /**
   * @param hint - what to do instead of the generic advice, when an export is close to a job (a chain
   * without its sink, a job under another name).
   */
  constructor(modulePath: string, exportNames: readonly string[], hint?: string) {
    super(
      'NO_JOB_EXPORTED',
      `${modulePath} exports no job (exports: ${exportNames.length === 0 ? 'none' : exportNames.join(', ')}): ` +
        (hint ?? `export the result of defineJob(...) as the default export or as \`export const job\``),
    );
    this.modulePath = modulePath;
  }
}

/** A job definition is malformed (no source, no sink, process without keyBy...). */
export class JobDefinitionError extends StatorError {
  override name = 'JobDefinitionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('JOB_DEFINITION_ERROR', message, options);
  }
}

/**
 * The runtime was asked to do something its lifecycle state does not allow. `cause`: the run's
 * failure, when the run is failing.
 */
export class LifecycleError extends StatorError {
  override name = 'LifecycleError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('LIFECYCLE_ERROR', message, options);
  }
}

/**
 * An input message is not valid UTF-8 text. Sources dead-letter it with its original bytes, in both
 * modes alike, instead of decoding it with U+FFFD in place of the bad bytes (which would merge
 * different inputs into one key).
 */
export class InputNotUtf8Error extends StatorError {
  override name = 'InputNotUtf8Error';
  constructor(what: string) {
    super(
      'INPUT_NOT_UTF8',
      `${what} is not valid UTF-8 text: dead-lettered with its original bytes; fix the producer, or re-encode the input as UTF-8`,
    );
  }
}

/**
 * An input line is longer than the file source's line limit (`maxLineBytes`, `--max-line-bytes`;
 * 64 MiB by default), or than a JavaScript string can hold (V8: 0x1fffffe8 characters) under a
 * higher limit. The file source dead-letters it by position, without its bytes (they stay in the
 * input file), holding no more than the limit of it in memory, instead of failing the run at every
 * restart on the same line.
 */
export class InputLineTooLongError extends StatorError {
  override name = 'InputLineTooLongError';
  /** `limit`: the line limit in bytes it is over, or 'string' for V8's longest string. */
  constructor(what: string, bytes: number, limit: number | 'string', options?: { cause?: unknown }) {
    super(
      'INPUT_LINE_TOO_LONG',
      `${what} is ${bytes} bytes, ${limit === 'string' ? 'longer than a string can hold' : `over the ${limit}-byte line limit`}: ` +
        'dead-lettered by position, its bytes stay in the input; split it into lines, fix the producer' +
        `${limit === 'string' ? '' : ', or raise the limit (--max-line-bytes)'}`,
      options,
    );
  }
}

/**
 * A message's event time (or an explicit watermark message's watermark) is not an integer of epoch
 * milliseconds that stator can hold exactly: a safe integer, |t| <= 2^53 - 1 ms (about ±285,000
 * years), inside Beam's timestamp range (TIMESTAMP_MIN_VALUE..TIMESTAMP_MAX_VALUE, ±2^63 µs). The
 * source dead-letters the message before its time reaches the watermark: one `"ts": 1e999` would
 * otherwise move event time to its end and fire every timer.
 */
export class InvalidEventTimeError extends StatorError {
  override name = 'InvalidEventTimeError';
  readonly value: unknown;
  constructor(what: string, value: unknown) {
    super(
      'INVALID_EVENT_TIME',
      `${what} returned ${describe(value)}, not an integer of epoch milliseconds within ±${Number.MAX_SAFE_INTEGER} ` +
        "(inside Beam's timestamp range): the message is dead-lettered before it moves the watermark; fix the producer or the extractor",
    );
    this.value = value;
  }
}

function describe(value: unknown): string {
  return typeof value === 'string'
    ? JSON.stringify(value)
    : `${String(value)}${typeof value === 'number' ? '' : ` (${typeof value})`}`;
}

/** Writing a file the job produces (its output or dead letters) failed: the message names the file. */
export class FileWriteError extends StatorError {
  override name = 'FileWriteError';
  readonly path: string;
  constructor(path: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'FILE_WRITE',
      `cannot write ${path}: ${reason}; fix that (free disk space, permissions) and run again: the job resumes from its last checkpoint`,
      { cause },
    );
    this.path = path;
  }
}

/**
 * A stop's final checkpoint could not be written (the checkpoint store failed: a full disk, an
 * unreachable server). Nothing is lost: the next run resumes from the last committed checkpoint and
 * processes the input after it again, cutting back the outputs it wrote since.
 */
export class FinalCheckpointError extends StatorError {
  override name = 'FinalCheckpointError';
  constructor(cause: CheckpointStoreError) {
    super(
      'FINAL_CHECKPOINT_FAILED',
      `the final checkpoint was not written: ${cause.failure}; nothing is lost: fix that (free disk space, ` +
        "check the checkpoint store's connection) and run again: the job resumes from its last committed checkpoint",
      { cause, retryable: true },
    );
  }
}

/**
 * A worker could not join its job's group: its heartbeat was stored, but the watch of the group's
 * bucket did not deliver it in time, so the worker cannot know the group (a server of the cluster
 * down, or consumers refused on the bucket's stream). Nothing was claimed; retryable.
 */
export class GroupJoinError extends StatorError {
  override name = 'GroupJoinError';
  /** The worker that could not join. */
  readonly workerId: string;
  /** The job whose group it could not join. */
  readonly job: string;
  constructor(
    workerId: string,
    job: string,
    bucket: string,
    revision: number,
    waitedMs: number,
    options?: { cause?: unknown },
  ) {
    const cause = options?.cause;
    super(
      'GROUP_JOIN',
      `worker ${workerId} could not join the group of job ${job}: the watch of bucket ${bucket} did not deliver ` +
        `its first heartbeat (revision ${revision}) within ${waitedMs} ms` +
        (cause === undefined
          ? ''
          : ` (the watch failed last with: ${cause instanceof Error ? cause.message : String(cause)})`) +
        `; it holds no partition. Check that the cluster's servers run and that the account may create consumers ` +
        `on KV_${bucket} (nats stream info KV_${bucket}), then start the worker again`,
      { cause, retryable: true },
    );
    this.workerId = workerId;
    this.job = job;
  }
}
