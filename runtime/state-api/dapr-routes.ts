// Dapr's state API over HTTP (https://docs.dapr.io/reference/api/state_api/): the same paths, bodies,
// status codes and headers, so the official Dapr clients work against stator unchanged.
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError, toJsonText } from '../http/index.ts';
import type { HttpHandler, HttpRequest, HttpResponse, HttpRoutes } from '../http/index.ts';
import { parseETag } from './etag.ts';
import { StateApiError } from './state-api-errors.ts';
import type { Json } from './state-json.ts';
import type { Consistency, StateService, StateWrite } from './state-service.ts';
import type { KeyRead } from './state-owner.ts';

export interface StateApiRoutesOptions {
  /** Required in the `dapr-api-token` header of every request but /v1.0/healthz when set (Dapr's API token). */
  readonly token?: string;
}

/** Dapr's errorCode of each operation, for errors the service reports. */
type Operation =
  'ERR_STATE_GET' | 'ERR_STATE_SAVE' | 'ERR_STATE_DELETE' | 'ERR_STATE_BULK_GET' | 'ERR_STATE_TRANSACTION';

/**
 * Adds the state API's routes (and Dapr's /v1.0/metadata, which Dapr's clients call to see that
 * the "sidecar" is up, and /v1.0/healthz) to the server; returns their removal.
 */
export function addStateApiRoutes(
  http: HttpRoutes,
  service: StateService,
  options: StateApiRoutesOptions = {},
): () => void {
  const guard = tokenGuard(options.token);
  const route = (
    method: string,
    pattern: string,
    operation: Operation | undefined,
    handler: HttpHandler,
  ): (() => void) =>
    // The service's errors as HTTP errors, mapped by the server (no promise per request to map them).
    http.route(method, pattern, guard === undefined ? handler : (request) => (guard(request), handler(request)), {
      mapError: (error) => asHttpError(error, operation),
    });
  const removals = [
    http.route('GET', '/v1.0/healthz', () => ({ status: 204 })),
    route('GET', '/v1.0/metadata', undefined, () => ({
      json: {
        id: service.stores.job.name,
        runtimeVersion: 'stator',
        components: service.stores
          .names()
          .map((name) => ({ name, type: 'state.stator', version: 'v1', capabilities: ['ETAG', 'TRANSACTIONAL'] })),
      },
    })),
    route('GET', '/v1.0/state/:store/:key', 'ERR_STATE_GET', (request) => {
      const store = request.params.store!;
      const keys = [request.params.key!];
      const consistency = consistencyOf(request.query.get('consistency'));
      // An eventual read of a loaded checkpoint is answered at once (no promise).
      const now = service.getNow(store, keys, consistency);
      if (now !== undefined) return readAnswer(now[0]);
      return service.get(store, keys, consistency).then(([read]) => readAnswer(read));
    }),
    // Not async: the body's promise, then the write's, is the answer (one step less per save).
    route('POST', '/v1.0/state/:store', 'ERR_STATE_SAVE', (request) =>
      request.json().then((body) => saveItems(service, request.params.store!, body)),
    ),
    route('DELETE', '/v1.0/state/:store/:key', 'ERR_STATE_DELETE', async (request) => {
      const ifMatch = request.headers['if-match'];
      const concurrency = concurrencyOf(request.query.get('concurrency') ?? undefined, 'the concurrency parameter');
      const write: StateWrite = {
        op: 'delete',
        key: request.params.key!,
        firstWrite: concurrency !== 'last-write',
        ...(ifMatch === undefined ? {} : { etag: etagOf(ifMatch, 'If-Match') }),
      };
      await service.write(request.params.store!, [write], false);
      return { status: 204 };
    }),
    route('POST', '/v1.0/state/:store/bulk', 'ERR_STATE_BULK_GET', async (request) => {
      const body = await request.json();
      const keys = (body as { keys?: unknown } | null)?.keys;
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
        throw malformed('the body must be {"keys": ["key", ...]}');
      const reads = await service.get(
        request.params.store!,
        keys as string[],
        consistencyOf(request.query.get('consistency')),
      );
      return {
        json: reads.map((r) => (r.value === undefined ? { key: r.key } : { key: r.key, data: r.value, etag: r.etag })),
      };
    }),
    route('POST', '/v1.0/state/:store/transaction', 'ERR_STATE_TRANSACTION', async (request) => {
      const body = await request.json();
      const operations = (body as { operations?: unknown } | null)?.operations;
      if (!Array.isArray(operations) || operations.length === 0)
        throw malformed(
          'the body must be {"operations": [{"operation": "upsert"|"delete", "request": {"key", ...}}, ...]}',
        );
      const writes = operations.map((entry, i) => {
        const { operation, request: item } = (entry ?? {}) as { operation?: unknown; request?: unknown };
        if (operation !== 'upsert' && operation !== 'delete')
          throw malformed(`operation ${i}: "operation" must be "upsert" or "delete", got ${JSON.stringify(operation)}`);
        return writeOf(item, 'operation', i, operation);
      });
      await service.write(request.params.store!, writes, true);
      return { status: 204 };
    }),
  ];
  return () => {
    for (const remove of removals) remove();
  };
}

/** What a save, a delete and a transaction answer once applied (read only by the server). */
const NO_CONTENT: HttpResponse = Object.freeze({ status: 204 });

/** A save's items (Dapr's body: an array of them) written; answers 204 once applied. */
function saveItems(service: StateService, store: string, body: unknown): Promise<HttpResponse> {
  if (!Array.isArray(body))
    throw malformed('the body must be a JSON array of {"key", "value", "etag"?, "options"?} objects');
  const writes = body.map((item, i) => writeOf(item, 'item', i, 'upsert'));
  return service.write(store, writes, false).then(noContent);
}

function noContent(): HttpResponse {
  return NO_CONTENT;
}

/**
 * The answers made for reads, by read: a read the view caches (per checkpoint) or the owner
 * remembers (while the key's cells stay the same) is answered again without serializing its value.
 */
const readAnswers = new WeakMap<KeyRead, HttpResponse>();

/** A GET's answer: the value with its ETag, or 204 for a key without state. */
function readAnswer(read: KeyRead | undefined): HttpResponse {
  if (read?.value === undefined) return NO_CONTENT;
  let answer = readAnswers.get(read);
  if (answer === undefined) {
    const headers = Object.freeze(read.etag === undefined ? {} : { ETag: read.etag });
    answer = Object.freeze({ headers, jsonText: toJsonText(read.value) });
    readAnswers.set(read, answer);
  }
  return answer;
}

/** A StateApiError as the HTTP error to answer (409, 503, 504 with the operation's errorCode); others as they are. */
function asHttpError(error: unknown, operation: Operation | undefined): unknown {
  if (!(error instanceof StateApiError)) return error;
  const code =
    error.status === 409 || error.status === 504 || error.status === 503 ? (operation ?? error.code) : error.code;
  return new HttpError(error.status, code, error.message, { cause: error });
}

function malformed(message: string): HttpError {
  return new HttpError(400, 'ERR_MALFORMED_REQUEST', message);
}

function consistencyOf(text: string | null): Consistency | undefined {
  if (text === null || text === '') return undefined;
  if (text === 'strong' || text === 'eventual') return text;
  throw malformed(`consistency ${JSON.stringify(text)} is unknown: use strong or eventual`);
}

function concurrencyOf(value: unknown, what: string): 'first-write' | 'last-write' | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === 'first-write' || value === 'last-write') return value;
  throw malformed(`${what} ${JSON.stringify(value)} is unknown: use first-write or last-write`);
}

function etagOf(value: unknown, what: string): string {
  const etag = typeof value === 'string' ? parseETag(value) : undefined;
  if (etag === undefined)
    throw new HttpError(
      400,
      'ERR_STATE_SAVE',
      `${what} ${JSON.stringify(value)} is not an ETag this store gave out: read the key for its ETag`,
    );
  return etag;
}

/**
 * One save item or transaction request: {key, value, etag?, options?: {concurrency, consistency}}.
 * `label` and `index` name it in an error (`item 3`); the text is made only then.
 */
function writeOf(item: unknown, label: string, index: number, op: 'upsert' | 'delete'): StateWrite {
  if (typeof item !== 'object' || item === null || Array.isArray(item))
    throw malformed(`${label} ${index}: expected an object {"key", "value", "etag"?, "options"?}`);
  const { key, value, etag, options } = item as { key?: unknown; value?: unknown; etag?: unknown; options?: unknown };
  if (typeof key !== 'string' || key.length === 0)
    throw malformed(`${label} ${index}: "key" must be a non-empty string`);
  if (op === 'upsert' && value === undefined)
    throw malformed(`${label} ${index} (key ${JSON.stringify(key)}): "value" is missing`);
  let concurrency: 'first-write' | 'last-write' | undefined;
  if (options !== undefined) {
    if (typeof options !== 'object' || options === null)
      throw malformed(`${label} ${index}: "options" must be an object`);
    const opts = options as { concurrency?: unknown; consistency?: unknown };
    concurrency = concurrencyOf(opts.concurrency, `${label} ${index}: options.concurrency`);
    if (opts.consistency !== undefined && opts.consistency !== null && opts.consistency !== '')
      consistencyOf(String(opts.consistency));
  }
  const firstWrite = concurrency !== 'last-write';
  // The same fields in the same order whichever are present (op, key, value?, etag?, firstWrite).
  if (etag === undefined || etag === null || etag === '')
    return op === 'upsert' ? { op, key, value: value as Json, firstWrite } : { op, key, firstWrite };
  const checked = etagOf(etag, `${label} ${index}: etag`);
  return op === 'upsert'
    ? { op, key, value: value as Json, etag: checked, firstWrite }
    : { op, key, etag: checked, firstWrite };
}

/** Checks `dapr-api-token` in constant time (digests of equal length), 401 otherwise; undefined without a token. */
function tokenGuard(token: string | undefined): ((request: HttpRequest) => void) | undefined {
  if (token === undefined || token === '') return undefined;
  const expected = createHash('sha256').update(token).digest();
  return (request) => {
    const given = request.headers['dapr-api-token'];
    const digest = createHash('sha256')
      .update(typeof given === 'string' ? given : '')
      .digest();
    if (typeof given !== 'string' || !timingSafeEqual(digest, expected)) {
      throw new HttpError(
        401,
        'ERR_UNAUTHORIZED',
        given === undefined
          ? 'this API needs the dapr-api-token header (the token given with --http-token)'
          : 'the dapr-api-token header does not match the token given with --http-token',
      );
    }
  };
}
