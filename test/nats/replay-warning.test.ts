import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nanos } from '@nats-io/transport-node';
import { connectNats } from '../../runtime/nats/index.ts';
import { replayedStreams } from '../../runtime/nats/replay-warning.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { whileDown } from '../support/server-outage.ts';

test('the output streams read while the server is down are read once it is back', async () => {
  // A worker reads them as it starts: a server dying then must not end the worker.
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url, maxOutage: '60s' });
  const jsm = await link.jetstreamManager();
  await jsm.streams.add({ name: 'OUT', subjects: ['out'], duplicate_window: nanos(120_000) });
  await jsm.streams.add({ name: 'DLQ', subjects: ['dlq'], duplicate_window: nanos(60_000) });
  await link.js.publish('out', new TextEncoder().encode('stored'));
  const stored = await whileDown(server, () => replayedStreams(link, ['OUT', 'DLQ']));
  assert.equal({ stream: stored.stream, ms: stored.ms }, { stream: 'DLQ', ms: 60_000 });
  assert.ok(stored.lastStoredAtMs !== undefined);
});

test.run();
