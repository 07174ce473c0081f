import { headers } from '@nats-io/transport-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { startConfiguredNatsServer } from './support.ts';
import {
  connectNats,
  createStreamSink,
  ensureStream,
  openStreamSource,
  outputMsgId,
  type NatsLink,
  type OutputMessage,
  type StreamSink,
} from '../../runtime/nats/index.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const idOf = (i: number): string => outputMsgId({ job: 'job', stage: 'count', partition: 0, position: i, index: 0 });

/** Message i; `chained`, it names message i - 1 as the one it follows (as a job's outputs do). */
const message = (i: number, subject = 'out.a', chained = false): OutputMessage => ({
  subject,
  data: encoder.encode(`o${i}`),
  msgId: idOf(i),
  previousMsgId: chained && i > 1 ? idOf(i - 1) : undefined,
});

/** Publishes i in from..to, waiting whenever the sink is congested (as the runtime does). */
async function publishRange(
  sink: StreamSink,
  from: number,
  to: number,
  onEach?: (i: number) => void,
  chained = false,
): Promise<void> {
  for (let i = from; i <= to; i++) {
    if (sink.congested) await sink.whenUncongested();
    sink.publish(message(i, 'out.a', chained));
    onEach?.(i);
  }
}

/** Publishes 1..count (chained or not), starting `fault` once message `at` is accepted; waits for both. */
async function publishAcross(
  sink: StreamSink,
  count: number,
  at: number,
  fault: () => Promise<void>,
  chained: boolean,
): Promise<void> {
  let faulted = Promise.resolve();
  await publishRange(
    sink,
    1,
    count,
    (i) => {
      if (i === at) faulted = fault();
    },
    chained,
  );
  await faulted;
}

/** The index of the first payload that is not o<from + i>, or -1. */
const firstOutOfOrder = (stored: readonly string[], from = 1): number =>
  stored.findIndex((payload, i) => payload !== `o${i + from}`);

/** Every payload in the stream, in stream order. */
async function readAll(link: NatsLink, stream: string): Promise<string[]> {
  const jsm = await link.jetstreamManager();
  const total = (await jsm.streams.info(stream)).state.messages;
  const out: string[] = [];
  if (total === 0) return out;
  await using source = await openStreamSource(link, { stream, filterSubject: '>', startSeq: 1 });
  while (out.length < total) for (const r of (await source.nextBatch()) ?? []) out.push(decoder.decode(r.data));
  return out;
}

async function setup(server: { url: string }, maxOutage = '60s'): Promise<NatsLink> {
  const link = await connectNats({ nats: server.url, maxOutage });
  await ensureStream(await link.jetstreamManager(), {
    name: 'OUT',
    subjects: ['out.*'],
    minDuplicateWindowMs: 300_000,
  });
  return link;
}

test('the same ids published twice are stored once, and the duplicates are counted', async () => {
  await using server = await startNatsServer();
  await using link = await setup(server);
  await using sink = createStreamSink(link, { window: 64 });
  await publishRange(sink, 1, 500);
  await sink.flush();
  await publishRange(sink, 1, 500);
  await sink.flush();
  const stored = await readAll(link, 'OUT');
  assert.equal(
    stored,
    Array.from({ length: 500 }, (_, i) => `o${i + 1}`),
  );
  assert.is(sink.stats.published, 1000);
  assert.is(sink.stats.acknowledged, 1000);
  assert.is(sink.stats.duplicates, 500);
});

test('flush resolves once everything published before it is stored', async () => {
  await using server = await startNatsServer();
  await using link = await setup(server);
  await using sink = createStreamSink(link, { window: 100 });
  await sink.flush();
  await publishRange(sink, 1, 3000);
  await sink.flush();
  const info = await (await link.jetstreamManager()).streams.info('OUT');
  assert.is(info.state.messages, 3000);
  assert.is(sink.stats.inFlight, 0);
  assert.is(sink.stats.queued, 0);
});

for (const chained of [false, true]) {
  const mode = chained ? 'chained' : 'each acknowledged';
  test(`${mode}: a flush waits out a server restart; nothing is lost or stored twice, and the order is kept`, async () => {
    await using server = await startNatsServer();
    await using link = await setup(server);
    await using sink = createStreamSink(link, { window: 256, ackTimeoutMs: 1000 });
    await publishAcross(sink, 20_000, 5000, () => server.restart(), chained);
    await sink.flush();
    const stored = await readAll(link, 'OUT');
    assert.is(stored.length, 20_000, `stored ${stored.length}`);
    assert.is(new Set(stored).size, 20_000);
    assert.is(sink.stats.acknowledged, 20_000);
    // Unacknowledged messages are sent again, in order, before new ones once reconnected.
    const outOfOrder = stored.findIndex((payload, i) => payload !== `o${i + 1}`);
    assert.is(
      outOfOrder,
      -1,
      `stored out of order from seq ${outOfOrder + 1}: ${stored.slice(Math.max(0, outOfOrder - 2), outOfOrder + 3).join(' ')}`,
    );
  });

  test(`${mode}: a server crash (SIGKILL) mid-publish loses nothing acknowledged, stores nothing twice and keeps the order`, async () => {
    await using server = await startNatsServer();
    await using link = await setup(server);
    await using sink = createStreamSink(link, { window: 256, ackTimeoutMs: 1000 });
    await publishAcross(sink, 10_000, 4000, () => server.kill().then(() => server.restart()), chained);
    await sink.flush();
    const stored = await readAll(link, 'OUT');
    assert.is(new Set(stored).size, stored.length, 'no message stored twice');
    assert.is(stored.length, 10_000, `stored ${stored.length} of 10000`);
    const outOfOrder = stored.findIndex((payload, i) => payload !== `o${i + 1}`);
    assert.is(
      outOfOrder,
      -1,
      `stored out of order from seq ${outOfOrder + 1}: ${stored.slice(Math.max(0, outOfOrder - 2), outOfOrder + 3).join(' ')}`,
    );
  });
}

test('chained: every message is stored once and in order, and a replay from an earlier one stores nothing twice', async () => {
  await using server = await startNatsServer();
  await using link = await setup(server);
  {
    await using sink = createStreamSink(link, { window: 512 });
    await publishRange(sink, 1, 5000, undefined, true);
    await sink.flush();
    assert.is(sink.stats.acknowledged, 5000);
  }
  // A restarted job replays from its checkpoint (here: after message 2999) and goes on past the end.
  await using replay = createStreamSink(link, { window: 512 });
  await publishRange(replay, 3000, 8000, undefined, true);
  await replay.flush();
  const stored = await readAll(link, 'OUT');
  assert.is(stored.length, 8000, `stored ${stored.length}`);
  assert.is(firstOutOfOrder(stored), -1, `out of order at ${firstOutOfOrder(stored)}`);
  assert.is(replay.stats.acknowledged, 5001);
});

test('chained: another writer on the stream breaks the chain; every message is still stored once and in order', async () => {
  await using server = await startNatsServer();
  await using link = await setup(server);
  await using other = await connectNats({ nats: server.url });
  await using sink = createStreamSink(link, { window: 256 });
  let foreign = 0;
  await publishRange(
    sink,
    1,
    5000,
    (i) => {
      // Another process writes to the same stream, between the chained messages.
      if (i % 700 === 0) other.nc.publish('out.b', encoder.encode(`x${foreign++}`));
    },
    true,
  );
  await sink.flush();
  const stored = (await readAll(link, 'OUT')).filter((payload) => payload.startsWith('o'));
  assert.is(stored.length, 5000, `stored ${stored.length}`);
  assert.is(firstOutOfOrder(stored), -1, `out of order at ${firstOutOfOrder(stored)}`);
  assert.ok(sink.stats.retries > 0, 'the broken chain was sent again from a new anchor');
});

test('chained: a message the stream refuses as too large goes to onOversize; the rest is stored in order', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await (await link.jetstreamManager()).streams.add({ name: 'OUT', subjects: ['out.*'], max_msg_size: 1024 });
  const seen: string[] = [];
  await using sink = createStreamSink(link, { onOversize: (m) => seen.push(m.msgId) });
  for (let i = 1; i <= 2000; i++)
    sink.publish(i === 1500 ? { ...message(i, 'out.a', true), data: new Uint8Array(2000) } : message(i, 'out.a', true));
  await sink.flush();
  assert.equal(seen, [idOf(1500)]);
  const stored = await readAll(link, 'OUT');
  assert.is(stored.length, 1999);
  assert.is(firstOutOfOrder(stored.slice(0, 1499)), -1);
  assert.is(firstOutOfOrder(stored.slice(1499), 1501), -1);
});

test('an outage beyond --max-outage fails the flush with the outage error', async () => {
  await using server = await startNatsServer();
  const link = await setup(server, '500ms');
  const sink = createStreamSink(link, { window: 16, ackTimeoutMs: 200 });
  await publishRange(sink, 1, 10);
  await sink.flush();
  await server.kill();
  await publishRange(sink, 11, 20);
  try {
    await sink.flush();
    assert.unreachable('flush must fail');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'NATS_PUBLISH');
    assert.is(((error as Error).cause as { code?: string } | undefined)?.code, 'NATS_OUTAGE');
  }
  assert.is(sink.state, 'failed');
  assert.throws(() => sink.publish(message(21)));
  await sink.close();
  await link.close();
});

test('an acknowledgement that does not come is waited out: the messages are sent again, in order, and stored once', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  // A plain subscriber that never answers: the server has a responder, so no "no responders"
  // comes back, and nothing acknowledges until the stream exists.
  const silent = link.nc.subscribe('late.*');
  await using sink = createStreamSink(link, { ackTimeoutMs: 200, window: 8 });
  for (let i = 1; i <= 20; i++) sink.publish(message(i, 'late.a'));
  const flushed = sink.flush();
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.is(sink.stats.acknowledged, 0);
  assert.ok(sink.stats.retries >= 8, `retries: ${sink.stats.retries}`);
  await ensureStream(await link.jetstreamManager(), {
    name: 'LATE',
    subjects: ['late.*'],
    minDuplicateWindowMs: 300_000,
  });
  await flushed;
  silent.unsubscribe();
  assert.equal(
    await readAll(link, 'LATE'),
    Array.from({ length: 20 }, (_, i) => `o${i + 1}`),
  );
  assert.is(sink.stats.acknowledged, 20);
});

test('a subject no stream captures fails the sink once retries run out', async () => {
  await using server = await startNatsServer();
  await using link = await setup(server);
  await using sink = createStreamSink(link, { maxRetryMs: 300 });
  sink.publish(message(1, 'nowhere.x'));
  try {
    await sink.flush();
    assert.unreachable('flush must fail');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'NATS_PUBLISH');
    assert.match((error as Error).message, /nowhere\.x/);
  }
});

test('an id with a CR or LF is never sent as a header: the sink fails and the stream stores nothing of it', async () => {
  await using server = await startNatsServer();
  await using link = await setup(server);
  // Each after message 1 (which anchors the chain, so the second one is sent chained).
  const unsafe: OutputMessage[] = [
    { ...message(2), msgId: 'job:x\r\nNats-Expected-Stream: NONE:1' },
    { ...message(2, 'out.a', true), previousMsgId: 'job:x\n1' },
  ];
  for (const bad of unsafe) {
    const sink = createStreamSink(link, { maxRetryMs: 300 });
    sink.publish(message(1));
    sink.publish(bad);
    try {
      await sink.flush();
      assert.unreachable('flush must fail');
    } catch (error) {
      assert.is((error as { code?: string }).code, 'NATS_PUBLISH');
    }
    await sink.close();
  }
  assert.equal(await readAll(link, 'OUT'), ['o1']);
});

test('an oversize message goes to onOversize, or fails the sink without it', async () => {
  await using server = await startConfiguredNatsServer('max_payload: 4096\n');
  await using link = await setup(server);
  const seen: string[] = [];
  await using sink = createStreamSink(link, {
    onOversize: (m, size, limit) => seen.push(`${m.msgId} ${size > limit}`),
  });
  sink.publish(message(1));
  sink.publish({ ...message(2), data: new Uint8Array(5000) });
  sink.publish(message(3));
  await sink.flush();
  assert.equal(seen, ['job:count:0:2:0 true']);
  assert.equal(await readAll(link, 'OUT'), ['o1', 'o3']);
  const strict = createStreamSink(link);
  strict.publish({ ...message(4), data: new Uint8Array(5000) });
  try {
    await strict.flush();
    assert.unreachable('must fail');
  } catch (error) {
    assert.match((error as Error).message, /5\d\d\d bytes, more than the 4096 bytes allowed/);
  }
  await strict.close();
});

test('nats-server: a message without Nats-Msg-Id resets the last id, and a duplicate is dropped before its expectation is checked', async () => {
  // What the exchange's chain rests on (docs/scale-out.md, "The exchange's chain"): a marker without an
  // id would end the chain, and a replayed message passes whatever it expects.
  await using server = await startNatsServer();
  await using link = await setup(server);
  const publish = async (id: string | undefined, expected?: string): Promise<string> => {
    const h = headers();
    if (id !== undefined) h.set('Nats-Msg-Id', id);
    if (expected !== undefined) h.set('Nats-Expected-Last-Msg-Id', expected);
    return decoder.decode((await link.nc.request('out.a', encoder.encode('x'), { headers: h, timeout: 5000 })).data);
  };
  assert.not.match(await publish('a'), '"error"');
  assert.not.match(await publish(undefined), '"error"');
  assert.match(await publish('b', 'a'), '"err_code":10070');
  assert.not.match(await publish('c'), '"error"');
  assert.not.match(await publish('d', 'c'), '"error"');
  // `a` is stored: dropped as a duplicate though the last id is `d`, not `x`.
  assert.match(await publish('a', 'x'), /"duplicate":\s*true/);
});

test('chained, with markers confirmed alone: a replay whose marker the first run did not send stores it', async () => {
  await using server = await startNatsServer();
  await using link = await setup(server);
  const data = (i: number, previousMsgId?: string): OutputMessage => ({
    subject: 'out.a',
    data: encoder.encode(`o${i}`),
    msgId: idOf(i),
    previousMsgId,
  });
  {
    // The first run: 1, 2, 3, no marker (its input had not caught up yet).
    await using sink = createStreamSink(link);
    for (let i = 1; i <= 3; i++) sink.publish(data(i, i > 1 ? idOf(i - 1) : undefined));
    await sink.flush();
  }
  // The replay from a checkpoint after 1 sends a marker after 2 (its input caught up there). The
  // marker is refused (3 is the last id, not 2), 3 is a duplicate whatever it expects, and 4 follows
  // 3: 4's PubAck must not confirm the marker.
  await using replay = createStreamSink(link);
  replay.publish(data(2));
  const marker = 'job:count:0:2.w100.p0';
  replay.publish({
    subject: 'out.a',
    data: encoder.encode('m'),
    msgId: marker,
    previousMsgId: idOf(2),
    confirmAlone: true,
  });
  replay.publish(data(3, marker));
  replay.publish(data(4, idOf(3)));
  await replay.flush();
  const stored = await readAll(link, 'OUT');
  assert.equal(
    stored.filter((payload) => payload === 'm'),
    ['m'],
    `stored: ${stored.join(' ')}`,
  );
  // The marker after 2 may land later (a late watermark), never before data it followed.
  assert.equal(
    stored.filter((payload) => payload !== 'm'),
    ['o1', 'o2', 'o3', 'o4'],
  );
  assert.ok(stored.indexOf('m') > stored.indexOf('o2'));
  assert.is(replay.stats.acknowledged, 4);
});

test.run();
