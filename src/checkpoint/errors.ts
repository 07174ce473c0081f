import { StatorError } from '../../coders/index.ts';

// Errors of the checkpoint layer and of every CheckpointStore. Terminal unless said otherwise:
// corrupt bytes, fencing and misconfiguration do not go away by retrying.

/**
 * Another writer committed the manifest since this one last read it (compare-and-set failed), or
 * took over the job's lease. Nothing was written. The instance that gets it must stop processing:
 * a newer instance owns the job.
 */
export class FencedError extends StatorError {
  override name = 'FencedError';
  readonly store: string;
  readonly expectedRevision: number | undefined;
  readonly actualRevision: number | undefined;
  constructor(
    store: string,
    details: { expectedRevision: number | undefined; actualRevision: number | undefined; cause?: unknown },
  ) {
    super(
      'CHECKPOINT_FENCED',
      `checkpoint manifest of ${store} was changed by another writer (expected revision ` +
        `${details.expectedRevision ?? 'none'}, found ${details.actualRevision ?? 'none'}): ` +
        'another instance of this job is running or took over; stop this instance and check that ' +
        'only one process runs the job',
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.store = store;
    this.expectedRevision = details.expectedRevision;
    this.actualRevision = details.actualRevision;
  }
}

/**
 * Checkpoint bytes failed verification: bad magic, unknown format version, checksum mismatch,
 * truncated part, undecodable manifest. The reader falls back to an older checkpoint when there is one.
 */
export class CheckpointCorruptError extends StatorError {
  override name = 'CheckpointCorruptError';
  /** The part (or 'manifest') whose bytes are corrupt. */
  readonly part: string;
  /** The checkpoint being read, when known. */
  readonly checkpointId: number | undefined;
  /** What is wrong with the bytes (the message says it with advice around it). */
  readonly problem: string;
  /**
   * @param options.outcome what happens next, when the default ("an older checkpoint is used when
   * one is retained, otherwise ...") is not true, e.g. for the manifest.
   */
  constructor(part: string, problem: string, options?: { checkpointId?: number; cause?: unknown; outcome?: string }) {
    super(
      'CHECKPOINT_CORRUPT',
      `checkpoint part ${part}${options?.checkpointId === undefined ? '' : ` of checkpoint ${options.checkpointId}`} ` +
        `is corrupt: ${problem}; ${
          options?.outcome ??
          'an older checkpoint is used when one is retained, otherwise restore the state directory from a backup or clear the job state to start over'
        }`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.part = part;
    this.checkpointId = options?.checkpointId;
    this.problem = problem;
  }
}

/** A part named by a manifest (or asked for by name) does not exist in the store. */
export class CheckpointPartMissingError extends StatorError {
  override name = 'CheckpointPartMissingError';
  readonly part: string;
  readonly store: string;
  constructor(store: string, part: string, options?: { cause?: unknown }) {
    super(
      'CHECKPOINT_PART_MISSING',
      `checkpoint part ${part} is missing from ${store}: it was deleted outside stator or the store ` +
        'lost data; an older checkpoint is used when one is retained',
      options,
    );
    this.part = part;
    this.store = store;
  }
}

/** `load(id)` named a checkpoint the manifest does not list (never written, or pruned). */
export class CheckpointNotFoundError extends StatorError {
  override name = 'CheckpointNotFoundError';
  readonly checkpointId: number;
  constructor(checkpointId: number, retained: readonly number[]) {
    super(
      'CHECKPOINT_NOT_FOUND',
      `checkpoint ${checkpointId} is not retained (retained: ${retained.length === 0 ? 'none' : retained.join(', ')}); ` +
        'pick one of the retained checkpoints',
    );
    this.checkpointId = checkpointId;
  }
}

/**
 * The job holds a live lease (it is running, or crashed less than the lease time-to-live ago on
 * another host): clearing its state or starting a second instance is refused.
 */
export class JobRunningError extends StatorError {
  override name = 'JobRunningError';
  readonly holder: string;
  constructor(store: string, holder: string, action: string) {
    super(
      'JOB_RUNNING',
      `cannot ${action}: the job in ${store} is held by ${holder}; stop that process first ` +
        '(or wait for its lease to expire if it died on another host)',
    );
    this.holder = holder;
  }
}

/**
 * A store operation failed for a reason that may pass (I/O error, network, timeout). Retryable: a
 * running job retries a failed checkpoint at the next trigger, with its changes carried over (its
 * warning says so); the message itself says only what failed and what to fix, true wherever it ends up.
 */
export class CheckpointStoreError extends StatorError {
  override name = 'CheckpointStoreError';
  /** What failed, without the advice: "checkpoint store <store> failed to <operation>: <cause>". */
  readonly failure: string;
  constructor(store: string, operation: string, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    const failure = `checkpoint store ${store} failed to ${operation}${reason}`;
    super(
      'CHECKPOINT_STORE_UNAVAILABLE',
      `${failure}; nothing is lost: free disk space or check the checkpoint store's connection`,
      { ...(options?.cause === undefined ? {} : { cause: options.cause }), retryable: true },
    );
    this.failure = failure;
  }
}

/** Invalid checkpoint options or input (interval, retention, names): fix the configuration. */
export class CheckpointConfigError extends StatorError {
  override name = 'CheckpointConfigError';
  constructor(message: string) {
    super('CHECKPOINT_CONFIG', message);
  }
}

/** A checkpoint was started while another is still being written (the runtime must await `ready()`). */
export class CheckpointInProgressError extends StatorError {
  override name = 'CheckpointInProgressError';
  constructor() {
    super(
      'CHECKPOINT_IN_PROGRESS',
      'a checkpoint is already being written: await coordinator.ready() before capturing the next one',
    );
  }
}
