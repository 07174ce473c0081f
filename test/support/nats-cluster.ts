// Test support: a real nats-server cluster on 127.0.0.1 (3 nodes by default), each node with its own
// client port, cluster (route) port and JetStream store directory, routed to every other node. Built
// on the single-server support of nats-server.ts, so every node proves it bound both its ports
// before the handle is handed out, and nothing outlives the test process.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  installCleanup,
  NatsServer,
  pickFreePort,
  resolveOptions,
  StartFailure,
  type NatsServerOptions,
} from './nats-server.ts';

/** Options of {@link startNatsCluster}: those of a single server (applied to every node) and the size. */
export interface NatsClusterOptions extends Omit<NatsServerOptions, 'jetstream'> {
  /**
   * How many nodes (JetStream's RAFT groups need 3 for R3 and survive the loss of one).
   * @default 3
   */
  readonly size?: number;
  /**
   * How long to wait for JetStream to be usable cluster-wide (a meta leader elected, every node
   * answering the JetStream API, an R3 stream can be created).
   * @default 30000
   */
  readonly readyTimeoutMs?: number;
}

/** One node of a {@link NatsClusterHandle}. */
export interface NatsClusterNode {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The route port the other nodes connect to. */
  readonly clusterPort: number;
  /** `--server_name`: what JetStream reports as a stream's leader or replica. */
  readonly serverName: string;
  readonly storeDir: string;
  /** The pid of the node's current process; undefined while it is down. */
  readonly pid: number | undefined;
  log(): string[];
  /** Simulates a crash: SIGKILL, waits for the process to exit. Data stays; `restart()` revives it. */
  kill(): Promise<void>;
  /**
   * Stops the node gracefully if it runs, then starts it again on the same ports with the same store,
   * so it rejoins the cluster. Resolves once the new process is verified on both its ports (it may
   * still be catching up with its streams: wait for that in the test).
   */
  restart(): Promise<void>;
  /** A graceful shutdown (SIGTERM) that keeps ports and data: `restart()` brings the node back. */
  stop(): Promise<void>;
}

/** A running cluster started by this process. */
export interface NatsClusterHandle {
  /** Every node's client URL, comma-separated (what `--nats` and `connect({ servers })` take). */
  readonly urls: string;
  readonly nodes: readonly NatsClusterNode[];
  readonly clusterName: string;
  /**
   * The index in `nodes` of the node that leads `stream`'s RAFT group, or undefined while it has no
   * leader. Asks JetStream (`$JS.API.STREAM.INFO`) through any running node.
   */
  streamLeader(stream: string): Promise<number | undefined>;
  /** Resolves once JetStream answers on every running node and an R3 stream can be created. */
  waitUntilReady(): Promise<void>;
  /** Stops every node for good and deletes their stores. Idempotent; leaves no process behind. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

class ClusterNode implements NatsClusterNode {
  constructor(
    readonly server: NatsServer,
    readonly clusterPort: number,
    readonly serverName: string,
  ) {}
  get url(): string {
    return this.server.url;
  }
  get port(): number {
    return this.server.port;
  }
  get storeDir(): string {
    return this.server.storeDir;
  }
  get pid(): number | undefined {
    return this.server.pid;
  }
  log(): string[] {
    return this.server.log();
  }
  kill(): Promise<void> {
    return this.server.kill();
  }
  restart(): Promise<void> {
    return this.server.restart();
  }
  stop(): Promise<void> {
    return this.server.shutdown();
  }
}

class NatsCluster implements NatsClusterHandle {
  readonly urls: string;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly nodes: readonly ClusterNode[],
    readonly clusterName: string,
    private readonly readyTimeoutMs: number,
  ) {
    this.urls = nodes.map((node) => node.url).join(',');
  }

  /** A short-lived connection to the running nodes (none of them reconnecting forever). */
  private async withConnection<T>(use: (nc: NatsConnection) => Promise<T>): Promise<T> {
    const servers = this.nodes.filter((node) => node.pid !== undefined).map((node) => node.url);
    if (servers.length === 0) throw new Error(`no node of cluster ${this.clusterName} is running`);
    const nc = await connect({ servers, maxReconnectAttempts: 0, timeout: 5_000 });
    try {
      return await use(nc);
    } finally {
      await nc.close();
    }
  }

  async streamLeader(stream: string): Promise<number | undefined> {
    const leader = await this.withConnection(async (nc) => {
      const info = await (await jetstreamManager(nc)).streams.info(stream);
      return info.cluster?.leader;
    });
    if (leader === undefined || leader === '') return undefined;
    const index = this.nodes.findIndex((node) => node.serverName === leader);
    if (index < 0)
      throw new Error(`stream ${stream} is led by ${leader}, which is not a node of cluster ${this.clusterName}`);
    return index;
  }

  async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    const probe = `stator_cluster_probe_${process.pid}`;
    for (;;) {
      try {
        for (const node of this.nodes) {
          if (node.pid === undefined) continue;
          // Each node on its own: the JetStream API answers there only once it knows the meta leader.
          const nc = await connect({ servers: node.url, maxReconnectAttempts: 0, timeout: 5_000 });
          try {
            await (await jetstreamManager(nc, { timeout: 2_000 })).getAccountInfo();
          } finally {
            await nc.close();
          }
        }
        const replicas = Math.min(3, this.nodes.filter((node) => node.pid !== undefined).length);
        await this.withConnection(async (nc) => {
          const jsm = await jetstreamManager(nc, { timeout: 5_000 });
          await jsm.streams.add({ name: probe, subjects: [`${probe}.>`], num_replicas: replicas });
          await jsm.streams.delete(probe);
        });
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`JetStream of cluster ${this.clusterName} not ready within ${this.readyTimeoutMs} ms`, {
            cause: error,
          });
        }
        await sleep(200);
      }
    }
  }

  stop(): Promise<void> {
    this.stopping ??= Promise.all(this.nodes.map((node) => node.server.stop())).then(() => undefined);
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Picks `count` distinct free loopback ports. */
async function pickFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await pickFreePort());
  return [...ports];
}

/**
 * Starts a nats-server cluster on 127.0.0.1: `size` nodes on free client and route ports, JetStream on
 * each in its own temp store, every node routed to the others, and resolves once each node is verified
 * on both its ports and JetStream is ready cluster-wide. Retries on other ports when one was taken
 * meanwhile. Every node is killed when this process exits, should a test forget stop().
 *
 * @example
 * await using cluster = await startNatsCluster();
 * const nc = await connect({ servers: cluster.urls.split(',') });
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsClusterHandle> {
  const size = options.size ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new Error(`cluster size must be a positive integer, got ${size}`);
  const resolved = resolveOptions({ ...options, jetstream: true });
  installCleanup();
  let lastError: unknown;
  for (let attempt = 0; attempt < resolved.portAttempts; attempt++) {
    const ports = await pickFreePorts(2 * size);
    const clientPorts = ports.slice(0, size);
    const routePorts = ports.slice(size);
    const clusterName = `stator-test-${clientPorts[0]}`;
    const nodes = clientPorts.map((port, i) => {
      const serverName = `n${i}-${port}`;
      const routes = routePorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`);
      const args = [
        '--server_name',
        serverName,
        '--cluster_name',
        clusterName,
        '--cluster',
        `nats://127.0.0.1:${routePorts[i]}`,
      ];
      if (routes.length > 0) args.push('--routes', routes.join(','));
      const storeDir = mkdtempSync(join(tmpdir(), 'stator-nats-cluster-'));
      const server = new NatsServer(port, storeDir, resolved, {
        args,
        mustLog: [`Listening for route connections on 127.0.0.1:${routePorts[i]}`],
      });
      return new ClusterNode(server, routePorts[i]!, serverName);
    });
    const cluster = new NatsCluster(nodes, clusterName, options.readyTimeoutMs ?? 30_000);
    const launched = await Promise.allSettled(nodes.map((node) => node.server.launch()));
    const failure = launched.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure === undefined) {
      try {
        await cluster.waitUntilReady();
        return cluster;
      } catch (error) {
        await cluster.stop();
        throw error;
      }
    }
    await cluster.stop();
    lastError = failure.reason;
    const portTaken = launched.some(
      (result) => result.status === 'rejected' && result.reason instanceof StartFailure && result.reason.portTaken,
    );
    if (!portTaken) throw failure.reason;
  }
  throw new Error(`could not start a nats-server cluster on free ports after ${resolved.portAttempts} attempts`, {
    cause: lastError,
  });
}
