/**
 * The base of every error stator throws. `code` is stable across releases, so callers can branch on
 * `err.code` without `instanceof` (which fails across realms and duplicated packages).
 *
 * It lives in coders/ because coders/ is the leaf layer: src/ and runtime/ extend it from here.
 */
export class StatorError extends Error {
  override name = 'StatorError';
  readonly code: string;
  /** Whether retrying the same operation may succeed (network, timeout) or not (corrupt, fenced, config). */
  readonly retryable: boolean;

  constructor(code: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/**
 * Bytes could not be decoded (truncated, trailing bytes, malformed varint, invalid UTF-8...) or a value could not be
 * encoded.
 */
export class CoderError extends StatorError {
  override name = 'CoderError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CODER_ERROR', message, options);
  }
}

/** A coder was asked to be deterministic and is not; the message names the coder and why. */
export class NonDeterministicCoderError extends StatorError {
  override name = 'NonDeterministicCoderError';
  readonly coder: string;
  readonly reasons: readonly string[];
  constructor(coder: string, reasons: readonly string[], options?: { cause?: unknown }) {
    super('NON_DETERMINISTIC_CODER', `${coder} is not deterministic: ${reasons.join('; ')}`, options);
    this.coder = coder;
    this.reasons = reasons;
  }
}

/**
 * A coder could not be derived (Beam's CannotProvideCoderException): e.g. a CombineFn without
 * getAccumulatorCoder asked for its accumulator coder. The message says what to pass instead.
 */
export class CannotProvideCoderError extends StatorError {
  override name = 'CannotProvideCoderError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CANNOT_PROVIDE_CODER', message, options);
  }
}
