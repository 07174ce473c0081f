import { StatorError } from '../../coders/index.ts';

/** Misuse of the state API: no current key, a bad timestamp, a closed backend. */
export class StateError extends StatorError {
  override name = 'StateError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('STATE_ERROR', message, options);
  }
}

/**
 * One tag id was bound to two different state kinds or coders in the same table or backend.
 * Beam lets the first binding win silently; stator refuses, because the second binding would read
 * bytes written with another coder.
 */
export class StateTagConflictError extends StatorError {
  override name = 'StateTagConflictError';
  readonly tagId: string;
  constructor(tagId: string, existing: string, requested: string) {
    super(
      'STATE_TAG_CONFLICT',
      `state tag '${tagId}' is already bound as ${existing}; it cannot also be ${requested}: give the second state its own id`,
    );
    this.tagId = tagId;
  }
}

/**
 * A restored cell does not match the tag that now reads it (another kind or other coders): the
 * task's state declarations changed incompatibly since the checkpoint was taken.
 */
export class RestoredStateMismatchError extends StatorError {
  override name = 'RestoredStateMismatchError';
  readonly tagId: string;
  constructor(tagId: string, namespace: string, stored: string, declared: string, options?: { cause?: unknown }) {
    super(
      'RESTORED_STATE_MISMATCH',
      `state tag '${tagId}' in namespace '${namespace}' was checkpointed as ${stored} but is now declared as ${declared}: ` +
        'restore with the original declaration, or migrate the state under a new tag id',
      options,
    );
    this.tagId = tagId;
  }
}

/** A key-group part could not be read: wrong magic, version, key group or checksum, or truncated bytes. */
export class StatePartCorruptError extends StatorError {
  override name = 'StatePartCorruptError';
  constructor(
    message: string,
    options?: { cause?: unknown },
    code = 'STATE_PART_CORRUPT',
    advice = 'the checkpoint part is damaged; restore from an earlier checkpoint',
  ) {
    super(code, `${message}: ${advice}`, options);
  }
}

/**
 * A key-group part in a format version this stator does not read (written by another stator
 * version). A StatePartCorruptError too, so a restore treats the checkpoint as unusable.
 */
export class StatePartVersionError extends StatePartCorruptError {
  override name = 'StatePartVersionError';
  readonly version: number;
  constructor(version: number, supported: number) {
    super(
      `key-group part version ${version} is not supported (this stator reads version ${supported})`,
      undefined,
      'STATE_PART_VERSION',
      'restore it with the stator version that wrote it, or start from a checkpoint this version wrote',
    );
    this.version = version;
  }
}

/**
 * A value written to state does not encode with the state's coder (a null where the coder needs a
 * string, a fraction for VarLongCoder, a cycle for JsonCoder...). Thrown by the write itself, before
 * anything changes, so the turn that wrote it fails (the runtime retries the message, then
 * dead-letters it with this message) instead of every later checkpoint.
 */
export class StateValueNotEncodableError extends StatorError {
  override name = 'StateValueNotEncodableError';
  constructor(what: string, coder: string, options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(
      'STATE_VALUE_NOT_ENCODABLE',
      `${what} does not encode with ${coder} (${reason}): state holds only values its coder can encode, so nothing was written; ` +
        'check the value before writing it, or declare the state with a coder that accepts it',
      options,
    );
  }
}

/**
 * The disk backend's local store failed (a full disk under --state-dir, an I/O error). The store is
 * a working copy, not the source of truth: nothing is lost, but the job cannot go on with it (state
 * it evicted there may be missing), so the job fails and a rerun restores from its last checkpoint.
 * The store refuses every later call with this same error.
 */
export class LocalStateStoreError extends StatorError {
  override name = 'LocalStateStoreError';
  readonly path: string;
  constructor(path: string, operation: string, detail: string, options?: { cause?: unknown }) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      'LOCAL_STATE_STORE_FAILED',
      `the local state store in ${path} failed to ${operation}${reason}${detail}; nothing is lost (the checkpoints ` +
        'hold the state): free disk space under --state-dir and run again, the job resumes from its last checkpoint ' +
        '(or run with --state-backend heap)',
      options,
    );
    this.path = path;
  }
}
