// partitionOf against nats-server's own subject mapping: with a `{{partition(n,1)}}` mapping in the
// server's config, a message published to `<job>.keyed.<key>` is stored on `<job>.in.<p>` with
// p == partitionOf(key, n), for ASCII and multi-byte UTF-8 keys. Checked on the server the tests run
// (2.9.10 on this machine), so the docs' config snippet is the one tested here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionOf } from '../../runtime/client.ts';
import { connectNats, ensureStream, openStreamSource } from '../../runtime/nats/index.ts';
import { startNatsServer } from '../support/nats-server.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Subject tokens of many shapes: words, numbers, ids, accents, CJK, emoji (no dots, spaces, * or >). */
function keys(count: number): string[] {
  const alphabet = ['a', 'Z', '0', '9', '_', '-', 'ü', 'é', '東', '京', '🙂', 'ß', 'ж', ':', '#'];
  let seed = 3;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const out = ['user-1', 'user-2', 'alice', 'bob', 'zürich', '東京', '🙂'];
  while (out.length < count) {
    let key = '';
    const length = 1 + (next() % 12);
    for (let i = 0; i < length; i++) key += alphabet[next() % alphabet.length]!;
    out.push(key);
  }
  return out;
}

test('a {{partition(n,1)}} mapping stores each key on <job>.in.<partitionOf(key, n)>', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stator-mapping-'));
  try {
    const config = join(dir, 'mappings.conf');
    // The snippet docs/scale-out.md shows, for two jobs with 3 and 7 input partitions.
    writeFileSync(
      config,
      [
        'mappings = {',
        '  "orders.keyed.*": "orders.in.{{partition(3,1)}}"',
        '  "clicks.keyed.*": "clicks.in.{{partition(7,1)}}"',
        '}',
        '',
      ].join('\n'),
    );
    await using server = await startNatsServer({ args: ['-c', config] });
    await using link = await connectNats({ nats: server.url });
    const jsm = await link.jetstreamManager();
    const js = link.js;
    const all = keys(400);
    for (const [job, partitions] of [
      ['orders', 3],
      ['clicks', 7],
    ] as const) {
      const stream = job.toUpperCase() + '_IN';
      await ensureStream(jsm, { name: stream, subjects: [`${job}.in`, `${job}.in.>`] });
      for (const key of all) await js.publish(`${job}.keyed.${key}`, encoder.encode(key));
      await using source = await openStreamSource(link, { stream, filterSubject: `${job}.in.>`, startSeq: 1 });
      const stored: { subject: string; key: string }[] = [];
      while (stored.length < all.length) {
        for (const record of (await source.nextBatch()) ?? [])
          stored.push({ subject: record.subject, key: decoder.decode(record.data) });
      }
      assert.equal(
        stored,
        all.map((key) => ({ subject: `${job}.in.${partitionOf(key, partitions)}`, key })),
      );
      // Every partition got some keys: the mapping spreads them, it is not one constant subject.
      assert.is(new Set(stored.map((s) => s.subject)).size, partitions);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without the mapping, a JetStream publish to <job>.keyed.<key> fails: no stream captures it', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureStream(await link.jetstreamManager(), { name: 'ORDERS_IN', subjects: ['orders.in', 'orders.in.>'] });
  const failure = await link.js.publish('orders.keyed.alice', encoder.encode('x')).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(failure instanceof Error, 'the publish was stored somewhere');
  assert.match(String((failure as Error).cause), /no responders/);
});

test.run();
