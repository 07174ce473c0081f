import { StatorError } from '../../coders/index.ts';

/** A windowing misconfiguration or misuse: a bad size, period, offset or gap, or an unhandled merge. */
export class WindowingError extends StatorError {
  override name = 'WindowingError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('WINDOWING_ERROR', message, options);
  }
}
