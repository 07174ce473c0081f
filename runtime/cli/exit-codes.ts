/**
 * Exit codes of the `stator` command (documented in README.md, "Run a job"). Stable: scripts and
 * supervisors branch on them.
 */
export const ExitCode = {
  /** The job completed (bounded input) or stopped gracefully (SIGTERM/SIGINT). */
  OK: 0,
  /** The job failed while running (a task or timer error that cannot be dead-lettered, an I/O error). */
  FAILED: 1,
  /** Bad command-line arguments or options, or NATS streams/options that do not fit the job. */
  USAGE: 2,
  /** The job module was not found or failed to load. */
  MODULE_NOT_FOUND: 3,
  /** The job module loaded but exports no job. */
  NO_JOB: 4,
  /**
   * Checkpoints unusable: corrupt, fenced by another writer (another process committed a checkpoint
   * of the same job), or the job is running elsewhere (its lease is held).
   */
  CHECKPOINT: 5,
  /**
   * NATS could not be reached at start (server down, wrong URL, authentication or TLS refused):
   * sysexits' EX_UNAVAILABLE. The message says which.
   */
  NATS_UNAVAILABLE: 69,
  /**
   * NATS stayed unreachable longer than --max-outage while running: sysexits' EX_TEMPFAIL. Nothing
   * acknowledged is lost; restart once NATS is back (a supervisor should).
   */
  NATS_OUTAGE: 75,
  /** A second SIGTERM/SIGINT: exited at once, without the final checkpoint. */
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const byErrorCode: Readonly<Record<string, ExitCode>> = {
  CONFIG_ERROR: ExitCode.USAGE,
  JOB_DEFINITION_ERROR: ExitCode.USAGE,
  JOB_MODULE_ERROR: ExitCode.MODULE_NOT_FOUND,
  NO_JOB_EXPORTED: ExitCode.NO_JOB,
  CHECKPOINT_FENCED: ExitCode.CHECKPOINT,
  CHECKPOINT_CORRUPT: ExitCode.CHECKPOINT,
  CHECKPOINT_PART_MISSING: ExitCode.CHECKPOINT,
  // A checkpoint id that is not retained is a bad argument (checkpoints inspect <id>), not an unusable store.
  CHECKPOINT_NOT_FOUND: ExitCode.USAGE,
  JOB_RUNNING: ExitCode.CHECKPOINT,
  CHECKPOINT_CONFIG: ExitCode.USAGE,
  NATS_CONFIG: ExitCode.USAGE,
  // A file name that is not a safe relative path (stator files).
  FILE_NAME_INVALID: ExitCode.USAGE,
  STREAM_CONFIG: ExitCode.USAGE,
  NATS_INVALID_NAME: ExitCode.USAGE,
  NATS_CONNECT: ExitCode.NATS_UNAVAILABLE,
  NATS_OUTAGE: ExitCode.NATS_OUTAGE,
  // The job's layout does not fit its checkpoints: an option to change back (the message says which).
  RESCALE_KEY_GROUPS: ExitCode.USAGE,
  RESCALE_AFTER_CRASH: ExitCode.USAGE,
  RESCALE_SCALE_OUT: ExitCode.USAGE,
  LAYOUT_MISMATCH: ExitCode.USAGE,
  RESCALE_PENDING_WRITES: ExitCode.USAGE,
};

/** The exit code for an error, by its stable `code`. */
export function exitCodeFor(error: unknown): ExitCode {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? (byErrorCode[code] ?? ExitCode.FAILED) : ExitCode.FAILED;
}

/**
 * An error the command already reported in its log (`--log-format json` writes it as a JSON line):
 * main maps `cause` to the exit code without printing it again.
 */
export class ReportedError extends Error {
  constructor(readonly reported: unknown) {
    super('reported in the log', { cause: reported });
  }
}
