import { StatorError } from '../../coders/index.ts';

// Errors of the job's file area (JobFiles), in both modes. Terminal unless said otherwise.

/** A file name is not a safe relative path inside the area (absolute, `..`, empty segment...). */
export class FileNameError extends StatorError {
  override name = 'FileNameError';
  readonly fileName: unknown;
  constructor(fileName: unknown, reason: string) {
    super(
      'FILE_NAME_INVALID',
      `file name ${typeof fileName === 'string' ? JSON.stringify(fileName) : String(fileName)} is not allowed: ${reason}; ` +
        "use a relative path with '/' between non-empty segments, e.g. 'models/en.bin'",
    );
    this.fileName = fileName;
  }
}

/** No file of that name in the area. */
export class FileNotFoundError extends StatorError {
  override name = 'FileNotFoundError';
  readonly fileName: string;
  constructor(fileName: string, where: string) {
    super(
      'FILE_NOT_FOUND',
      `no file ${JSON.stringify(fileName)} in ${where}: put it first, or check the name (list shows what is there)`,
    );
    this.fileName = fileName;
  }
}

/**
 * `put` with `expectedDigest`: the file's current version is another one (or exists / does not). Nothing was written.
 */
export class FileDigestMismatchError extends StatorError {
  override name = 'FileDigestMismatchError';
  readonly fileName: string;
  readonly expectedDigest: string | null;
  readonly actualDigest: string | null;
  constructor(fileName: string, expected: string | null, actual: string | null, options?: { cause?: unknown }) {
    super(
      'FILE_DIGEST_MISMATCH',
      `file ${JSON.stringify(fileName)} was not written: expected ${expected === null ? 'no file' : `digest ${expected}`}, ` +
        `found ${actual === null ? 'no file' : `digest ${actual}`} (another writer changed it): read it again and decide`,
      options,
    );
    this.fileName = fileName;
    this.expectedDigest = expected;
    this.actualDigest = actual;
  }
}

/** The area would exceed its size limit. Nothing was written. */
export class FilesLimitExceededError extends StatorError {
  override name = 'FilesLimitExceededError';
  readonly fileName: string;
  readonly maxBytes: number;
  constructor(fileName: string, where: string, maxBytes: number, detail: string) {
    super(
      'FILES_LIMIT_EXCEEDED',
      `cannot write ${JSON.stringify(fileName)} to ${where}: ${detail}, over the limit of ${maxBytes} bytes; ` +
        'delete files you no longer need, or raise the limit (--files-max-bytes, or the files option maxBytes)',
    );
    this.fileName = fileName;
    this.maxBytes = maxBytes;
  }
}

/** The bytes read do not match the digest stored with the file. */
export class FileCorruptError extends StatorError {
  override name = 'FileCorruptError';
  readonly fileName: string;
  constructor(fileName: string, detail: string, options?: { cause?: unknown }) {
    super(
      'FILE_CORRUPT',
      `file ${JSON.stringify(fileName)} is corrupt: ${detail}; put it again from its source`,
      options,
    );
    this.fileName = fileName;
  }
}

/** The area was used after `close()`. */
export class FilesClosedError extends StatorError {
  override name = 'FilesClosedError';
  constructor(where: string) {
    super(
      'FILES_CLOSED',
      `the file area ${where} is closed: use it from open() until close() of the task, not after the job stopped`,
    );
  }
}

/** The file area's storage could not be reached or failed (NATS down, timeout, disk error): retryable. */
export class FilesUnavailableError extends StatorError {
  override name = 'FilesUnavailableError';
  constructor(message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super('FILES_UNAVAILABLE', message, { retryable: true, ...options });
  }
}
