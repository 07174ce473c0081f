import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsCluster, waitFor } from '../support/index.ts';
import { createLogger } from '../../runtime/log.ts';
import { groupBucketName, joinWorkerGroup, type WorkerGroup } from '../../runtime/group/index.ts';
import { RecordingHost, UnitRegistry } from './recording-host.ts';

const UNITS = Array.from({ length: 6 }, (_, i) => `count.p${i}`);
const logger = createLogger(process.env.STATOR_TEST_TRACE === '1' ? 'debug' : 'silent');

test('group on a 3-node cluster - an R3 bucket keeps the group through the loss of its leader node', async () => {
  await using cluster = await startNatsCluster();
  const registry = new UnitRegistry();
  const members: { nc: NatsConnection; host: RecordingHost; group: WorkerGroup }[] = [];
  try {
    for (const name of ['worker-a', 'worker-b']) {
      const nc = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      const host = new RecordingHost(name, registry);
      const group = await joinWorkerGroup({
        connection: nc,
        job: 'cluster-test',
        workerId: name,
        units: UNITS,
        leaseTtlMs: 4_000,
        replicas: 3,
        logger,
        host,
      });
      members.push({ nc, host, group });
    }
    const sharing = (): boolean =>
      registry.running.size === UNITS.length &&
      members.every((m) => m.host.running.size === 3 && m.group.owned.size === 3);
    await waitFor(sharing, '3 units each');
    const stream = `KV_${groupBucketName('cluster-test')}`;
    const jsm = await jetstreamManager(members[0]!.nc);
    let replicas: number | undefined;
    await waitFor(
      async () =>
        (replicas = (await jsm.streams.info(stream).catch(() => undefined))?.config.num_replicas) !== undefined,
      'the bucket info',
    );
    assert.is(replicas, 3, 'the bucket has 3 replicas');

    // The JetStream API may time out on this loaded machine: ask again until the leader is known.
    let leader: number | undefined;
    await waitFor(
      async () => (leader = await cluster.streamLeader(stream).catch(() => undefined)) !== undefined,
      'the leader of the bucket',
    );
    if (leader === undefined) throw new Error('unreachable: waitFor returned without a leader');
    await cluster.nodes[leader]!.kill();
    // Workers may fence themselves while the bucket elects a new leader; they must come back to 3 each.
    await waitFor(
      async () => (await cluster.streamLeader(stream).catch(() => undefined)) !== undefined,
      'a new leader of the bucket',
    );
    await waitFor(sharing, '3 units each after the leader loss');
    await cluster.nodes[leader]!.restart();
    await waitFor(sharing, '3 units each after the node is back');
    assert.equal(registry.violations, []);
  } finally {
    for (const member of members) {
      await member.group.close();
      await member.nc.close();
    }
  }
  assert.equal(registry.violations, []);
});

test.run();
