// An upstream unit that replays exchange messages its downstream units already consumed, after the
// nats-server restarted: every one is dropped by its id. nats-server 2.9.10 rebuilds its dedupe
// memory on restart from the messages it still stores, so a stage unit that had purged what it
// consumed (its exchange trimming) made the server forget those ids, and the replay was stored and
// counted a second time. Here the source unit's checkpoints are cleared to make it replay all of its
// input; the same happens to a source unit restored from a checkpoint older than what its downstream
// units trimmed (a worker fenced or killed, or a failed unit, while the count units ran on).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openJetStreamCheckpointStore } from '../../runtime/checkpoint/index.ts';
import { connectNats, openStreamSource } from '../../runtime/nats/index.ts';
import { decodeExchangeMessage } from '../../runtime/nats/exchange-message.ts';
import { job } from './wordcount4.ts';
import { produce, readOutputs, referenceOutputs, streamMessages, text } from '../nats/wordcount-support.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { waitFor, waitForProgress } from '../support/wait-for.ts';
import { assertSamePerKey } from './per-key.ts';
import { startWorker } from './in-process-worker.ts';

const EXCHANGE = 'STATOR_WORDCOUNT_COUNT';

test('a source unit replaying after a server restart stores no exchange message twice', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const lines = text(400);
  const reference = await referenceOutputs(lines);
  const first = await startWorker(server.url, job);
  let logs = first.logs;
  try {
    // Paced, so that the count units checkpoint (and trim their exchange subjects) many times.
    await produce(link, lines, 40, 150);
    await waitForProgress(
      async () => first.state.ended !== undefined || (await streamMessages(link, 'WORDCOUNT_OUT')) >= reference.length,
      async () => (await streamMessages(link, 'WORDCOUNT_OUT')) + first.logs.length,
      'every count',
    );
    assert.is(first.state.ended, undefined, `the worker ended: ${String(first.state.ended)}\n${logs.join('')}`);
  } finally {
    await first.finish();
  }
  const jsm = await link.jetstreamManager();
  const stored = (await jsm.streams.info(EXCHANGE)).state.last_seq;

  await server.restart();
  await waitFor(async () => (await streamMessages(link, EXCHANGE)) > 0, 'the exchange stream after the restart');
  // The source unit starts over: it re-publishes every exchange message under the id it had.
  const store = await openJetStreamCheckpointStore({ job: 'wordcount', task: 'in.i0', connection: link.nc });
  await store.clear();
  await store.close();

  const second = await startWorker(server.url, job);
  logs = [...logs, '--- after the restart ---\n', ...second.logs];
  try {
    await waitFor(
      () =>
        second.state.ended !== undefined ||
        second.logs.some((line) => /\[in\.i0\] checkpoint .* at position 400:/.test(line)),
      'the source unit to replay its input',
    );
    assert.is(
      second.state.ended,
      undefined,
      `the worker ended: ${String(second.state.ended)}\n${second.logs.join('')}`,
    );
  } finally {
    await second.finish();
  }

  // Watermark and idle markers have no id and are stored again; no data message may be.
  const last = (await jsm.streams.info(EXCHANGE)).state.last_seq;
  const restored: string[] = [];
  if (last > stored) {
    await using source = await openStreamSource(link, { stream: EXCHANGE, filterSubject: '>', startSeq: stored + 1 });
    for (let seq = stored; seq < last;) {
      for (const record of (await source.nextBatch()) ?? []) {
        seq = record.seq;
        const message = decodeExchangeMessage(record.data);
        if (message.kind === 'data') restored.push(`${record.seq} ${record.headers?.get('Nats-Msg-Id')}`);
      }
    }
  }
  assert.equal(restored, [], `exchange messages stored again by the replay: ${restored.slice(0, 10).join(', ')}`);
  const actual = await readOutputs(link, await streamMessages(link, 'WORDCOUNT_OUT'));
  assertSamePerKey(actual, reference, (line) => (JSON.parse(line) as { word: string }).word, logs.join(''));
});

test.run();
