import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import {
  connectNats,
  ensureStream,
  openStreamSource,
  type NatsLink,
  type SourceRecord,
} from '../../runtime/nats/index.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Publishes messages `m<i>` for i in from..to alternating between subjects in.a (odd) and in.b
 * (even), acked in a window; a timed-out publish (a server still starting) is retried with its id.
 */
async function fill(link: NatsLink, to: number, from = 1): Promise<void> {
  const publish = async (i: number): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await link.js.publish(i % 2 === 0 ? 'in.b' : 'in.a', encoder.encode(`m${i}`), {
          msgID: `m${i}`,
          timeout: 2000,
        });
        return;
      } catch (error) {
        if (attempt >= 10) throw error;
      }
    }
  };
  const window: Promise<void>[] = [];
  for (let i = from; i <= to; i++) {
    window.push(publish(i));
    if (window.length >= 256) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
}

async function readUntil(
  source: { nextBatch(): Promise<readonly SourceRecord[] | undefined> },
  count: number,
): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  while (out.length < count) {
    const batch = await source.nextBatch();
    if (batch === undefined) break;
    out.push(...batch);
  }
  return out;
}

test('reads one subject of a stream in order from a given sequence', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureStream(await link.jetstreamManager(), { name: 'IN', subjects: ['in.*'] });
  await fill(link, 1000);
  // Sequence 501 is m501 on in.a; from there in.a holds the odd messages 501..999.
  await using source = await openStreamSource(link, {
    stream: 'IN',
    filterSubject: 'in.a',
    startSeq: 501,
    maxBatch: 64,
  });
  const records = await readUntil(source, 250);
  assert.is(records.length, 250);
  assert.equal(
    records.map((r) => r.seq),
    Array.from({ length: 250 }, (_, i) => 501 + 2 * i),
  );
  assert.ok(records.every((r) => r.subject === 'in.a' && decoder.decode(r.data) === `m${r.seq}`));
  assert.ok(records.every((r) => r.timestampMs > 1_600_000_000_000));
  assert.is(source.lastSeq, 999);
  assert.is(source.lag, 0);
});

test('batches never exceed maxBatch and new messages arrive after the source caught up', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureStream(await link.jetstreamManager(), { name: 'IN', subjects: ['in.*'] });
  await fill(link, 300);
  await using source = await openStreamSource(link, {
    stream: 'IN',
    filterSubject: 'in.>',
    startSeq: 1,
    maxBatch: 100,
  });
  const first = await readUntil(source, 300);
  assert.is(first.length, 300);
  const later = source.nextBatch();
  await link.js.publish('in.a', encoder.encode('late'));
  const batch = await later;
  assert.equal(
    batch?.map((r) => [r.seq, decoder.decode(r.data)]),
    [[301, 'late']],
  );
});

test('stops pulling while its buffer is full (backpressure), then delivers everything', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const jsm = await link.jetstreamManager();
  await ensureStream(jsm, { name: 'IN', subjects: ['in.*'] });
  await fill(link, 5000);
  await using source = await openStreamSource(link, {
    stream: 'IN',
    filterSubject: 'in.>',
    startSeq: 1,
    maxBatch: 50,
    maxBuffered: 200,
    pullSize: 100,
  });
  const one = await source.nextBatch();
  assert.ok(one !== undefined && one.length > 0);
  // Give an unbounded reader ample time to run away, then check what the server delivered.
  await new Promise((resolve) => setTimeout(resolve, 500));
  let delivered = 0;
  for await (const info of jsm.consumers.list('IN')) delivered = Math.max(delivered, info.delivered.stream_seq);
  assert.ok(delivered <= 50 + 200 + 2 * 100, `delivered ${delivered} while the reader held back`);
  const rest = await readUntil(source, 5000 - one.length);
  const seqs = [...one, ...rest].map((r) => r.seq);
  assert.is(seqs.length, 5000);
  assert.ok(seqs.every((seq, i) => seq === i + 1));
});

test('a server restart while reading loses and repeats nothing', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureStream(await link.jetstreamManager(), { name: 'IN', subjects: ['in.*'] });
  await fill(link, 5000);
  await using source = await openStreamSource(link, {
    stream: 'IN',
    filterSubject: 'in.>',
    startSeq: 1,
    maxBatch: 100,
    maxBuffered: 500,
    pullSize: 200,
  });
  const before = await readUntil(source, 1000);
  await server.restart();
  await fill(link, 6000, 5001);
  const after = await readUntil(source, 6000 - before.length);
  const seqs = [...before, ...after].map((r) => r.seq);
  assert.is(seqs.length, 6000);
  assert.ok(
    seqs.every((seq, i) => seq === i + 1),
    'sequences must be contiguous from 1',
  );
});

test('the source fails with the outage error when the connection gives up', async () => {
  await using server = await startNatsServer();
  const link = await connectNats({ nats: server.url, maxOutage: '300ms' });
  await ensureStream(await link.jetstreamManager(), { name: 'IN', subjects: ['in.*'] });
  await fill(link, 10);
  const source = await openStreamSource(link, { stream: 'IN', filterSubject: 'in.>', startSeq: 1 });
  assert.is((await readUntil(source, 10)).length, 10);
  await server.kill();
  try {
    await source.nextBatch();
    assert.unreachable('reading must fail');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'NATS_OUTAGE');
  }
  assert.is(source.state, 'failed');
  await source.close();
  await link.close();
});

test.run();
