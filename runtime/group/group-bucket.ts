// The KV bucket a job's workers share: one heartbeat entry per worker and one lease entry per owned
// unit. The layout is what `stator status` reads, so it is stable:
//
//   bucket  stator-<job>-group   (escaped like the checkpoint buckets: jetstream-bucket-name.ts)
//   worker.<id>    HeartbeatRecord, rewritten every leaseTtl/3 by its worker; deleted on leave
//   lease.<unit>   LeaseRecord, written by compare-and-set only; deleted on release
//   failure.<unit> FailureRecord: the unit's failures in a row; deleted after a stable run (or by an operator)
//   layout         the job's layout (runtime/nats/job-layout.ts)
//
// Ids and unit names are free text; in keys, bytes other than [A-Za-z0-9-] (and "." between two such
// characters) are written as "_" + 2 hex digits, so the key names stay valid and distinct. The records
// carry the names verbatim.
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { DEFAULT_RETRY_POLICY, retryTransient } from '../nats/retry.ts';
import { jetStreamBucketName } from '../checkpoint/jetstream-bucket-name.ts';
import type { UnitProgress } from './unit-host.ts';
import { natsJetStream, natsKv } from '../deferred-packages.ts';

/** What a worker writes with every heartbeat. */
export interface HeartbeatRecord {
  readonly worker: string;
  /** A random id per join: tells this process's entries from an earlier process with the same id. */
  readonly instance: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
  /**
   * `leaving`: handing its units over, the others no longer assign it any. `fenced`: it abandoned
   * every unit (it stalled or lost NATS) and holds nothing until it rejoins: its leases may be taken.
   */
  readonly state: 'active' | 'leaving' | 'fenced';
  readonly leaseTtlMs: number;
  /** Every unit of the job, as this worker knows them. */
  readonly units: readonly string[];
  /** Progress of the units it runs (UnitHost.describe). */
  readonly progress: Readonly<Record<string, UnitProgress>>;
}

/** What a lease entry says. The entry's revision is the lease's fencing token. */
export interface LeaseRecord {
  readonly unit: string;
  readonly worker: string;
  readonly instance: string;
  readonly takenAt: string;
}

/**
 * A unit's failures in a row (its start failed, or it failed while running), written by the worker
 * where it failed. Every worker backs off from starting it for a time growing with `failures`; once
 * `failed`, no worker starts it until the record is deleted.
 */
export interface FailureRecord {
  readonly unit: string;
  readonly failures: number;
  /** Why it failed last. */
  readonly error: string;
  /** The worker where it failed last. */
  readonly worker: string;
  readonly at: string;
  readonly failed: boolean;
}

const STREAM_NOT_FOUND = 10059;
const WORKER_PREFIX = 'worker.';
const LEASE_PREFIX = 'lease.';
const FAILURE_PREFIX = 'failure.';

/** The bucket of a job's group. The checkpoint task name "group" is reserved by it. */
export function groupBucketName(job: string): string {
  return jetStreamBucketName(job, 'group');
}

function isPlain(code: number | undefined): boolean {
  return (
    code !== undefined &&
    ((code >= 0x30 && code <= 0x39) ||
      (code >= 0x41 && code <= 0x5a) ||
      (code >= 0x61 && code <= 0x7a) ||
      code === 0x2d)
  );
}

/** One KV key token sequence for free text (see the rule at the top of this file). */
export function keyPart(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    const keptDot = byte === 0x2e && isPlain(bytes[i - 1]) && isPlain(bytes[i + 1]);
    out += isPlain(byte) || keptDot ? String.fromCharCode(byte) : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export const workerKey = (worker: string): string => `${WORKER_PREFIX}${keyPart(worker)}`;
export const leaseKey = (unit: string): string => `${LEASE_PREFIX}${keyPart(unit)}`;
export const isWorkerKey = (key: string): boolean => key.startsWith(WORKER_PREFIX);
export const isLeaseKey = (key: string): boolean => key.startsWith(LEASE_PREFIX);
export const failureKey = (unit: string): string => `${FAILURE_PREFIX}${keyPart(unit)}`;
export const isFailureKey = (key: string): boolean => key.startsWith(FAILURE_PREFIX);

const encoder = new TextEncoder();
export const encodeRecord = (record: HeartbeatRecord | LeaseRecord | FailureRecord): Uint8Array =>
  encoder.encode(JSON.stringify(record));

/** Decodes an entry's JSON; undefined when it is not a record of ours (someone else wrote the bucket). */
export function decodeRecord<T extends HeartbeatRecord | LeaseRecord | FailureRecord>(
  value: Uint8Array,
  field: 'worker',
): T | undefined {
  try {
    const record = JSON.parse(new TextDecoder().decode(value)) as unknown;
    return typeof record === 'object' &&
      record !== null &&
      typeof (record as Record<string, unknown>)[field] === 'string'
      ? (record as T)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates the bucket if it is missing (one value per key: the history is not needed). Retried while
 * JetStream says "not now": workers starting together on a fresh cluster race its meta leader.
 */
export async function createGroupBucket(nc: NatsConnection, job: string, replicas: number): Promise<KV> {
  return retryTransient(
    () => new (natsKv().Kvm)(natsJetStream().jetstream(nc)).create(groupBucketName(job), { replicas, history: 1 }),
    DEFAULT_RETRY_POLICY,
    new AbortController().signal,
  );
}

/** Opens the bucket without creating it; undefined when the job has no group there. */
export async function openGroupBucket(nc: NatsConnection, job: string): Promise<KV | undefined> {
  const name = groupBucketName(job);
  try {
    await (await natsJetStream().jetstreamManager(nc)).streams.info(`KV_${name}`);
  } catch (error) {
    if (error instanceof natsJetStream().JetStreamApiError && error.code === STREAM_NOT_FOUND) return undefined;
    throw error;
  }
  return new (natsKv().Kvm)(natsJetStream().jetstream(nc)).open(name);
}
