import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { firstValueFrom, filter, toArray } from 'rxjs';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats, resolveNatsSettings, type NatsConnectionEvent } from '../../runtime/nats/index.ts';
import { DEFAULT_RETRY_POLICY, isTransientNatsError, retryTransient } from '../../runtime/nats/retry.ts';

test('connects with user and password given as flags, and refuses a wrong password as terminal', async () => {
  await using server = await startNatsServer({ args: ['--user', 'app', '--pass', 's3cret'] });
  const link = await connectNats({ nats: server.url, user: 'app', password: 's3cret' });
  assert.is(link.state, 'connected');
  assert.ok(link.features.major >= 2);
  await link.close();
  assert.is(link.state, 'closed');
  try {
    await connectNats({ nats: server.url, user: 'app', password: 'wrong' });
    assert.unreachable('a wrong password must fail');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'NATS_CONNECT');
    assert.is((error as { retryable?: boolean }).retryable, false);
    assert.match((error as Error).message, /credentials/);
  }
});

test('connects with a token from NATS_TOKEN, and with credentials embedded in the URL', async () => {
  await using server = await startNatsServer({ args: ['--auth', 'tok-123'] });
  const fromEnv = await connectNats(resolveNatsSettings({ nats: server.url }, { NATS_TOKEN: 'tok-123' }));
  await fromEnv.close();
  const fromUrl = await connectNats({ nats: server.url.replace('nats://', 'nats://tok-123@') });
  await fromUrl.close();
});

test('a server that is not running fails the first connection as retryable', async () => {
  const server = await startNatsServer({ jetstream: false });
  const url = server.url;
  await server.stop();
  try {
    await connectNats({ nats: url });
    assert.unreachable('connecting to a stopped server must fail');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'NATS_CONNECT');
    assert.is((error as { retryable?: boolean }).retryable, true);
  }
});

test('survives a server restart: reports the disconnect and the reconnect, and keeps working', async () => {
  await using server = await startNatsServer();
  const link = await connectNats({ nats: server.url, maxOutage: '30s' });
  const seen = firstValueFrom(link.events$.pipe(filter((e) => e.type === 'reconnected')));
  await server.restart();
  const reconnected = (await seen) as Extract<NatsConnectionEvent, { type: 'reconnected' }>;
  assert.ok(reconnected.outageMs >= 0);
  assert.is(link.state, 'connected');
  await link.nc.flush();
  await link.close();
});

test('a JetStream manager that could not be made while the server was down is made again once it is back', async () => {
  // Callers retry a timeout (ensureJobStreams at a worker's start): a failure kept from the first
  // attempt would fail every retry.
  await using server = await startNatsServer();
  const link = await connectNats({ nats: server.url, maxOutage: '60s' });
  try {
    await server.kill();
    const error = await link.jetstreamManager().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isTransientNatsError(error), String(error));
    await server.restart();
    const jsm = await retryTransient(() => link.jetstreamManager(), DEFAULT_RETRY_POLICY, new AbortController().signal);
    assert.ok((await jsm.getAccountInfo()).streams >= 0);
  } finally {
    await link.close();
  }
});

test('an outage longer than --max-outage closes the connection with a NatsOutageError', async () => {
  await using server = await startNatsServer();
  const link = await connectNats({ nats: server.url, maxOutage: '300ms' });
  const events = link.events$.pipe(toArray());
  const all = firstValueFrom(events);
  await server.kill();
  const error = await link.closed();
  assert.is((error as { code?: string } | undefined)?.code, 'NATS_OUTAGE');
  assert.is(link.state, 'failed');
  const types = (await all).map((e) => e.type);
  assert.ok(types.includes('disconnected'));
  assert.ok(types.includes('outage-exceeded'));
  assert.is(types.at(-1), 'closed');
  await link.close();
});

test.run();
