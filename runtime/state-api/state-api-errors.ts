import { StatorError } from '../../coders/index.ts';

/**
 * A state API request that cannot be served; `status` is the HTTP status the API answers with. The
 * message is one line saying what is wrong and what to do.
 */
export class StateApiError extends StatorError {
  override name = 'StateApiError';
  constructor(
    readonly status: number,
    code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A malformed request (body, store, key, etag): 400, and nothing changed. */
export class StateRequestError extends StateApiError {
  override name = 'StateRequestError';
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(400, code, message, options);
  }
}

/** A value that does not fit the tag's coder: 400, and nothing changed. */
export class StateValueError extends StateApiError {
  override name = 'StateValueError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(400, 'ERR_STATE_VALUE', message, options);
  }
}

/** A first-write whose ETag is not the key's current one: 409 (Dapr's status for it), nothing changed. */
export class ETagMismatchError extends StateApiError {
  override name = 'ETagMismatchError';
  constructor(readonly keys: readonly string[]) {
    super(
      409,
      'ERR_ETAG_MISMATCH',
      `possible etag mismatch for key${keys.length === 1 ? '' : 's'} ${keys.map((k) => JSON.stringify(k)).join(', ')}: read the key again for its current ETag and retry`,
    );
  }
}

/** The job is not running here, so there is no owner to answer a strong read or apply a write: 503. */
export class StateUnavailableError extends StateApiError {
  override name = 'StateUnavailableError';
  constructor(message: string) {
    super(503, 'ERR_STATE_UNAVAILABLE', message);
  }
}

/** The key's owner did not answer in time: 504. */
export class StateTimeoutError extends StateApiError {
  override name = 'StateTimeoutError';
  constructor(message: string) {
    super(504, 'ERR_TIMEOUT', message);
  }
}

/** A request or answer larger than a NATS message may be (NATS mode: the server's max_payload): 413. */
export class StateTooLargeError extends StateApiError {
  override name = 'StateTooLargeError';
  constructor(code: 'ERR_REQUEST_TOO_LARGE' | 'ERR_RESPONSE_TOO_LARGE', message: string) {
    super(413, code, message);
  }
}
