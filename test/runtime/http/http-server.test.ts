import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent, maxHeaderSize, request } from 'node:http';
import { connect } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { waitFor } from '../../support/wait-for.ts';
import { createLogger } from '../../../runtime/log.ts';
import { HttpError, startHttpServer } from '../../../runtime/http/index.ts';
import type { HttpRequest, HttpResponse, HttpServer } from '../../../runtime/http/index.ts';

const logger = createLogger('silent');

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over node:http (no global pool); `agent` to reuse a keep-alive connection. */
function send(
  server: HttpServer,
  method: string,
  path: string,
  options: { body?: string | Buffer; agent?: Agent; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { method, agent: options.agent ?? false, headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** What a server answered on a raw connection, read until the server closed it. */
interface RawAnswer extends Answer {
  statusLine: string;
}

/**
 * Sends `bytes` as they are on a new connection, then ends the client's side when `end` (a body cut
 * short) or leaves it open (the server must close it); resolves with the answer once the socket closes.
 */
function sendRaw(server: HttpServer, bytes: string, end: boolean): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.address.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const headEnd = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, headEnd < 0 ? text.length : headEnd).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(statusLine.split(' ')[1]);
      resolve({ statusLine, status, headers, body: headEnd < 0 ? '' : text.slice(headEnd + 4) });
    });
    socket.write(bytes, () => {
      if (end) socket.end();
    });
  });
}

/** A raw answer is one JSON error: its type, its exact length, the connection closed; returns its body. */
function jsonError(answer: RawAnswer): { errorCode: string; message: string } {
  assert.is(answer.headers['content-type'], 'application/json; charset=utf-8', answer.statusLine);
  assert.is(answer.headers['content-length'], String(Buffer.byteLength(answer.body)));
  assert.is(answer.headers.connection, 'close');
  const body = JSON.parse(answer.body) as { errorCode: string; message: string };
  assert.equal(Object.keys(body), ['errorCode', 'message']);
  assert.not.match(body.message, /\n/);
  return body;
}

async function withServer(
  run: (server: HttpServer) => Promise<void>,
  options: { maxBodyBytes?: number } = {},
): Promise<void> {
  const server = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger, ...options });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

test('http server - listens on the port it got and answers /healthz with the loop delay', async () => {
  await withServer(async (server) => {
    assert.ok(server.address.port > 0);
    assert.is(server.url, `http://127.0.0.1:${server.address.port}`);
    const answer = await send(server, 'GET', '/healthz');
    assert.is(answer.status, 200);
    assert.match(String(answer.headers['content-type']), /application\/json/);
    const body = JSON.parse(answer.body) as { status: string; loopDelayMaxMs: number };
    assert.is(body.status, 'ok');
    assert.type(body.loopDelayMaxMs, 'number');
    const head = await send(server, 'HEAD', '/healthz');
    assert.is(head.status, 200);
    assert.is(head.body, '');
  });
});

test('http server - /readyz answers 503 not ready while no job routes it: before its run, and after the run removed its route', async () => {
  await withServer(async (server) => {
    const before = await send(server, 'GET', '/readyz');
    assert.is(before.status, 503);
    assert.equal(JSON.parse(before.body), {
      status: 'no-job',
      message: 'no job runs in this process: it has not started yet, or it has ended',
    });
    assert.is((await send(server, 'HEAD', '/readyz')).status, 503);
    const remove = server.route('GET', '/readyz', () => ({ json: { status: 'running' } }));
    assert.is((await send(server, 'GET', '/readyz')).status, 200);
    // A job's run ends: its routes go, the server runs on until the process closes it.
    remove();
    const after = await send(server, 'GET', '/readyz');
    assert.is(after.status, 503);
    assert.is((JSON.parse(after.body) as { status: string }).status, 'no-job');
    assert.is((await send(server, 'POST', '/readyz')).status, 404);
  });
});

test('http server - /healthz answers 503 after the event loop stalled beyond the threshold', async () => {
  const server = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger, stallThresholdMs: 300 });
  try {
    const until = performance.now() + 800;
    while (performance.now() < until) {
      // A stalled loop: the monitor's timer cannot fire.
    }
    const answer = await send(server, 'GET', '/healthz');
    assert.is(answer.status, 503);
    assert.is((JSON.parse(answer.body) as { status: string }).status, 'stalled');
  } finally {
    await server.close();
  }
});

test('http server - routes get parameters, query and JSON bodies; responses carry status and headers', async () => {
  await withServer(async (server) => {
    server.route('POST', '/v1.0/state/:store', async (req) => {
      const body = await req.json();
      return {
        status: 201,
        headers: { ETag: '"1"' },
        json: { store: req.params.store, consistency: req.query.get('consistency'), body, big: 2n ** 64n },
      };
    });
    const answer = await send(server, 'POST', '/v1.0/state/counts?consistency=strong', {
      body: '[{"key":"a","value":1}]',
    });
    assert.is(answer.status, 201);
    assert.is(answer.headers.etag, '"1"');
    assert.equal(JSON.parse(answer.body), {
      store: 'counts',
      consistency: 'strong',
      body: [{ key: 'a', value: 1 }],
      big: '18446744073709551616',
    });
  });
});

test('http server - jsonText is sent as it is, as JSON', async () => {
  await withServer(async (server) => {
    server.route('GET', '/made', () => ({ headers: { ETag: 'e' }, jsonText: '{"count":1}' }));
    const answer = await send(server, 'GET', '/made');
    assert.is(answer.status, 200);
    assert.is(answer.body, '{"count":1}');
    assert.is(answer.headers['content-type'], 'application/json; charset=utf-8');
    assert.is(answer.headers['content-length'], '11');
    assert.is(answer.headers['x-content-type-options'], 'nosniff');
    assert.is(answer.headers.etag, 'e');
  });
});

test('http server - an answer with a body says nosniff and its type; a 204 carries no body headers, not even Content-Length', async () => {
  await withServer(async (server) => {
    server.route('POST', '/saved', () => ({ status: 204 }));
    server.route('GET', '/text', () => ({ body: 'plain' }));
    const saved = await send(server, 'POST', '/saved', { body: '[]' });
    assert.is(saved.status, 204);
    assert.is(saved.body, '');
    assert.is(saved.headers['x-content-type-options'], undefined);
    assert.is(saved.headers['content-type'], undefined);
    // RFC 9110 §8.6: a server MUST NOT send Content-Length in a 204.
    assert.is(saved.headers['content-length'], undefined);
    const json = await send(server, 'GET', '/healthz');
    assert.is(json.headers['x-content-type-options'], 'nosniff');
    const text = await send(server, 'GET', '/text');
    assert.is(text.headers['x-content-type-options'], 'nosniff');
    assert.is(text.headers['content-type'], 'text/plain; charset=utf-8');
    assert.is(text.headers['content-length'], '5');
  });
});

test('http server - errors are JSON: 404, 405 with Allow, 400 malformed JSON, HttpError as thrown, 500 without details', async () => {
  await withServer(async (server) => {
    server.route('PUT', '/thing', async (req) => ({ json: await req.json() }));
    server.route('GET', '/teapot', () => {
      throw new HttpError(418, 'ERR_TEAPOT', 'short and stout', { headers: { 'Retry-After': '5' } });
    });
    server.route('GET', '/bug', () => {
      throw new Error('secret internals');
    });
    const notFound = await send(server, 'GET', '/nowhere');
    assert.is(notFound.status, 404);
    assert.is((JSON.parse(notFound.body) as { errorCode: string }).errorCode, 'ERR_NOT_FOUND');
    const wrongMethod = await send(server, 'DELETE', '/thing');
    assert.is(wrongMethod.status, 405);
    assert.is(wrongMethod.headers.allow, 'PUT');
    const malformed = await send(server, 'PUT', '/thing', { body: '{nope' });
    assert.is(malformed.status, 400);
    assert.equal(Object.keys(JSON.parse(malformed.body) as object), ['errorCode', 'message']);
    assert.match(malformed.body, /not JSON/);
    const teapot = await send(server, 'GET', '/teapot');
    assert.is(teapot.status, 418);
    assert.is(teapot.headers['retry-after'], '5');
    assert.equal(JSON.parse(teapot.body), { errorCode: 'ERR_TEAPOT', message: 'short and stout' });
    const bug = await send(server, 'GET', '/bug');
    assert.is(bug.status, 500);
    assert.is((JSON.parse(bug.body) as { errorCode: string }).errorCode, 'ERR_INTERNAL');
    assert.not.match(bug.body, /secret/);
    const badEncoding = await send(server, 'GET', '/teapot%E0%A4%A');
    assert.is(badEncoding.status, 404, 'a literal route does not decode');
  });
});

test('http server - a body over the limit is 413, declared or streamed, and the handler sees nothing', async () => {
  await withServer(
    async (server) => {
      let reached = 0;
      server.route('POST', '/in', async (req) => {
        reached++;
        return { body: String((await req.bytes()).length) };
      });
      server.route('POST', '/big', async (req) => ({ body: String((await req.bytes()).length) }), {
        maxBodyBytes: 4096,
      });
      assert.is((await send(server, 'POST', '/in', { body: Buffer.alloc(1024) })).body, '1024');
      const declared = await send(server, 'POST', '/in', { body: Buffer.alloc(2048) });
      assert.is(declared.status, 413);
      assert.is((JSON.parse(declared.body) as { errorCode: string }).errorCode, 'ERR_BODY_TOO_LARGE');
      assert.is(reached, 1, 'a declared oversize body never reaches the handler');
      const streamed = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${server.url}/in`,
          { method: 'POST', agent: false, headers: { 'Transfer-Encoding': 'chunked' } },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        req.on('error', reject);
        req.write(Buffer.alloc(700));
        req.end(Buffer.alloc(700));
      });
      assert.is(streamed, 413);
      assert.is(
        (await send(server, 'POST', '/big', { body: Buffer.alloc(3000) })).body,
        '3000',
        'a route can raise its limit',
      );
    },
    { maxBodyBytes: 1024 },
  );
});

test('http server - close is idempotent, ends keep-alive connections and leaves the port free', async () => {
  const server = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    let socketClosed = false;
    agent.on('free', (socket) => socket.once('close', () => (socketClosed = true)));
    assert.is((await send(server, 'GET', '/healthz', { agent })).status, 200);
    let aborted = false;
    server.route(
      'GET',
      '/slow',
      (req) =>
        new Promise((resolve) =>
          req.signal.addEventListener('abort', () => ((aborted = true), resolve({ status: 503 }))),
        ),
    );
    const slow = send(server, 'GET', '/slow').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all([server.close(), server.close()]);
    await server.close();
    await slow;
    assert.ok(aborted, 'a handler in flight sees its signal abort');
    // The client hears the server's close a moment after the server let go of the socket.
    await waitFor(() => socketClosed, 'the idle keep-alive connection to be closed by the server', { limitMs: 10_000 });
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(server.address.port, '127.0.0.1');
      socket.on('connect', () => (socket.destroy(), resolve('connected')));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    assert.is(refused, 'ECONNREFUSED');
  } finally {
    agent.destroy();
    await server.close();
  }
});

test('http server - a port in use is a ConfigError that says so', async () => {
  await withServer(async (server) => {
    try {
      await startHttpServer({ address: server.address, logger });
      assert.unreachable('bound twice');
    } catch (error) {
      assert.is((error as { code?: string }).code, 'CONFIG_ERROR');
      assert.match((error as Error).message, /in use/);
    }
  });
});

test('http server - mapError of a route turns what its handler throws or rejects with into the error answered', async () => {
  await withServer(async (server) => {
    class Busy extends Error {}
    const mapError = (error: unknown): unknown =>
      error instanceof Busy ? new HttpError(409, 'ERR_BUSY', `mapped: ${error.message}`) : error;
    server.route(
      'GET',
      '/sync/:what',
      (request) => {
        if (request.params.what === 'busy') throw new Busy('sync');
        if (request.params.what === 'other') throw new Error('not mapped');
        return { json: { ok: true } };
      },
      { mapError },
    );
    server.route('GET', '/async', () => Promise.reject(new Busy('async')), { mapError });
    server.route('GET', '/unmapped', () => Promise.reject(new Busy('plain')));
    const busy = await send(server, 'GET', '/sync/busy');
    assert.is(busy.status, 409);
    assert.equal(JSON.parse(busy.body), { errorCode: 'ERR_BUSY', message: 'mapped: sync' });
    const later = await send(server, 'GET', '/async');
    assert.is(later.status, 409);
    assert.equal(JSON.parse(later.body), { errorCode: 'ERR_BUSY', message: 'mapped: async' });
    assert.is((await send(server, 'GET', '/sync/other')).status, 500, 'what mapError passes on is answered as thrown');
    assert.is((await send(server, 'GET', '/unmapped')).status, 500);
    assert.is((await send(server, 'GET', '/sync/fine')).status, 200);
    assert.is((await send(server, 'GET', '/nothing-here')).status, 404, 'no route: nothing to map');
  });
});

test('http server - a body cut short of its Content-Length is a JSON 400 that says so; the handler gets no body', async () => {
  await withServer(async (server) => {
    const reads: string[] = [];
    const reading = async (req: HttpRequest): Promise<HttpResponse> => {
      try {
        const body = await req.bytes();
        reads.push(`read ${body.length}`);
        return { body: String(body.length) };
      } catch (error) {
        reads.push(`failed ${(error as HttpError).code}`);
        throw error;
      }
    };
    server.route('POST', '/in', reading);
    const head = 'POST /in HTTP/1.1\r\nHost: 127.0.0.1\r\n';
    const cut = await sendRaw(server, `${head}Content-Length: 100\r\n\r\n${'x'.repeat(40)}`, true);
    assert.is(cut.status, 400);
    const body = jsonError(cut);
    assert.is(body.errorCode, 'ERR_MALFORMED_REQUEST');
    assert.match(body.message, /the request body ended after 40 of its 100 bytes \(Content-Length\)/);
    const chunked = await sendRaw(server, `${head}Transfer-Encoding: chunked\r\n\r\n28\r\n${'x'.repeat(40)}\r\n`, true);
    assert.is(chunked.status, 400);
    assert.match(jsonError(chunked).message, /ended after 40 bytes, before its last chunk/);
    await waitFor(() => reads.length === 2, 'both body reads to end');
    assert.equal(reads, ['failed ERR_MALFORMED_REQUEST', 'failed ERR_MALFORMED_REQUEST'], 'no handler got a body');

    // A handler that asks for the body only after the connection ended: its read fails, it does not hang.
    server.route('POST', '/late', async (req) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return reading(req);
    });
    const late = await sendRaw(server, `POST /late HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{}`, true);
    assert.is(late.status, 400);
    assert.match(jsonError(late).message, /ended before the request was complete/);
    await waitFor(() => reads.length === 3, 'the late read to end', { limitMs: 5000 });
    assert.is(reads[2], 'failed ERR_MALFORMED_REQUEST');
    assert.is((await send(server, 'POST', '/in', { body: 'whole' })).body, '5', 'the server still answers');
  });
});

test('http server - malformed HTTP is a JSON error (400, also for HTTP/1.1 without Host; 431, 413 for headers, chunk extensions over the limit) and the connection closes', async () => {
  await withServer(async (server) => {
    const badHeader = await sendRaw(server, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n', false);
    assert.is(badHeader.status, 400);
    assert.equal(jsonError(badHeader), {
      errorCode: 'ERR_MALFORMED_REQUEST',
      message:
        'the request is not valid HTTP/1.1: Invalid header token (HPE_INVALID_HEADER_TOKEN): fix the client that sent it',
    });
    const badMethod = await sendRaw(server, 'HELLO\r\n\r\n', false);
    assert.is(badMethod.status, 400);
    assert.match(jsonError(badMethod).message, /HPE_INVALID_METHOD/);
    const big = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(maxHeaderSize)}\r\n\r\n`;
    const tooLarge = await sendRaw(server, big, false);
    assert.is(tooLarge.statusLine, 'HTTP/1.1 431 Request Header Fields Too Large');
    assert.equal(jsonError(tooLarge), {
      errorCode: 'ERR_HEADERS_TOO_LARGE',
      message: `the request headers are larger than ${maxHeaderSize} bytes: send fewer or shorter headers`,
    });
    server.route('POST', '/in', async (req) => ({ body: String((await req.bytes()).length) }));
    const extension = `1;a=${'b'.repeat(20_000)}\r\nx\r\n0\r\n\r\n`;
    const chunked = 'POST /in HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n';
    const extended = await sendRaw(server, `${chunked}${extension}`, false);
    assert.is(extended.status, 413, "Node's limit on chunk extensions");
    assert.is(jsonError(extended).errorCode, 'ERR_BODY_TOO_LARGE');
    const noHost = await sendRaw(server, 'GET /healthz HTTP/1.1\r\n\r\n', false);
    assert.is(noHost.status, 400);
    assert.equal(jsonError(noHost), {
      errorCode: 'ERR_MALFORMED_REQUEST',
      message: 'the HTTP/1.1 request has no Host header: send one (RFC 9112, section 3.2)',
    });
    const http10 = await sendRaw(server, 'GET /healthz HTTP/1.0\r\n\r\n', false);
    assert.is(http10.status, 200, 'HTTP/1.0 has no Host header to require');
    const cutHeaders = await sendRaw(server, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', true);
    assert.is(cutHeaders.status, 400);
    assert.match(jsonError(cutHeaders).message, /ended before the request was complete/);
  });
});

test('http server - a body with a content coding other than identity is refused with 415 and Accept-Encoding: identity', async () => {
  await withServer(async (server) => {
    server.route('PUT', '/thing', async (req) => ({ json: await req.json() }));
    const json = '{"a":1}';
    for (const [coding, body] of [
      ['gzip', gzipSync(json)],
      ['br', brotliCompressSync(json)],
      ['identity, gzip', gzipSync(json)],
    ] as const) {
      const refused = await send(server, 'PUT', '/thing', { body, headers: { 'Content-Encoding': coding } });
      assert.is(refused.status, 415, coding);
      assert.is(refused.headers['accept-encoding'], 'identity');
      assert.equal(JSON.parse(refused.body), {
        errorCode: 'ERR_UNSUPPORTED_CONTENT_ENCODING',
        message: `the request body has Content-Encoding ${coding}; this server reads only identity (uncompressed) bodies: send the body uncompressed, without Content-Encoding`,
      });
    }
    const identity = await send(server, 'PUT', '/thing', { body: json, headers: { 'Content-Encoding': 'Identity' } });
    assert.is(identity.status, 200);
    assert.equal(JSON.parse(identity.body), { a: 1 });
  });
});

test('http server - the debug log line of a request says the client had gone when the answer was dropped, not its status', async () => {
  const lines: string[] = [];
  let slowLogged!: (line: string) => void;
  const slowLine = new Promise<string>((resolve) => (slowLogged = resolve));
  const debugLogger = {
    ...logger,
    level: 'debug' as const,
    debug: (line: string) => {
      lines.push(line);
      if (line.startsWith('http: POST /slow')) slowLogged(line);
    },
  };
  const server = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger: debugLogger });
  try {
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    server.route('POST', '/slow', async (req) => {
      entered();
      await new Promise((resolve) => req.signal.addEventListener('abort', resolve, { once: true }));
      return { json: { late: true } };
    });
    const socket = connect(server.address.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n');
    await handlerEntered;
    socket.destroy();
    assert.match(
      await slowLine,
      /^http: POST \/slow: the client had gone; its answer \(200\) was dropped \(\d+\.\d ms\)$/,
    );
    assert.is((await send(server, 'GET', '/healthz')).status, 200);
    assert.ok(
      lines.some((line) => /^http: GET \/healthz 200 \d+\.\d ms$/.test(line)),
      lines.join('\n'),
    );
  } finally {
    await server.close();
  }
});

test.run();
