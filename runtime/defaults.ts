// The runtime's defaults, defined once: options documented with `@default` resolve to these.

/** At most this long between checkpoints while running (and the event-time interval of the watermark trigger). */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5000;

/** Where embedded mode keeps checkpoints: `<stateDir>/<job>/<task>`. */
export const DEFAULT_STATE_DIR = './state';

/** The size limit of a job's file area (ctx.files), in bytes: 10 GiB. */
export const DEFAULT_FILES_MAX_BYTES = 10 * 1024 ** 3;

/** A source with no input for this long reports itself idle (ingestion time: its watermark moves on). */
export const DEFAULT_IDLE_TIMEOUT_MS = 5000;
