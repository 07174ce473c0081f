// The official Dapr JS client against stator's state API: one suite of cases, run by each mode's
// test file (embedded: dapr-client.test.ts, NATS: dapr-client-nats.test.ts) against a running wordcount.
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { DaprClient, LogLevel, StateConcurrencyEnum, StateConsistencyEnum } from '@dapr/dapr';
import { waitFor } from '../../support/index.ts';

export const TOKEN = 'secret-token';

/** A running wordcount job with the state API on `port` (token TOKEN), started on 'the cat the dog\nthe end\n'. */
export interface DaprTarget {
  readonly port: string;
  /** Appends input lines (each ends with a newline) for the job to count. */
  feed(lines: string): Promise<void>;
  /** Writes a checkpoint now. */
  checkpoint(): Promise<void>;
}

export function daprClient(port: string): DaprClient {
  return new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: port,
    daprApiToken: TOKEN,
    logger: { level: LogLevel.Error },
  });
}

/** Waits for the initial input to be counted. */
export async function untilCounted(client: DaprClient): Promise<void> {
  await waitFor(async () => (await client.state.get('wordcount', 'end')) !== '', 'the input to be counted', {
    limitMs: 60_000,
  });
}

/** Adds the cases to `suite`; `target()` is called once the suite's `before` hook has started the job. */
export function daprClientCases(suite: Test, target: () => DaprTarget): void {
  const test = suite;
  let client: DaprClient;
  let port: string;
  test.before.each(() => {
    port = target().port;
    client = daprClient(port);
  });
  const feed = (lines: string): Promise<void> => target().feed(lines);

  type BulkItem = { key: string; data?: unknown; etag?: string };

  async function etagOf(key: string): Promise<string | undefined> {
    const [item] = (await client.state.getBulk('wordcount', [key])) as BulkItem[];
    return item?.etag;
  }

  function status(error: unknown): number | undefined {
    if (error === undefined) return undefined;
    return (JSON.parse((error as Error).message) as { status: number }).status;
  }

  test('get: a key counted from the input, through the official client (strong by default: read-your-writes)', async () => {
    assert.equal(await client.state.get('wordcount', 'the'), { count: 3 });
    assert.equal(await client.state.get('wordcount.count', 'cat'), { count: 1 }, '<job>.<stage> names the same store');
    assert.is(await client.state.get('wordcount', 'absent'), '', '204 for a key without state');
  });

  test('save / get / delete, and an ETag that changes with every change, from the API or a message', async () => {
    const before = await etagOf('cat');
    assert.ok(before !== undefined && before.length > 0);
    assert.equal(await client.state.save('wordcount', [{ key: 'cat', value: { count: 10 } }]), {});
    assert.equal(await client.state.get('wordcount', 'cat'), { count: 10 });
    const afterSave = await etagOf('cat');
    assert.is.not(afterSave, before);
    await feed('cat\n');
    await waitFor(
      async () => ((await client.state.get('wordcount', 'cat')) as { count?: number }).count === 11,
      'the message to reach cat',
    );
    assert.is.not(await etagOf('cat'), afterSave, 'a message changed the key: a new ETag');
    assert.equal(await client.state.delete('wordcount', 'cat'), {});
    assert.is(await client.state.get('wordcount', 'cat'), '');
    assert.is(await etagOf('cat'), undefined);
  });

  test('first-write-wins: a stale ETag is refused with 409 and changes nothing; the current one succeeds', async () => {
    const stale = await etagOf('dog');
    assert.equal(await client.state.save('wordcount', [{ key: 'dog', value: { count: 5 }, etag: stale! }]), {});
    const refused = await client.state.save('wordcount', [
      {
        key: 'dog',
        value: { count: 99 },
        etag: stale!,
        options: {
          concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE,
          consistency: StateConsistencyEnum.CONSISTENCY_STRONG,
        },
      },
    ]);
    assert.is(status(refused.error), 409);
    assert.equal(await client.state.get('wordcount', 'dog'), { count: 5 });
    const deleteRefused = await client.state.delete('wordcount', 'dog', { etag: stale! });
    assert.is(status(deleteRefused.error), 409, 'a delete with a stale If-Match too');
    assert.equal(await client.state.get('wordcount', 'dog'), { count: 5 });
    assert.equal(await client.state.delete('wordcount', 'dog', { etag: (await etagOf('dog'))! }), {});
    assert.is(await client.state.get('wordcount', 'dog'), '');
  });

  test('last-write-wins: without an ETag (or with last-write concurrency) a write always applies', async () => {
    const stale = await etagOf('end');
    assert.equal(await client.state.save('wordcount', [{ key: 'end', value: { count: 7 } }]), {});
    assert.equal(
      await client.state.save('wordcount', [
        {
          key: 'end',
          value: { count: 8 },
          etag: stale!,
          options: {
            concurrency: StateConcurrencyEnum.CONCURRENCY_LAST_WRITE,
            consistency: StateConsistencyEnum.CONSISTENCY_EVENTUAL,
          },
        },
      ]),
      {},
    );
    assert.equal(await client.state.get('wordcount', 'end'), { count: 8 });
  });

  test('bulk get answers every key, absent ones without data', async () => {
    const items = (await client.state.getBulk('wordcount', ['the', 'nothing-here'])) as BulkItem[];
    assert.is(items.length, 2);
    assert.equal(items[0]!.data, { count: 3 });
    assert.type(items[0]!.etag, 'string');
    assert.equal(items[1], { key: 'nothing-here' });
  });

  test('transaction: atomic within a partition; any stale ETag and nothing changes; keys of several partitions are a 400', async () => {
    // "a" and "b" share a partition of wordcount's two; "c" is in the other.
    await client.state.transaction('wordcount', [
      { operation: 'upsert', request: { key: 'a', value: { count: 1 } } },
      { operation: 'upsert', request: { key: 'b', value: { count: 2 } } },
    ]);
    assert.equal(await client.state.get('wordcount', 'a'), { count: 1 });
    assert.equal(await client.state.get('wordcount', 'b'), { count: 2 });
    const staleA = await etagOf('a');
    await client.state.save('wordcount', [{ key: 'a', value: { count: 100 } }]);
    // A transaction with an ETag (the client's types want another etag shape than its HTTP API sends: fetch).
    const response = await fetch(`http://127.0.0.1:${port}/v1.0/state/wordcount/transaction`, {
      method: 'POST',
      headers: { 'dapr-api-token': TOKEN },
      body: JSON.stringify({
        operations: [
          { operation: 'delete', request: { key: 'b' } },
          { operation: 'upsert', request: { key: 'a', value: { count: 5 }, etag: staleA } },
        ],
      }),
    });
    assert.is(response.status, 409);
    assert.equal(await client.state.get('wordcount', 'b'), { count: 2 }, 'the delete of b did not happen either');
    assert.equal(await client.state.get('wordcount', 'a'), { count: 100 });
    const spanning = await fetch(`http://127.0.0.1:${port}/v1.0/state/wordcount/transaction`, {
      method: 'POST',
      headers: { 'dapr-api-token': TOKEN },
      body: JSON.stringify({
        operations: [
          { operation: 'upsert', request: { key: 'a', value: { count: 1 } } },
          { operation: 'upsert', request: { key: 'c', value: { count: 1 } } },
        ],
      }),
    });
    assert.is(spanning.status, 400);
    const body = (await spanning.json()) as { errorCode: string; message: string };
    assert.match(body.message, /"a".*"c"|"c".*"a"/);
    assert.is(await client.state.get('wordcount', 'c'), '');
  });

  test('eventual reads come from the latest committed checkpoint', async () => {
    await client.state.save('wordcount', [{ key: 'eventual', value: { count: 1 } }]);
    assert.is(
      await client.state.get('wordcount', 'eventual', { consistency: StateConsistencyEnum.CONSISTENCY_EVENTUAL }),
      '',
      'not checkpointed yet',
    );
    await target().checkpoint();
    await waitFor(
      async () =>
        (await client.state.get('wordcount', 'eventual', {
          consistency: StateConsistencyEnum.CONSISTENCY_EVENTUAL,
        })) !== '',
      'the checkpoint to be read',
    );
    assert.equal(
      await client.state.get('wordcount', 'eventual', { consistency: StateConsistencyEnum.CONSISTENCY_EVENTUAL }),
      { count: 1 },
    );
  });

  test('repeated eventual GETs (answered from the loaded checkpoint) carry the value, the ETag and the status of the first', async () => {
    // The key the case above checkpointed (another checkpoint would trim the state streams later cases count).
    const get = (key: string, consistency = 'eventual'): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}/v1.0/state/wordcount/${key}?consistency=${consistency}`, {
        headers: { 'dapr-api-token': TOKEN },
      });
    const strong = await get('eventual', 'strong');
    await strong.arrayBuffer();
    for (let i = 0; i < 3; i++) {
      const read = await get('eventual');
      assert.is(read.status, 200);
      assert.equal(await read.json(), { count: 1 });
      assert.is(read.headers.get('etag'), strong.headers.get('etag'));
      assert.is(read.headers.get('content-type'), 'application/json; charset=utf-8');
      const missing = await get('never-written');
      assert.is(missing.status, 204);
      assert.is(await missing.text(), '');
      const bad = await get('eventual', 'sometimes');
      assert.is(bad.status, 400);
      assert.is(((await bad.json()) as { errorCode: string }).errorCode, 'ERR_MALFORMED_REQUEST');
    }
  });

  test('bad input is a 400 with a one-line reason, and nothing changes', async () => {
    const post = (path: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: { 'dapr-api-token': TOKEN, ...headers },
        body,
      });
    const cases: [string, string, RegExp][] = [
      ['/v1.0/state/wordcount', '{not json', /not JSON/],
      ['/v1.0/state/wordcount', '{"key":"x"}', /JSON array/],
      ['/v1.0/state/wordcount', '[{"value":{"count":1}}]', /"key" must be a non-empty string/],
      ['/v1.0/state/wordcount', '[{"key":"the","value":{"count":"many"}}]', /tag count: expected an integer/],
      ['/v1.0/state/wordcount', '[{"key":"the","value":{"total":1}}]', /tag "total", which the task does not have/],
      ['/v1.0/state/wordcount', '[{"key":"the","value":[1]}]', /must be a JSON object of state cells/],
      [
        '/v1.0/state/wordcount',
        '[{"key":"the","value":{"count":1},"etag":"nonsense"}]',
        /not an ETag this store gave out/,
      ],
      [
        '/v1.0/state/nowhere',
        '[{"key":"the","value":{"count":1}}]',
        /state store "nowhere" is not found: this process serves wordcount.count, wordcount/,
      ],
      ['/v1.0/state/wordcount/bulk', '{"keys":"the"}', /"keys"/],
    ];
    for (const [path, body, reason] of cases) {
      const response = await post(path, body);
      const text = await response.text();
      assert.is(response.status, 400, `${path} ${body}: ${text}`);
      const parsed = JSON.parse(text) as { errorCode: string; message: string };
      assert.match(parsed.message, reason);
      assert.not.match(parsed.message, /\n/);
    }
    assert.equal(await client.state.get('wordcount', 'the'), { count: 3 });
    const badConsistency = await fetch(`http://127.0.0.1:${port}/v1.0/state/wordcount/the?consistency=linear`, {
      headers: { 'dapr-api-token': TOKEN },
    });
    assert.is(badConsistency.status, 400);
  });

  test('the API token is required (401) and compared in full', async () => {
    const none = await fetch(`http://127.0.0.1:${port}/v1.0/state/wordcount/the`);
    assert.is(none.status, 401);
    const wrong = await fetch(`http://127.0.0.1:${port}/v1.0/state/wordcount/the`, {
      headers: { 'dapr-api-token': `${TOKEN}x` },
    });
    assert.is(wrong.status, 401);
    const prefix = await fetch(`http://127.0.0.1:${port}/v1.0/state/wordcount/the`, {
      headers: { 'dapr-api-token': TOKEN.slice(0, -1) },
    });
    assert.is(prefix.status, 401);
    const health = await fetch(`http://127.0.0.1:${port}/v1.0/healthz`);
    assert.is(health.status, 204, "Dapr's health endpoint needs no token");
  });

  test('a body over the limit is a 413', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/v1.0/state/wordcount`, {
      method: 'POST',
      headers: { 'dapr-api-token': TOKEN },
      body: JSON.stringify([{ key: 'big', value: { count: 1 }, pad: 'x'.repeat(5 * 1024 * 1024) }]),
    });
    assert.is(response.status, 413);
  });
}
