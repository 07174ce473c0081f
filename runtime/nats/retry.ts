// Which NATS failures are worth retrying, and a bounded retry with exponential backoff.
import { natsCore, natsJetStream } from '../deferred-packages.ts';

/** How many times and how patiently to retry a transient failure. */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  /** Delay before the second attempt; doubled each time up to `maxDelayMs`. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 2_000 };

// JetStream API codes that mean "not now" rather than "no": the meta layer or the stream is not
// ready yet, typically right after a server (re)start.
const TRANSIENT_API_CODES = new Set([
  10008, // JetStream system temporarily unavailable
  10023, // insufficient resources (may pass once the server finished recovering)
]);

/**
 * True for failures a retry may cure: timeouts, no responders (JetStream still starting), a
 * connection that is reconnecting. False for answers (wrong last sequence, stream not found, bad
 * request) and for a connection that was closed on purpose.
 */
export function isTransientNatsError(error: unknown): boolean {
  if (
    error instanceof natsCore().errors.ClosedConnectionError ||
    error instanceof natsCore().errors.DrainingConnectionError
  )
    return false;
  if (
    error instanceof natsCore().errors.TimeoutError ||
    error instanceof natsCore().errors.NoRespondersError ||
    error instanceof natsCore().errors.RequestError ||
    error instanceof natsCore().errors.ConnectionError
  ) {
    return true;
  }
  if (error instanceof natsJetStream().JetStreamApiError) return isTransientJetStreamStatus(error.status, error.code);
  // nats.js reports "no responders" to a JetStream publish as JetStreamNotEnabled. Right after a
  // server restart that is what a stream not yet loaded looks like, so it is worth retrying; a server
  // without JetStream keeps answering it and the caller's retry limit ends with a clear message.
  // (The class is not exported by @nats-io/jetstream; its constructor sets this name.)
  if (error instanceof Error && error.name === 'JetStreamNotEnabled') return true;
  // JetStreamError without an API code: e.g. heartbeats missed by a consumer while the server restarted.
  if (error instanceof natsJetStream().JetStreamError) return true;
  return false;
}

/** True for a JetStream API error (HTTP-like `status`, JetStream `code`) that means "not now". */
export function isTransientJetStreamStatus(status: number, code: number): boolean {
  return TRANSIENT_API_CODES.has(code) || status === 503;
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first; leaves no timer behind. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, it throws a non-transient error (rethrown as is), or the
 * attempts run out (the last error is rethrown; `isTransientNatsError` stays true for it).
 */
export async function retryTransient<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal,
  isTransient: (error: unknown) => boolean = isTransientNatsError,
): Promise<T> {
  let delayMs = policy.initialDelayMs;
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      if (!isTransient(error) || attemptNumber >= policy.maxAttempts || signal.aborted) throw error;
    }
    await sleep(delayMs, signal);
    delayMs = Math.min(delayMs * 2, policy.maxDelayMs);
  }
}
