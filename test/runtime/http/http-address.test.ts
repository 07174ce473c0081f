import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatHttpAuthority, parseHttpAddress } from '../../../runtime/http/http-address.ts';

test('http address - a bare port or :port listens on loopback; a named host is kept', () => {
  assert.equal(parseHttpAddress('9464'), { host: '127.0.0.1', port: 9464 });
  assert.equal(parseHttpAddress(':0'), { host: '127.0.0.1', port: 0 });
  assert.equal(parseHttpAddress('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
  assert.equal(parseHttpAddress('localhost:8080'), { host: 'localhost', port: 8080 });
  assert.equal(parseHttpAddress('[::1]:9464'), { host: '::1', port: 9464 });
  assert.is(formatHttpAuthority({ host: '::1', port: 1 }), '[::1]:1');
  assert.is(formatHttpAuthority({ host: '127.0.0.1', port: 1 }), '127.0.0.1:1');
});

test('http address - malformed text is a ConfigError that names the flag and the forms', () => {
  for (const bad of [
    '',
    'localhost',
    'host:',
    'host:http',
    '1.2.3.4:70000',
    '::1:80',
    '[nothost]:80',
    'bad host:80',
    '-x:80',
    '1:2:3',
  ]) {
    assert.throws(
      () => parseHttpAddress(bad),
      (e: Error & { code?: string }) =>
        e.code === 'CONFIG_ERROR' &&
        e.message.startsWith(`--http ${JSON.stringify(bad)}`) &&
        /host:port/.test(e.message),
      JSON.stringify(bad),
    );
  }
});

test.run();
