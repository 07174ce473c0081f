// Shared helpers for tests. Tests needing NATS start their own real nats-server with these.
export { startNatsServer, pickFreePort, findNatsServerBinary } from './nats-server.ts';
export type { NatsServerHandle, NatsServerOptions } from './nats-server.ts';
export { waitFor } from './wait-for.ts';
export { startNatsCluster } from './nats-cluster.ts';
export type { NatsClusterHandle, NatsClusterNode, NatsClusterOptions } from './nats-cluster.ts';
export { processExists } from './process-exists.ts';
export { outcomeOf } from './outcome.ts';
