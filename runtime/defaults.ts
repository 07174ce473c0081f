// The runtime's defaults, defined once: options documented with `@default` resolve to these.

/** At most this long between checkpoints while running (and the event-time interval of the watermark trigger). */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5000;

/** Where embedded mode keeps checkpoints: `<stateDir>/<job>/<task>`. */
export const DEFAULT_STATE_DIR = './state';
