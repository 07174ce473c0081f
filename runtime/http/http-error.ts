import { StatorError } from '../../coders/index.ts';

/**
 * An HTTP request the server answers with an error status. Handlers throw it; the server answers
 * `status` with the JSON body `{ "errorCode": code, "message": message }` (the shape of Dapr's API
 * errors), plus `headers`. Anything else a handler throws is answered 500 ERR_INTERNAL and logged.
 */
export class HttpError extends StatorError {
  override name = 'HttpError';
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    status: number,
    code: string,
    message: string,
    options?: { cause?: unknown; headers?: Readonly<Record<string, string>> },
  ) {
    super(code, message, options);
    this.status = status;
    this.headers = options?.headers ?? {};
  }
}
