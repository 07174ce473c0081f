import { createServer, maxHeaderSize, STATUS_CODES } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { formatHttpAuthority } from './http-address.ts';
import type { HttpAddress } from './http-address.ts';
import { HttpError } from './http-error.ts';
import { startLoopMonitor } from './loop-monitor.ts';
import { RouteTable } from './route-table.ts';
import type { PathPattern } from './route-table.ts';

/** A request as a route handler sees it. */
export interface HttpRequest {
  /** Upper case; a HEAD request reaches the GET handler with `method` 'HEAD' (its body is not sent). */
  readonly method: string;
  /** The path as sent (still percent-encoded), without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The pattern's `:name` and `*name` parameters, percent-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** Header names in lower case. */
  readonly headers: IncomingHttpHeaders;
  /** Aborts when the client goes away or the server closes: long work should stop then. */
  readonly signal: AbortSignal;
  /**
   * The body (read once, then cached).
   * @throws HttpError 413 ERR_BODY_TOO_LARGE beyond the route's body limit; 415
   * ERR_UNSUPPORTED_CONTENT_ENCODING for a Content-Encoding other than identity; 400
   * ERR_MALFORMED_REQUEST when the client went away before the whole body arrived.
   */
  bytes(): Promise<Uint8Array>;
  /** The body as UTF-8 text. @throws HttpError 413, or 400 ERR_MALFORMED_REQUEST when not UTF-8. */
  text(): Promise<string>;
  /** The body parsed as JSON. @throws HttpError 413, or 400 ERR_MALFORMED_REQUEST naming the parse error. */
  json(): Promise<unknown>;
}

/**
 * What a handler answers. `json` is serialized (bigints as decimal strings; see toJsonText) with
 * `Content-Type: application/json`, `jsonText` sent as it is with that type; a string `body`
 * defaults to `text/plain; charset=utf-8`.
 */
export interface HttpResponse {
  /** @default 200 */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  readonly json?: unknown;
  /** JSON text made before (e.g. kept with a cached value: one serialization for many answers). */
  readonly jsonText?: string;
}

/**
 * Handles one request. Throw HttpError for an error answer; anything else thrown is a 500
 * ERR_INTERNAL (logged with its message, never sent to the client).
 */
export type HttpHandler = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;

export interface RouteOptions {
  /** The largest request body this route reads. @default the server's maxBodyBytes */
  readonly maxBodyBytes?: number;
  /**
   * What the handler threw (or its promise rejected with) as the error to answer, e.g. a feature's
   * own errors as HttpErrors; what it returns (or throws) is answered like anything a handler throws.
   */
  readonly mapError?: (error: unknown) => unknown;
}

/** Where features add their endpoints (the state API, /metrics, the status page). */
export interface HttpRoutes {
  /**
   * Routes `method` requests for `pattern` (see PathPattern: `/v1.0/state/:store/:key`,
   * `/files/*path`) to `handler`. Routes can be added while the server runs. Returns the route's
   * removal (a removed route answers 404 again).
   * @throws ConfigError on a malformed pattern, or when `method pattern` is already routed.
   */
  route(method: string, pattern: PathPattern, handler: HttpHandler, options?: RouteOptions): () => void;
}

/**
 * The runtime's HTTP server: one per process (`stator run --http host:port`). Built in: `GET
 * /healthz` (200 while the process runs and its event loop has not stalled lately, else 503), and
 * `GET /readyz` answering 503 `{"status":"no-job"}` while no route serves it (a job's run adds one).
 * Unknown paths answer 404 ERR_NOT_FOUND, a known path with another method 405 (with `Allow`),
 * a body over the limit 413, a compressed body 415, malformed input 400 (malformed HTTP too, and a
 * body cut short of its Content-Length; headers over Node's limit 431), all as JSON
 * `{ "errorCode", "message" }`.
 */
export interface HttpServer extends HttpRoutes {
  /** Where it listens, with the port it got (when 0 was asked for). */
  readonly address: HttpAddress;
  /** e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  /**
   * Stops accepting connections, aborts handlers' signals, waits up to closeGraceMs for responses
   * in flight, then closes every connection. Idempotent; resolves when no socket is left.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface HttpServerOptions {
  readonly address: HttpAddress;
  readonly logger: Logger;
  /** The largest request body a route reads (Dapr's default limit). @default 4 MiB */
  readonly maxBodyBytes?: number;
  /** /healthz answers 503 after the event loop stalled longer than this in the last 30 s. @default 5000 */
  readonly stallThresholdMs?: number;
  /** How long close() lets responses in flight finish. @default 2000 */
  readonly closeGraceMs?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The readiness probe's path: a job routes it while it runs; the server answers 503 otherwise. */
const READYZ_PATH = '/readyz';

/**
 * Starts listening; resolves once bound.
 * @throws ConfigError when the address cannot be bound (in use, not local, not permitted).
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const server = new RuntimeHttpServer(options);
  await server.listen();
  return server;
}

/** A request body being read, by its connection: what clientError needs to say how it was cut short. */
interface BodyRead {
  readonly request: IncomingMessage;
  received: number;
}

interface RouteEntry {
  readonly handler: HttpHandler;
  readonly maxBodyBytes: number;
  readonly mapError: ((error: unknown) => unknown) | undefined;
}

/** A request's route and where its path and query are in its target. */
interface Route extends RouteEntry {
  readonly method: string;
  readonly path: string;
  readonly target: string;
  readonly queryAt: number;
  readonly params: Readonly<Record<string, string>>;
}

/** Answers a handler's response (process.nextTick takes it without a closure). */
function answered(
  server: RuntimeHttpServer,
  req: IncomingMessage,
  res: ServerResponse,
  response: HttpResponse,
  started: number,
): void {
  server.finish(req, res, response, started);
}

/** Answers what a route (or finding it) threw, through the route's mapError when it has one. */
function failed(
  server: RuntimeHttpServer,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route | undefined,
  error: unknown,
  started: number,
): void {
  let mapped = error;
  if (route?.mapError !== undefined) {
    try {
      mapped = route.mapError(error);
    } catch (mapping) {
      mapped = mapping;
    }
  }
  server.finish(req, res, server.errorResponse(mapped, req), started);
}

class RuntimeHttpServer implements HttpServer {
  private readonly routes = new RouteTable<RouteEntry>();
  private readonly server: Server;
  private readonly log: Logger;
  private readonly maxBodyBytes: number;
  private readonly closeGraceMs: number;
  private readonly monitor = startLoopMonitor();
  private readonly inFlight = new Set<AbortController>();
  readonly bodyReads = new Map<Duplex, BodyRead>();
  private bound: HttpAddress;
  private closing: Promise<void> | undefined;
  private readonly noJobReadiness: RouteEntry;

  constructor(private readonly options: HttpServerOptions) {
    this.log = options.logger;
    this.bound = options.address;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.closeGraceMs = options.closeGraceMs ?? 2000;
    // Node's own check of the Host header answers 400 with an empty body: routeOf answers it as JSON.
    this.server = createServer({ requireHostHeader: false }, (req, res) => this.handle(req, res));
    const stallThresholdMs = options.stallThresholdMs ?? 5000;
    this.noJobReadiness = {
      handler: () => ({
        status: 503,
        headers: { 'Cache-Control': 'no-store' },
        json: { status: 'no-job', message: 'no job runs in this process: it has not started yet, or it has ended' },
      }),
      maxBodyBytes: this.maxBodyBytes,
      mapError: undefined,
    };
    this.route('GET', '/healthz', () => {
      const loopDelayMaxMs = Math.round(this.monitor.recentMaxDelayMs());
      const stalled = loopDelayMaxMs > stallThresholdMs;
      return {
        status: stalled ? 503 : 200,
        headers: { 'Cache-Control': 'no-store' },
        json: {
          status: stalled ? 'stalled' : 'ok',
          loopDelayMaxMs,
          stallThresholdMs,
          uptimeSeconds: Math.round(process.uptime()),
        },
      };
    });
  }

  get address(): HttpAddress {
    return this.bound;
  }

  get url(): string {
    return `http://${formatHttpAuthority(this.bound)}`;
  }

  route(method: string, pattern: PathPattern, handler: HttpHandler, options: RouteOptions = {}): () => void {
    return this.routes.add(method, pattern, {
      handler,
      maxBodyBytes: options.maxBodyBytes ?? this.maxBodyBytes,
      mapError: options.mapError,
    });
  }

  async listen(): Promise<void> {
    const { host, port } = this.options.address;
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen({ host, port }, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.monitor.close();
      const code = (error as NodeJS.ErrnoException).code;
      const where = formatHttpAuthority(this.options.address);
      const why =
        code === 'EADDRINUSE'
          ? 'the address is in use (another process listens there): pick another port'
          : code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges): pick a port above 1023'
            : code === 'EADDRNOTAVAIL'
              ? 'the address is not one of this machine: name a local address, 127.0.0.1 or 0.0.0.0'
              : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
                ? 'the host name does not resolve: name an IP address'
                : (error as Error).message;
      throw new ConfigError(`--http ${where}: cannot listen: ${why}`, { cause: error });
    }
    const info = this.server.address() as AddressInfo;
    this.bound = { host: this.options.address.host, port: info.port };
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket) => this.answerClientError(error, socket));
  }

  /**
   * Malformed HTTP, or a connection that ended mid-request. Node gives no request or response here: the
   * answer is written on the socket, which this closes (Node's docs ask that of the listener). A
   * handler reading the body sees its read fail once the socket has closed, so nothing is applied.
   */
  private answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    // ECONNRESET: the client is gone; not writable: an answer already closes the connection.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const answer = clientErrorOf(error, this.bodyReads.get(socket));
    this.log.debug(`http: ${error.code ?? 'client error'}: answered ${answer.status} ${answer.code}`);
    const body = JSON.stringify({ errorCode: answer.code, message: answer.message });
    socket.end(
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async closeOnce(): Promise<void> {
    this.monitor.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const controller of this.inFlight)
      controller.abort(new HttpError(503, 'ERR_SHUTTING_DOWN', 'the server is shutting down'));
    this.server.closeIdleConnections();
    const force = setTimeout(() => this.server.closeAllConnections(), this.closeGraceMs);
    // Keep-alive connections that finish a response after close() began would otherwise linger.
    const sweep = setInterval(() => this.server.closeIdleConnections(), 50);
    try {
      await closed;
    } finally {
      clearTimeout(force);
      clearInterval(sweep);
    }
  }

  /** Answers one request. */
  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = this.log.level === 'debug' ? performance.now() : 0;
    let route: Route | undefined;
    let response: HttpResponse | Promise<HttpResponse>;
    try {
      route = this.routeOf(req);
      response = route.handler(this.requestOf(req, res, route));
    } catch (error) {
      process.nextTick(failed, this, req, res, route, error, started);
      return;
    }
    // Answered after the request event, never in it: a response finished inside it leaves a
    // keep-alive connection that server.closeIdleConnections() does not see as idle.
    if (typeof (response as { then?: unknown }).then === 'function')
      (response as Promise<HttpResponse>).then(
        (answer) => this.finish(req, res, answer, started),
        (error: unknown) => failed(this, req, res, route, error, started),
      );
    else process.nextTick(answered, this, req, res, response as HttpResponse, started);
  }

  finish(req: IncomingMessage, res: ServerResponse, response: HttpResponse, started: number): void {
    const sent = this.send(req, res, response);
    if (this.log.level !== 'debug') return;
    const ms = (performance.now() - started).toFixed(1);
    const what = `http: ${req.method} ${req.url}`;
    const status = response.status ?? 200;
    this.log.debug(
      sent
        ? `${what} ${res.statusCode} ${ms} ms`
        : res.destroyed
          ? `${what}: the client had gone; its answer (${status}) was dropped (${ms} ms)`
          : `${what}: answered ${res.statusCode} already; the answer ${status} was dropped (${ms} ms)`,
    );
  }

  /**
   * The request's AbortSignal, made when a handler first asks (most never do): aborted when the
   * client goes away or the server closes, born aborted when either happened already.
   */
  signalOf(res: ServerResponse): AbortSignal {
    const controller = new AbortController();
    if (this.closing !== undefined) {
      controller.abort(new HttpError(503, 'ERR_SHUTTING_DOWN', 'the server is shutting down'));
    } else if (res.destroyed && !res.writableFinished) {
      controller.abort(clientGone());
    } else {
      this.inFlight.add(controller);
      res.once('close', () => {
        this.inFlight.delete(controller);
        if (!res.writableFinished) controller.abort(clientGone());
      });
    }
    return controller.signal;
  }

  /**
   * The request's route.
   * @throws HttpError 503 while closing, 400 (no Host, a target that is not a path), 404, 405, or 413
   * for a declared body over the limit.
   */
  private routeOf(req: IncomingMessage): Route {
    if (this.closing !== undefined)
      throw new HttpError(503, 'ERR_SHUTTING_DOWN', 'the server is shutting down', {
        headers: { Connection: 'close' },
      });
    // RFC 9112 (3.2): a server must answer 400 to an HTTP/1.1 request without Host.
    if (req.httpVersion === '1.1' && req.headers.host === undefined)
      throw new HttpError(
        400,
        'ERR_MALFORMED_REQUEST',
        'the HTTP/1.1 request has no Host header: send one (RFC 9112, section 3.2)',
        { headers: { Connection: 'close' } },
      );
    const target = req.url ?? '';
    if (!target.startsWith('/'))
      throw new HttpError(400, 'ERR_MALFORMED_REQUEST', `request target ${JSON.stringify(target)} is not a path`);
    const queryAt = target.indexOf('?');
    const path = queryAt < 0 ? target : target.slice(0, queryAt);
    const method = req.method === undefined ? 'GET' : req.method.toUpperCase();
    let found: ReturnType<RouteTable<RouteEntry>['match']>;
    try {
      found = this.routes.match(method === 'HEAD' ? 'GET' : method, path);
    } catch (error) {
      throw new HttpError(400, 'ERR_MALFORMED_REQUEST', `path ${JSON.stringify(path)} has malformed percent-encoding`, {
        cause: error,
      });
    }
    if (!('handler' in found)) {
      // A probe asking while no job serves /readyz (before its run starts, and after it ends while the
      // process shuts down) must read "not ready", not "no such endpoint".
      if (found.allowed.length === 0 && path === READYZ_PATH && (method === 'GET' || method === 'HEAD'))
        return { ...this.noJobReadiness, method, path, target, queryAt, params: {} };
      if (found.allowed.length === 0) throw new HttpError(404, 'ERR_NOT_FOUND', `nothing at ${method} ${path}`);
      const allowed = found.allowed.includes('GET') ? [...found.allowed, 'HEAD'] : found.allowed;
      throw new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `${path} answers ${allowed.join(', ')}, not ${method}`, {
        headers: { Allow: allowed.join(', ') },
      });
    }
    const { handler, maxBodyBytes, mapError } = found.handler;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) throw tooLarge(maxBodyBytes);
    return { handler, maxBodyBytes, mapError, method, path, target, queryAt, params: found.params };
  }

  private requestOf(req: IncomingMessage, res: ServerResponse, route: Route): IncomingRequest {
    return new IncomingRequest(
      this,
      req,
      res,
      route.method,
      route.path,
      route.target,
      route.queryAt,
      route.params,
      route.maxBodyBytes,
    );
  }

  errorResponse(error: unknown, req: IncomingMessage): HttpResponse {
    if (error instanceof HttpError) {
      return { status: error.status, headers: error.headers, json: { errorCode: error.code, message: error.message } };
    }
    this.log.error(`http: ${req.method} ${req.url} failed: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof Error && error.stack !== undefined) this.log.debug(error.stack);
    return { status: 500, json: { errorCode: 'ERR_INTERNAL', message: 'internal error (logged by the server)' } };
  }

  /** Sends the answer; false when it cannot be (the connection is gone, or an answer was sent already). */
  private send(req: IncomingMessage, res: ServerResponse, response: HttpResponse): boolean {
    if (res.headersSent || res.destroyed) return false;
    let payload: string | Uint8Array = '';
    let contentType: string | undefined;
    if (response.jsonText !== undefined) {
      payload = response.jsonText;
      contentType = 'application/json; charset=utf-8';
    } else if (response.json !== undefined) {
      payload = toJsonText(response.json);
      contentType = 'application/json; charset=utf-8';
    } else if (response.body !== undefined) {
      payload = response.body;
      if (typeof payload === 'string') contentType = 'text/plain; charset=utf-8';
    }
    const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
    // nosniff where there is a body to sniff (a 204 has none, and every header costs the client too).
    const headers: Record<string, string> = length === 0 ? {} : { 'X-Content-Type-Options': 'nosniff' };
    if (contentType !== undefined) headers['Content-Type'] = contentType;
    if (response.headers !== undefined) Object.assign(headers, response.headers);
    const status = response.status ?? 200;
    // RFC 9110 §8.6: never on a 204 (which has no body; Node frames it without one).
    if (status !== 204) headers['Content-Length'] = String(length);
    // A request body the handler left unread (or over the limit) is not worth reading: close after.
    if (!req.complete) headers.Connection = 'close';
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || length === 0) res.end();
    else res.end(payload);
    return true;
  }
}

/** A request as handlers see it: query, signal and body are made only when asked for. */
class IncomingRequest implements HttpRequest {
  private queryParams: URLSearchParams | undefined;
  private abortSignal: AbortSignal | undefined;
  private body: Promise<Uint8Array> | undefined;

  constructor(
    private readonly server: {
      signalOf(res: ServerResponse): AbortSignal;
      readonly bodyReads: Map<Duplex, BodyRead>;
    },
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    readonly method: string,
    readonly path: string,
    private readonly target: string,
    private readonly queryAt: number,
    readonly params: Readonly<Record<string, string>>,
    private readonly maxBodyBytes: number,
  ) {}

  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }

  get query(): URLSearchParams {
    return (this.queryParams ??= new URLSearchParams(this.queryAt < 0 ? '' : this.target.slice(this.queryAt + 1)));
  }

  get signal(): AbortSignal {
    return (this.abortSignal ??= this.server.signalOf(this.res));
  }

  bytes(): Promise<Uint8Array> {
    return (this.body ??= readBody(this.req, this.maxBodyBytes, this.server.bodyReads));
  }

  text(): Promise<string> {
    return this.bytes().then(decodeText);
  }

  /** One step after the body is read (every write of the state API parses one). */
  json(): Promise<unknown> {
    return this.bytes().then(parseJsonBody);
  }
}

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (error) {
    throw new HttpError(400, 'ERR_MALFORMED_REQUEST', 'the request body is not UTF-8 text', { cause: error });
  }
}

function parseJsonBody(bytes: Uint8Array): unknown {
  const text = decodeText(bytes);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, 'ERR_MALFORMED_REQUEST', `the request body is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Strict UTF-8 (a decoder without `stream` keeps no state between calls, so one serves every request). */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function clientGone(): HttpError {
  return new HttpError(499, 'ERR_CLIENT_GONE', 'the client closed the connection');
}

/**
 * JSON text with bigints as decimal strings (as the server sends `json`); the replacer (slow) only
 * for values that hold one.
 */
export function toJsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner));
  }
}

function tooLarge(maxBodyBytes: number): HttpError {
  return new HttpError(413, 'ERR_BODY_TOO_LARGE', `the request body is larger than ${maxBodyBytes} bytes`, {
    headers: { Connection: 'close' },
  });
}

/**
 * Reads the body up to `maxBodyBytes`; beyond it stops reading and throws 413. The listeners stay
 * (the request is done with when the body is): once settled, later events change nothing. While it
 * reads, `reads` has it under the request's socket.
 */
function readBody(req: IncomingMessage, maxBodyBytes: number, reads: Map<Duplex, BodyRead>): Promise<Uint8Array> {
  const coding = req.headers['content-encoding'];
  if (coding !== undefined && !isIdentity(coding)) return Promise.reject(unsupportedCoding(coding));
  // Aborted before the handler asked: no event is left to settle the read.
  if (req.destroyed && !req.complete) return Promise.reject(bodyFailed(new Error('the client went away')));
  return new Promise((resolve, reject) => {
    let chunks: Buffer | Buffer[] | undefined;
    const read: BodyRead = { request: req, received: 0 };
    const socket = req.socket;
    reads.set(socket, read);
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      if (reads.get(socket) === read) reads.delete(socket);
      return true;
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      read.received += chunk.length;
      if (read.received > maxBodyBytes) {
        settle();
        req.pause();
        reject(tooLarge(maxBodyBytes));
      } else if (chunks === undefined) chunks = chunk;
      else if (Array.isArray(chunks)) chunks.push(chunk);
      else chunks = [chunks, chunk];
    });
    req.on('end', () => {
      if (!settle()) return;
      resolve(chunks === undefined ? Buffer.alloc(0) : Array.isArray(chunks) ? Buffer.concat(chunks) : chunks);
    });
    req.on('error', (error: Error) => {
      if (settle()) reject(bodyFailed(error));
    });
    req.on('aborted', () => {
      if (settle()) reject(bodyFailed(new Error('the client went away')));
    });
  });
}

/** A Content-Encoding that leaves the body as it is: identity, or nothing, for each coding listed. */
function isIdentity(coding: string): boolean {
  return coding.split(',').every((part) => {
    const name = part.trim().toLowerCase();
    return name === '' || name === 'identity';
  });
}

/**
 * Compressed bodies are refused rather than decoded: Dapr decodes none (it parses the bytes as sent,
 * so a gzip body fails there as malformed JSON), and a body stator took where Dapr does not would tie
 * a client to stator. RFC 9110 (12.5.3) asks for 415 with the codings accepted in Accept-Encoding.
 */
function unsupportedCoding(coding: string): HttpError {
  return new HttpError(
    415,
    'ERR_UNSUPPORTED_CONTENT_ENCODING',
    `the request body has Content-Encoding ${coding}; this server reads only identity (uncompressed) bodies: send the body uncompressed, without Content-Encoding`,
    { headers: { 'Accept-Encoding': 'identity' } },
  );
}

/**
 * What clientError answers, by Node's error code: the statuses Node's own default answers, as JSON.
 * `read` is the body being read on that connection, if any.
 */
function clientErrorOf(error: NodeJS.ErrnoException, read: BodyRead | undefined): HttpError {
  const options = { cause: error };
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new HttpError(
        431,
        'ERR_HEADERS_TOO_LARGE',
        `the request headers are larger than ${maxHeaderSize} bytes: send fewer or shorter headers`,
        options,
      );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new HttpError(
        413,
        'ERR_BODY_TOO_LARGE',
        'the chunk extensions of the request body are too large: send its chunks without extensions',
        options,
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new HttpError(
        408,
        'ERR_REQUEST_TIMEOUT',
        "the request did not arrive whole within the server's time limit: send it again",
        options,
      );
    case 'HPE_INVALID_EOF_STATE':
      return new HttpError(400, 'ERR_MALFORMED_REQUEST', cutShort(read), options);
    default: {
      const reason = (error as { reason?: string }).reason ?? error.message;
      return new HttpError(
        400,
        'ERR_MALFORMED_REQUEST',
        `the request is not valid HTTP/1.1: ${reason} (${error.code}): fix the client that sent it`,
        options,
      );
    }
  }
}

/** Why a request that the client's end of the connection cut short is refused, and what to do. */
function cutShort(read: BodyRead | undefined): string {
  if (read === undefined)
    return 'the connection ended before the request was complete: send the whole request, with as many body bytes as its Content-Length says';
  const declared = read.request.headers['content-length'];
  return declared === undefined
    ? `the request body ended after ${read.received} bytes, before its last chunk: send the whole body`
    : `the request body ended after ${read.received} of its ${declared} bytes (Content-Length): send the whole body, with a Content-Length that matches it`;
}

function bodyFailed(error: Error): HttpError {
  return new HttpError(400, 'ERR_MALFORMED_REQUEST', `reading the request body failed: ${error.message}`, {
    cause: error,
  });
}
