import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kvm, type KV } from '@nats-io/kv';
import { jetstream } from '@nats-io/jetstream';
import { connectNats } from '../../runtime/nats/index.ts';
import { leaderKvReader } from '../../runtime/nats/kv-leader-get.ts';
import { startNatsCluster } from '../support/nats-cluster.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { assertEveryNodeReadsEachWrite } from '../support/reads-after-writes.ts';
import { DEFAULT_RETRY_POLICY, retryTransient } from '../../runtime/nats/retry.ts';
import { whileDown } from '../support/server-outage.ts';

const text = new TextEncoder();

test('leader reads - a value, a delete and a purge marker, and a key never written', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const kv = await new Kvm(jetstream(link.nc)).create('leader-reads', { history: 1 });
  const latest = await leaderKvReader(link.nc, 'leader-reads');
  assert.is(await latest('never'), null);
  const put = await kv.put('worker.a', text.encode('alive'));
  const read = await latest('worker.a');
  assert.equal(
    { revision: read?.revision, operation: read?.operation, value: new TextDecoder().decode(read?.value) },
    { revision: put, operation: 'PUT', value: 'alive' },
  );
  await kv.delete('worker.a');
  assert.is((await latest('worker.a'))?.operation, 'DEL');
  assert.is((await latest('worker.a'))?.value.length, 0);
  await kv.put('worker.b', text.encode('x'));
  await kv.purge('worker.b');
  assert.is((await latest('worker.b'))?.operation, 'PURGE');
});

test('leader reads - a reader made while the server is down reads once it is back', async () => {
  // A worker makes its readers as it joins its group: a server dying then must cost the reads a
  // retry, not the worker its life.
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url, maxOutage: '60s' });
  const kv = await new Kvm(jetstream(link.nc)).create('leader-reads', { history: 1 });
  const put = await kv.put('worker.a', text.encode('alive'));
  const read = await whileDown(server, async () => {
    const latest = await leaderKvReader(link.nc, 'leader-reads');
    return retryTransient(() => latest('worker.a'), DEFAULT_RETRY_POLICY, new AbortController().signal);
  });
  assert.is(read?.revision, put);
});

test('leader reads - on a 3-node cluster, a read right after a write through any node is that write', async () => {
  // kv.get may be answered by a replica that has not applied the write yet (a direct get); the
  // group's decisions (is a holder's heartbeat still moving? is a worker alive?) need the latest.
  await using cluster = await startNatsCluster();
  const links = [];
  for (const node of cluster.nodes) links.push(await connectNats({ nats: node.url }));
  try {
    const kvs: KV[] = [];
    for (const link of links) kvs.push(await new Kvm(jetstream(link.nc)).create('leader-reads', { replicas: 3 }));
    const readers = await Promise.all(links.map((link) => leaderKvReader(link.nc, 'leader-reads')));
    await assertEveryNodeReadsEachWrite(
      kvs.length,
      150,
      (node, round) => kvs[node]!.put('worker.w1', text.encode(`beat ${round}`)),
      async (node) => (await readers[node]!('worker.w1'))?.revision,
    );
  } finally {
    for (const link of links) await link.close();
  }
});

test.run();
