import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { startConfiguredNatsServer } from './support.ts';
import { connectNats, parseDurationMs, resolveNatsSettings, toConnectionOptions } from '../../runtime/nats/index.ts';

function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'stator-nats-opts-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

test('flags win over the nats CLI environment variables', () => {
  const env = { NATS_URL: 'nats://env:4222', NATS_USER: 'envuser', NATS_PASSWORD: 'envpass' };
  const fromEnv = resolveNatsSettings({}, env);
  assert.equal(fromEnv.servers, ['nats://env:4222']);
  assert.is(fromEnv.user, 'envuser');
  assert.is(fromEnv.password, 'envpass');
  const fromFlags = resolveNatsSettings(
    { nats: 'nats://a:1,nats://b:2', user: 'u', password: 'p', maxOutage: '2m' },
    env,
  );
  assert.equal(fromFlags.servers, ['nats://a:1', 'nats://b:2']);
  assert.is(fromFlags.user, 'u');
  assert.is(fromFlags.maxOutageMs, 120_000);
  assert.is(fromFlags.tls, false);
});

test('a user without a password is a token, as in the nats CLI; URL credentials are taken out of the URL', () => {
  const token = resolveNatsSettings({ nats: 'nats://h:4222', user: 'tok' }, {});
  assert.is(token.token, 'tok');
  assert.is(token.user, undefined);
  const url = resolveNatsSettings({ nats: 'nats://alice:p%40ss@h:4222' }, {});
  assert.equal(url.servers, ['nats://h:4222']);
  assert.is(url.user, 'alice');
  assert.is(url.password, 'p@ss');
  const options = toConnectionOptions(url);
  assert.is(options.user, 'alice');
  assert.is(options.pass, 'p@ss');
  assert.is(options.maxReconnectAttempts, -1);
});

test('inconsistent or unreadable options are configuration errors', () => {
  assert.is(
    codeOf(() => resolveNatsSettings({}, {})),
    'NATS_CONFIG',
  );
  assert.is(
    codeOf(() => resolveNatsSettings({ nats: 'nats://h', password: 'p' }, {})),
    'NATS_CONFIG',
  );
  assert.is(
    codeOf(() => resolveNatsSettings({ nats: 'nats://h', user: 'u', password: 'p', token: 't' }, {})),
    'NATS_CONFIG',
  );
  assert.is(
    codeOf(() => resolveNatsSettings({ nats: 'nats://h', creds: '/nonexistent/user.creds' }, {})),
    'NATS_CONFIG',
  );
  assert.is(
    codeOf(() => resolveNatsSettings({ nats: 'nats://h', tlscert: '/etc/hostname' }, {})),
    'NATS_CONFIG',
  );
  assert.is(
    codeOf(() => resolveNatsSettings({ nats: 'nats://h', maxOutage: 'soon' }, {})),
    'NATS_CONFIG',
  );
});

test('a server address that is not a URL is a configuration error naming it, not a connection failure', () => {
  for (const bad of ['not a url', 'nats://127.0.0.1:99999', 'nats://a:1,nats://b c:2']) {
    try {
      resolveNatsSettings({ nats: bad }, {});
      assert.unreachable(`${bad} should be refused`);
    } catch (error) {
      assert.is((error as { code?: string }).code, 'NATS_CONFIG', bad);
      assert.match((error as Error).message, /is not a NATS server URL: write e\.g\. nats:\/\/127\.0\.0\.1:4222/);
    }
  }
  // What nats.js accepts stays accepted: host:port without a scheme, a host without a port, ws://.
  assert.equal(resolveNatsSettings({ nats: '127.0.0.1:4222,nats://h,ws://h:8080' }, {}).servers, [
    '127.0.0.1:4222',
    'nats://h',
    'ws://h:8080',
  ]);
});

test('durations accept ms, s, m, h and bare seconds', () => {
  assert.is(parseDurationMs('500ms', 'x'), 500);
  assert.is(parseDurationMs('90', 'x'), 90_000);
  assert.is(parseDurationMs('1.5m', 'x'), 90_000);
  assert.is(parseDurationMs('1h', 'x'), 3_600_000);
  assert.is(parseDurationMs(250, 'x'), 250);
  assert.is(
    codeOf(() => parseDurationMs('0s', 'x')),
    'NATS_CONFIG',
  );
});

test('connects with an nkey seed file (--nkey)', async () => {
  using tmp = tempDir();
  const user = nkeys.createUser();
  const seedFile = join(tmp.dir, 'user.nk');
  writeFileSync(seedFile, `# stator test user\n${new TextDecoder().decode(user.getSeed())}\n`);
  await using server = await startConfiguredNatsServer(
    `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`,
  );
  const link = await connectNats({ nats: server.url, nkey: seedFile });
  await link.nc.flush();
  await link.close();
  const other = join(tmp.dir, 'other.nk');
  writeFileSync(other, new TextDecoder().decode(nkeys.createUser().getSeed()));
  try {
    await connectNats({ nats: server.url, nkey: other });
    assert.unreachable('an unknown nkey must be refused');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'NATS_CONNECT');
    assert.is((error as { retryable?: boolean }).retryable, false);
  }
});

test('connects over TLS, verifying the server with --tlsca', async () => {
  using tmp = tempDir();
  const file = (name: string): string => join(tmp.dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=stator test CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  );
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('san.ext'),
    '-out',
    file('server.pem'),
  );
  await using server = await startConfiguredNatsServer(
    `tls { cert_file: "${file('server.pem')}", key_file: "${file('server.key')}" }\n`,
  );
  const link = await connectNats({ nats: server.url, tlsca: file('ca.pem') });
  assert.ok(link.nc.info?.tls_required);
  await link.nc.flush();
  await link.close();
  try {
    await connectNats({ nats: server.url.replace('nats://', 'tls://') });
    assert.unreachable('a server certificate from an unknown CA must be refused');
  } catch (error) {
    assert.match((error as Error).message, /Check the TLS options/);
    assert.is((error as { retryable?: boolean }).retryable, false);
  }
});

test.run();
