// Errors of the NATS transport. Each condition has its own class and stable `code`; messages say what
// is wrong and what to do. Retryable ones (network, timeouts) are marked so the runtime can tell a
// passing outage from a terminal misconfiguration.
import { StatorError } from '../../coders/stator-error.ts';

/** The NATS options are invalid or inconsistent (unreadable creds file, token and user both given...). */
export class NatsConfigError extends StatorError {
  override name = 'NatsConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('NATS_CONFIG', message, options);
  }
}

/** The first connection could not be made (server down, wrong URL, authentication refused, TLS). */
export class NatsConnectError extends StatorError {
  override name = 'NatsConnectError';
  readonly servers: readonly string[];
  constructor(servers: readonly string[], message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super('NATS_CONNECT', message, options);
    this.servers = servers;
  }
}

/**
 * The connection stayed down longer than the allowed outage (`--max-outage`). The connection is
 * closed; the process should exit with a distinct code so a supervisor restarts it once NATS is back.
 * Nothing acknowledged is lost: the last committed checkpoint is the restart point.
 */
export class NatsOutageError extends StatorError {
  override name = 'NatsOutageError';
  readonly outageMs: number;
  readonly maxOutageMs: number;
  constructor(outageMs: number, maxOutageMs: number, lastServer: string | undefined) {
    super(
      'NATS_OUTAGE',
      `NATS has been unreachable for ${Math.round(outageMs / 1000)} s (limit --max-outage ${Math.round(maxOutageMs / 1000)} s` +
        `${lastServer === undefined ? '' : `, last server ${lastServer}`}): stopping. Nothing acknowledged is lost; ` +
        'restart once NATS is reachable (it resumes from the last checkpoint), or raise --max-outage',
      { retryable: true },
    );
    this.outageMs = outageMs;
    this.maxOutageMs = maxOutageMs;
  }
}

/** One field of a stream's configuration that differs from what the job needs. */
export interface StreamConfigDifference {
  /** The JetStream config field, e.g. `subjects`, `retention`, `duplicate_window`. */
  readonly field: string;
  /** What the stream has, rendered for humans. */
  readonly actual: string;
  /** What the job needs, rendered for humans. */
  readonly expected: string;
}

/**
 * A stream exists with a configuration the job cannot work with (or the server silently ignored part
 * of the configuration it was asked to create). Terminal: an operator must fix the stream.
 */
export class StreamConfigError extends StatorError {
  override name = 'StreamConfigError';
  readonly stream: string;
  readonly differences: readonly StreamConfigDifference[];
  constructor(
    stream: string,
    message: string,
    differences: readonly StreamConfigDifference[],
    options?: { cause?: unknown },
  ) {
    super('STREAM_CONFIG', message, options);
    this.stream = stream;
    this.differences = differences;
  }
}

/**
 * A publish failed for a reason retrying with the same message id cannot fix (no stream captures the
 * subject, the stream refuses the message, the connection was closed). Retryable failures (timeouts,
 * a server restarting) are retried by the sink and do not surface as this error.
 */
export class PublishError extends StatorError {
  override name = 'PublishError';
  readonly subject: string;
  readonly msgId: string;
  constructor(subject: string, msgId: string, message: string, options?: { cause?: unknown }) {
    super('NATS_PUBLISH', message, options);
    this.subject = subject;
    this.msgId = msgId;
  }
}

/** A name cannot be used as a NATS subject token or stream name (dots, wildcards, spaces...). */
export class InvalidNameError extends StatorError {
  override name = 'InvalidNameError';
  constructor(message: string) {
    super('NATS_INVALID_NAME', message);
  }
}

/** A NATS transport object ended unexpectedly or was used in a state that does not allow it. */
export class LifecycleStateError extends StatorError {
  override name = 'LifecycleStateError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('NATS_LIFECYCLE', message, options);
  }
}

/** A message on a keyed exchange subject that does not decode (written by another version, or not by stator). */
export class ExchangeMessageError extends StatorError {
  override name = 'ExchangeMessageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('NATS_EXCHANGE_MESSAGE', message, options);
  }
}

/**
 * Units that failed while they stopped for a graceful leave (their final checkpoint did not commit,
 * or they were fenced meanwhile). Nothing acknowledged is lost: the next owner replays them from
 * their last checkpoint. But the stop was not clean, so the process must not report it as one: a
 * rescale, for one, needs every unit stopped at a final checkpoint.
 */
export class UnitStopError extends StatorError {
  override name = 'UnitStopError';
  readonly units: readonly string[];
  constructor(failures: ReadonlyMap<string, unknown>) {
    const units = [...failures.keys()];
    const why = [...failures].map(
      ([unit, error]) => `${unit}: ${error instanceof Error ? error.message : String(error)}`,
    );
    super(
      'NATS_UNIT_STOP_FAILED',
      `${units.length === 1 ? 'unit' : 'units'} ${units.join(', ')} did not stop cleanly (${why.join('; ')}); ` +
        'the next run replays them from their last checkpoint. Start the job again in the same layout and stop it once more before a rescale',
      { cause: failures.size === 1 ? [...failures.values()][0] : [...failures.values()] },
    );
    this.units = units;
  }
}

/** A unit of a scaled-out job was abandoned: its lease expired or another worker holds it now. */
export class UnitAbandonedError extends StatorError {
  override name = 'UnitAbandonedError';
  readonly unit: string;
  constructor(unit: string, reason: string) {
    super('NATS_UNIT_ABANDONED', `unit ${unit} abandoned: ${reason}`);
    this.unit = unit;
  }
}
