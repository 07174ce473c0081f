// Packages that only some runs use, loaded at their first use rather than with stator: a run
// without --nats never loads the NATS client, one without --http never loads prom-client, one
// on the heap backend never loads lmdb (a native addon), one that logs text (the default) never
// loads pino, and `stator --help` loads none of them.
// Every importer of stator (a job module imports `stator/runtime`) would otherwise pay for all of
// them at start. They are CommonJS packages (lmdb through its CommonJS build), so `require` loads
// them synchronously where they are first needed, and a user's own `import` of one of them gets
// the same module instance.
import { createRequire } from 'node:module';
import type * as Lmdb from 'lmdb';
import type * as NatsCore from '@nats-io/transport-node';
import type * as NatsJetStream from '@nats-io/jetstream';
import type * as NatsKv from '@nats-io/kv';
import type * as NatsObj from '@nats-io/obj';
import type * as Pino from 'pino';
import type * as PromClient from 'prom-client';

const require = createRequire(import.meta.url);

/** Loads `id` at the first call; later calls return it (hot paths call these per message). */
function deferred<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}

/** lmdb-js, for the disk backend's local stores. */
export const lmdb = deferred<typeof Lmdb>('lmdb');
/** The NATS client (connections, headers, errors). */
export const natsCore = deferred<typeof NatsCore>('@nats-io/transport-node');
/** JetStream (streams, consumers, its API errors and enums). */
export const natsJetStream = deferred<typeof NatsJetStream>('@nats-io/jetstream');
/** JetStream's key-value buckets. */
export const natsKv = deferred<typeof NatsKv>('@nats-io/kv');
/** JetStream's object stores. */
export const natsObj = deferred<typeof NatsObj>('@nats-io/obj');
/** prom-client, for /metrics. */
export const promClient = deferred<typeof PromClient>('prom-client');
/** pino, for the JSON log format. */
export const pino = deferred<typeof Pino>('pino');
