import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { processExists, startNatsServer } from './index.ts';

test('nats server - starts on 127.0.0.1 on its own port and a client reaches that very server', async () => {
  await using server = await startNatsServer();
  assert.is.not(server.port, 4222);
  assert.is(server.url, `nats://127.0.0.1:${server.port}`);
  const nc = await connect({ servers: server.url });
  try {
    assert.is(nc.info?.server_id, server.serverId);
    assert.is(nc.info?.port, server.port);
    assert.ok(nc.info?.jetstream, 'JetStream is enabled');
  } finally {
    await nc.close();
  }
});

test('nats server - two servers get different ports and store dirs', async () => {
  await using a = await startNatsServer();
  await using b = await startNatsServer();
  assert.is.not(a.port, b.port);
  assert.is.not(a.storeDir, b.storeDir);
  assert.is.not(a.serverId, b.serverId);
});

test('nats server - restart keeps the port and the JetStream data', async () => {
  await using server = await startNatsServer();
  const firstId = server.serverId;
  let nc = await connect({ servers: server.url });
  const kv = await new Kvm(nc).create('restart_test');
  await kv.put('k', 'before restart');
  await nc.close();

  await server.restart();
  assert.is.not(server.serverId, firstId, 'a new process answers');
  nc = await connect({ servers: server.url });
  try {
    const entry = await (await new Kvm(nc).open('restart_test')).get('k');
    assert.is(entry?.string(), 'before restart');
  } finally {
    await nc.close();
  }
});

test('nats server - kill is a crash: the process is gone, restart brings back the data', async () => {
  await using server = await startNatsServer();
  let nc = await connect({ servers: server.url });
  await (await new Kvm(nc).create('crash_test')).put('k', 'v');
  await nc.close();
  const pid = server.pid!;
  await server.kill();
  assert.not.ok(processExists(pid), 'killed process is gone');
  assert.is(server.pid, undefined);
  await server.restart();
  nc = await connect({ servers: server.url });
  try {
    assert.is((await (await new Kvm(nc).open('crash_test')).get('k'))?.string(), 'v');
  } finally {
    await nc.close();
  }
});

test('nats server - stop leaves no process and no store dir, and is idempotent', async () => {
  const server = await startNatsServer();
  const pid = server.pid;
  assert.ok(pid !== undefined && processExists(pid));
  assert.ok(existsSync(server.storeDir));
  await Promise.all([server.stop(), server.stop()]);
  await server.stop();
  assert.not.ok(processExists(pid), `pid ${pid} is gone`);
  assert.not.ok(existsSync(server.storeDir));
  assert.is(server.pid, undefined);
  try {
    await server.restart();
    assert.unreachable('restart after stop must throw');
  } catch (error) {
    assert.match((error as Error).message, /was stopped/);
  }
});

test('nats server - restart fails clearly when another process holds the port, and works once it is free', async () => {
  await using server = await startNatsServer({ startTimeoutMs: 1_000 });
  await server.kill();
  const squatter: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(server.port, '127.0.0.1', resolve));
  try {
    await server.restart();
    assert.unreachable('restart must not succeed while another process holds the port');
  } catch (error) {
    assert.match((error as Error).message, /address already in use|not ours/);
  } finally {
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
  }
  await server.restart();
  const nc = await connect({ servers: server.url });
  try {
    assert.is(nc.info?.server_id, server.serverId);
  } finally {
    await nc.close();
  }
});

test.run();
