import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { waitFor } from '../../support/wait-for.ts';
import { createLogger } from '../../../runtime/log.ts';
import { HttpError, startHttpServer } from '../../../runtime/http/index.ts';
import type { HttpServer } from '../../../runtime/http/index.ts';

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

test('http server - an answer with a body says nosniff and its type; a 204 carries no body headers', async () => {
  await withServer(async (server) => {
    server.route('POST', '/saved', () => ({ status: 204 }));
    server.route('GET', '/text', () => ({ body: 'plain' }));
    const saved = await send(server, 'POST', '/saved', { body: '[]' });
    assert.is(saved.status, 204);
    assert.is(saved.body, '');
    assert.is(saved.headers['x-content-type-options'], undefined);
    assert.is(saved.headers['content-type'], undefined);
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

test.run();
