import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { processExists, startNatsCluster, waitFor, type NatsClusterHandle } from './index.ts';

/** The stream's leader, once it has one (an election follows a leader's loss). */
async function leaderOf(cluster: NatsClusterHandle, stream: string): Promise<number> {
  let leader: number | undefined;
  await waitFor(async () => {
    leader = await cluster.streamLeader(stream).catch(() => undefined);
    return leader !== undefined;
  }, `a leader of ${stream}`);
  return leader!;
}

test('nats cluster - 3 nodes on their own ports, one cluster; an R3 stream survives the loss of its leader and the node rejoins', async () => {
  await using cluster = await startNatsCluster();
  assert.is(cluster.nodes.length, 3);
  const ports = cluster.nodes.flatMap((node) => [node.port, node.clusterPort]);
  assert.is(new Set(ports).size, 6, 'six distinct ports');
  assert.not.ok(ports.includes(4222), 'never the system server');
  assert.is(cluster.urls, cluster.nodes.map((node) => node.url).join(','));

  const nc = await connect({ servers: cluster.urls.split(','), reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  try {
    // Each node sees the other two as routes: one cluster, not three.
    for (const node of cluster.nodes) {
      const probe = await connect({ servers: node.url });
      try {
        assert.is(probe.info?.cluster, cluster.clusterName);
        assert.is(probe.info?.server_name, node.serverName);
      } finally {
        await probe.close();
      }
    }
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
    const js = jetstream(nc);
    for (let i = 0; i < 10; i++) await js.publish('r3.x', `before ${i}`);

    const leader = await leaderOf(cluster, 'R3');
    const pid = cluster.nodes[leader]!.pid!;
    await cluster.nodes[leader]!.kill();
    assert.not.ok(processExists(pid), 'the leader process is gone');
    assert.is(cluster.nodes[leader]!.pid, undefined);

    const next = await leaderOf(cluster, 'R3');
    assert.is.not(next, leader, 'another node leads the stream');
    // Writes go on with two of three nodes, and nothing acknowledged before is lost.
    await waitFor(
      async () =>
        js.publish('r3.x', 'after').then(
          () => true,
          () => false,
        ),
      'a publish acknowledged after the leader loss',
    );
    assert.ok((await jsm.streams.info('R3')).state.messages >= 11);

    await cluster.nodes[leader]!.restart();
    assert.ok(cluster.nodes[leader]!.pid !== undefined);
    const killedName = cluster.nodes[leader]!.serverName;
    await waitFor(async () => {
      const info = await jsm.streams.info('R3').catch(() => undefined);
      const replica = info?.cluster?.replicas?.find((peer) => peer.name === killedName);
      return replica !== undefined && replica.current && !replica.offline;
    }, 'the restarted node to be a current replica again');
    await cluster.waitUntilReady();
  } finally {
    await nc.close();
  }
});

test('nats cluster - stop leaves no process and no store, and is idempotent; a node stop is restartable', async () => {
  const cluster = await startNatsCluster();
  const pids = cluster.nodes.map((node) => node.pid!);
  const dirs = cluster.nodes.map((node) => node.storeDir);
  await cluster.nodes[1]!.stop();
  assert.not.ok(processExists(pids[1]!));
  assert.ok(existsSync(dirs[1]!), 'a node stop keeps its store');
  await cluster.nodes[1]!.restart();
  const restartedPid = cluster.nodes[1]!.pid!;
  await Promise.all([cluster.stop(), cluster.stop()]);
  await cluster.stop();
  for (const pid of [...pids, restartedPid]) assert.not.ok(processExists(pid), `pid ${pid} is gone`);
  for (const dir of dirs) assert.not.ok(existsSync(dir), `${dir} is deleted`);
});

test.run();
