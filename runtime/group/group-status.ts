// A job's group as its bucket shows it now, for `stator status` and scripts. Read-only: looking at a
// job that has no group creates nothing.
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV, KvEntry } from '@nats-io/kv';

const READ_LIMIT_MS = 10_000;
import {
  decodeRecord,
  groupBucketName,
  isFailureKey,
  isLeaseKey,
  isWorkerKey,
  openGroupBucket,
  type FailureRecord,
  type HeartbeatRecord,
  type LeaseRecord,
} from './group-bucket.ts';
import type { UnitFailure, UnitProgress } from './unit-host.ts';

export interface WorkerStatus {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly state: 'active' | 'leaving' | 'fenced';
  /** When the server stored its last heartbeat (the server's clock). */
  readonly lastSeen: string;
  /** now − lastSeen on this machine's clock: only as exact as the two clocks agree. */
  readonly lastSeenAgoMs: number;
  /** lastSeenAgoMs exceeds its lease TTL: the others take (or took) its units. */
  readonly stale: boolean;
  readonly leaseTtlMs: number;
  /** The units it holds leases of, in the job's order. */
  readonly units: readonly string[];
}

export interface UnitStatus {
  readonly unit: string;
  /** The worker holding its lease; undefined when nobody does. */
  readonly owner: string | undefined;
  /** The lease's revision (its fencing token). */
  readonly revision: number | undefined;
  readonly since: string | undefined;
  /** What the owner last published about it (with its heartbeat). */
  readonly progress: UnitProgress | undefined;
  /** Its failures in a row, when it failed since its last stable run; `failed`: no worker starts it. */
  readonly failure?: UnitFailure;
}

export interface GroupStatus {
  readonly job: string;
  readonly bucket: string;
  /** False when the job has no group bucket (it never ran as a group on this NATS). */
  readonly exists: boolean;
  readonly workers: readonly WorkerStatus[];
  /** Every unit the workers know of (the job's order), then any other unit with a lease or a failure record. */
  readonly units: readonly UnitStatus[];
}

/**
 * The last value of every key, read through a watch up to the bucket's last revision when the read
 * began (listing keys, then getting each, misses a key rewritten in between: heartbeats are).
 */
async function readLastValues(kv: KV, bucket: string): Promise<KvEntry[]> {
  const lastRevision = (await kv.status()).streamInfo.state.last_seq;
  const latest = new Map<string, KvEntry>();
  if (lastRevision > 0) {
    const watch = await kv.watch();
    const guard = setTimeout(() => watch.stop(), READ_LIMIT_MS);
    try {
      for await (const entry of watch) {
        latest.set(entry.key, entry);
        if (entry.revision >= lastRevision) break;
      }
    } finally {
      clearTimeout(guard);
      watch.stop();
    }
    if ([...latest.values()].every((entry) => entry.revision < lastRevision)) {
      throw new Error(`reading bucket ${bucket} did not reach revision ${lastRevision} within ${READ_LIMIT_MS} ms`);
    }
  }
  return [...latest.values()].filter((entry) => entry.operation === 'PUT');
}

/** Reads the group of `job` once: every worker's last heartbeat and every lease. */
export async function readGroupStatus(
  nc: NatsConnection,
  job: string,
  now: () => number = Date.now,
): Promise<GroupStatus> {
  const bucket = groupBucketName(job);
  const kv = await openGroupBucket(nc, job);
  if (kv === undefined) return { job, bucket, exists: false, workers: [], units: [] };
  const entries = await readLastValues(kv, bucket);
  const heartbeats: { record: HeartbeatRecord; entry: KvEntry }[] = [];
  const leases = new Map<string, { record: LeaseRecord; entry: KvEntry }>();
  const failures = new Map<string, FailureRecord>();
  for (const entry of entries) {
    if (isWorkerKey(entry.key)) {
      const record = decodeRecord<HeartbeatRecord>(entry.value, 'worker');
      if (record !== undefined) heartbeats.push({ record, entry });
    } else if (isLeaseKey(entry.key)) {
      const record = decodeRecord<LeaseRecord>(entry.value, 'worker');
      if (record !== undefined) leases.set(record.unit, { record, entry });
    } else if (isFailureKey(entry.key)) {
      const record = decodeRecord<FailureRecord>(entry.value, 'worker');
      if (record !== undefined) failures.set(record.unit, record);
    }
  }
  heartbeats.sort((a, b) => (a.record.worker < b.record.worker ? -1 : a.record.worker > b.record.worker ? 1 : 0));
  // The job's units in its order, as the freshest heartbeat lists them, then units only a lease or
  // a failure record names: with no heartbeat (no worker running, or its heartbeat late), a unit
  // marked failed holds no lease and would be missing.
  const freshest = [...heartbeats].sort((a, b) => b.entry.revision - a.entry.revision)[0];
  const order = [...(freshest?.record.units ?? [])];
  for (const unit of [...new Set([...leases.keys(), ...failures.keys()])].sort())
    if (!order.includes(unit)) order.push(unit);
  const at = now();
  const workers = heartbeats.map(({ record, entry }): WorkerStatus => {
    const ago = Math.max(0, at - entry.created.getTime());
    return {
      id: record.worker,
      host: record.host,
      pid: record.pid,
      startedAt: record.startedAt,
      state: record.state,
      lastSeen: entry.created.toISOString(),
      lastSeenAgoMs: ago,
      stale: ago > record.leaseTtlMs,
      leaseTtlMs: record.leaseTtlMs,
      units: order.filter((unit) => leases.get(unit)?.record.worker === record.worker),
    };
  });
  const units = order.map((unit): UnitStatus => {
    const lease = leases.get(unit);
    const owner = lease?.record.worker;
    const progress = heartbeats.find((h) => h.record.worker === owner && h.record.instance === lease?.record.instance)
      ?.record.progress[unit];
    const failed = failures.get(unit);
    return {
      unit,
      owner,
      revision: lease?.entry.revision,
      since: lease?.record.takenAt,
      progress,
      ...(failed === undefined
        ? {}
        : {
            failure: {
              failures: failed.failures,
              error: failed.error,
              worker: failed.worker,
              at: failed.at,
              failed: failed.failed,
            },
          }),
    };
  });
  return { job, bucket, exists: true, workers, units };
}
