import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RouteTable } from '../../../runtime/http/route-table.ts';

function handlerOf(found: ReturnType<RouteTable<string>['match']>): string | undefined {
  return 'handler' in found ? found.handler : undefined;
}

test('route table - literal, :param and *rest patterns match and decode parameters', () => {
  const routes = new RouteTable<string>();
  routes.add('GET', '/healthz', 'health');
  routes.add('GET', '/v1.0/state/:store/:key', 'get');
  routes.add('GET', '/files/*path', 'files');
  assert.is(handlerOf(routes.match('GET', '/healthz')), 'health');
  const found = routes.match('GET', '/v1.0/state/counts/a%2Fb%20c');
  assert.equal('params' in found ? found.params : undefined, { store: 'counts', key: 'a/b c' });
  const rest = routes.match('GET', '/files/a/b%20c/d');
  assert.equal('params' in rest ? rest.params : undefined, { path: 'a/b c/d' });
  assert.is(handlerOf(routes.match('GET', '/files/')), undefined, '*rest needs at least one segment');
  assert.is(handlerOf(routes.match('GET', '/v1.0/state/counts/')), undefined, ':param needs a non-empty segment');
  assert.is(handlerOf(routes.match('GET', '/v1.0/state/counts/k/extra')), undefined);
  assert.is(handlerOf(routes.match('GET', '/healthz/')), undefined);
});

test('route table - the most specific pattern wins whatever the order', () => {
  const routes = new RouteTable<string>();
  routes.add('POST', '/v1.0/state/:store/:key', 'key');
  routes.add('POST', '/v1.0/state/:store/*rest', 'rest');
  routes.add('POST', '/v1.0/state/:store/bulk', 'bulk');
  assert.is(handlerOf(routes.match('POST', '/v1.0/state/s/bulk')), 'bulk');
  assert.is(handlerOf(routes.match('POST', '/v1.0/state/s/other')), 'key');
  assert.is(handlerOf(routes.match('POST', '/v1.0/state/s/a/b')), 'rest');
});

test('route table - another method on a known path lists the allowed methods', () => {
  const routes = new RouteTable<string>();
  routes.add('GET', '/v1.0/state/:store/:key', 'get');
  routes.add('delete', '/v1.0/state/:store/:key', 'delete');
  assert.equal(routes.match('PUT', '/v1.0/state/s/k'), { allowed: ['DELETE', 'GET'] });
  assert.equal(routes.match('PUT', '/nowhere'), { allowed: [] });
});

test('route table - a duplicate route or a malformed pattern is a ConfigError; removal frees the route', () => {
  const routes = new RouteTable<string>();
  const remove = routes.add('GET', '/a/:x', 'one');
  assert.throws(
    () => routes.add('GET', '/a/:y', 'two'),
    (e: Error & { code?: string }) => e.code === 'CONFIG_ERROR' && /already routed/.test(e.message),
  );
  for (const bad of ['a', '/a/*rest/b', '/a/:', '/a//b', '/:x/:x']) {
    assert.throws(
      () => routes.add('GET', bad, 'x'),
      (e: Error & { code?: string }) => e.code === 'CONFIG_ERROR',
      bad,
    );
  }
  remove();
  assert.is(handlerOf(routes.match('GET', '/a/1')), undefined);
  routes.add('GET', '/a/:y', 'two');
  assert.is(handlerOf(routes.match('GET', '/a/1')), 'two');
});

test('route table - many distinct paths and a frequent one all match, and a removal applies to paths matched before', () => {
  const routes = new RouteTable<string>();
  routes.add('GET', '/v1.0/state/:store/:key', 'get');
  const removePost = routes.add('POST', '/v1.0/state/:store', 'save');
  routes.add('POST', '/v1.0/state/:store/bulk', 'bulk');
  for (let i = 0; i < 5000; i++) {
    const found = routes.match('GET', `/v1.0/state/s/key${i % 3000}`);
    assert.equal('params' in found ? found.params : undefined, { store: 's', key: `key${i % 3000}` });
    assert.is(handlerOf(routes.match('POST', '/v1.0/state/s')), 'save');
    assert.is(handlerOf(routes.match('POST', '/v1.0/state/s/bulk')), 'bulk');
  }
  removePost();
  assert.equal(routes.match('POST', '/v1.0/state/s'), { allowed: [] });
  assert.is(handlerOf(routes.match('POST', '/v1.0/state/s/bulk')), 'bulk');
});

test('route table - malformed percent-encoding throws URIError', () => {
  const routes = new RouteTable<string>();
  routes.add('GET', '/k/:key', 'k');
  assert.throws(() => routes.match('GET', '/k/%E0%A4%A'), URIError);
});

test('route table - parameters are decoded once, and only for the route taken', () => {
  const routes = new RouteTable<string>();
  routes.add('GET', '/k/:key/x', 'k');
  routes.add('GET', '/:store/*rest', 'rest');
  // %2525 is "%25" once decoded: not decoded a second time, in a :name or beside a *name.
  const once = routes.match('GET', '/k/a%2525/x');
  assert.equal('params' in once ? once.params : undefined, { key: 'a%25' });
  const rest = routes.match('GET', '/s%2525/a%2525/b');
  assert.equal('params' in rest ? rest.params : undefined, { store: 's%25', rest: 'a%25/b' });
  // Tried first (literal k), /k/:key/x does not match: its malformed :key is never decoded.
  routes.add('GET', '/:store/%E0%A4%A/y', 'literal');
  const taken = routes.match('GET', '/k/%E0%A4%A/y');
  assert.is(handlerOf(taken), 'literal');
  assert.equal('params' in taken ? taken.params : undefined, { store: 'k' });
});

test.run();
