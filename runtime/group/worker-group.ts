// A worker of a job's group: heartbeats, unit leases taken by compare-and-set, the balanced sticky
// assignment, and self-fencing. The protocol is written down in docs/scale-out.md ("Membership and
// leases"); in short:
//
// - Each worker puts `worker.<id>` every leaseTtl/3. Nobody compares clocks: a worker is dead for an
//   observer when its entry's revision has not changed for leaseTtl on the observer's own clock.
// - Every worker computes the same balanced assignment from its view (assignment.ts) and acts only
//   for itself: it releases units assigned elsewhere (host.stop, then deletes the lease) and claims
//   units assigned to it that are free, or whose holder is dead, by writing `lease.<unit>` with the
//   revision it saw (create when absent). The winning write's revision is the unit's fencing token.
// - A lease is valid as long as its holder heartbeats; it is not renewed on its own. Before taking a
//   unit from a dead holder, the taker reads the holder's heartbeat once more from the server.
// - Self-fencing: when no heartbeat of this worker was acknowledged for 2/3 of the TTL (counted from
//   when it was sent), it abandons every unit before anything else, since others may take them after
//   the TTL; it rejoins once a heartbeat is acknowledged again.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { currentProcessIdentity } from '../../src/checkpoint/lease.ts';
import { performance } from 'node:perf_hooks';
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV, KvEntry } from '@nats-io/kv';
import type { Observable } from 'rxjs';
import { Subject } from '../rx.ts';
import { ConfigError, GroupJoinError } from '../errors.ts';
import { DEFAULT_RETRY_POLICY, retryTransient } from '../nats/retry.ts';
import { natsJetStream } from '../deferred-packages.ts';
import { leaderKvReader, type LeaderKvRead } from '../nats/kv-leader-get.ts';
import type { Logger } from '../log.ts';
import { balancedAssignment } from './assignment.ts';
import {
  createGroupBucket,
  decodeRecord,
  encodeRecord,
  failureKey,
  groupBucketName,
  isFailureKey,
  isLeaseKey,
  isWorkerKey,
  leaseKey,
  workerKey,
  type FailureRecord,
  type HeartbeatRecord,
  type LeaseRecord,
} from './group-bucket.ts';
import type { UnitFailure, UnitHost, UnitLease, UnitProgress } from './unit-host.ts';
import { RepeatedFailures } from './repeated-failures.ts';
import { counted } from '../counted.ts';

/** Default lease TTL: a dead worker's units move after about this long. */
export const DEFAULT_LEASE_TTL_MS = 5_000;

/** Default number of failures in a row after which a unit is marked failed and no longer started. */
export const DEFAULT_MAX_UNIT_FAILURES = 8;

export interface WorkerGroupOptions {
  /** The connection the group writes through (the worker's own: its outage fences the worker). */
  readonly connection: NatsConnection;
  readonly job: string;
  /**
   * This worker's id, unique among the job's live workers (two live processes with one id would both
   * believe they hold the same leases).
   * @default `<hostname>-<pid>`
   */
  readonly workerId?: string;
  /** Every unit of the job, the same list in every worker. */
  readonly units: readonly string[];
  /**
   * How long a worker may stay silent before the others take its units.
   * @default 5000
   */
  readonly leaseTtlMs?: number;
  /**
   * Replicas of the group's bucket (3 on a 3-node cluster survives the loss of a server).
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Failures in a row (a start that failed, or a unit that failed while running, with no stable run
   * of 10 TTLs in between) after which a unit is marked failed: no worker starts it again until the
   * record is deleted. Between failures every worker waits TTL × 2^(failures−1), at most 5 minutes.
   * @default 8
   */
  readonly maxUnitFailures?: number;
  readonly logger: Logger;
  readonly host: UnitHost;
}

/**
 * Why a worker took a unit: nobody held it, its holder stopped heartbeating for the TTL, its holder
 * said it fenced itself, or this worker held it before it fenced itself and now claims it afresh.
 */
export type TookReason = 'free' | 'lease expired' | 'holder fenced' | 'rejoined';

/** What a group did, for tests, metrics and the runtime's own log. */
export type GroupEvent =
  | { readonly type: 'joined'; readonly worker: string }
  | {
      readonly type: 'took';
      readonly unit: string;
      readonly lease: UnitLease;
      readonly from: string | undefined;
      readonly reason: TookReason;
    }
  | { readonly type: 'started'; readonly unit: string; readonly lease: UnitLease }
  | { readonly type: 'start-failed'; readonly unit: string; readonly error: unknown }
  | { readonly type: 'ended'; readonly unit: string; readonly reason: string }
  | { readonly type: 'unit-failed'; readonly unit: string; readonly failures: number; readonly failed: boolean }
  | { readonly type: 'released'; readonly units: readonly string[]; readonly reason: 'rebalance' | 'leave' }
  | { readonly type: 'lost'; readonly unit: string; readonly reason: string }
  | { readonly type: 'fenced'; readonly units: readonly string[]; readonly silentMs: number }
  | { readonly type: 'rejoined' }
  | { readonly type: 'worker-expired'; readonly worker: string }
  | { readonly type: 'closed' };

/** A joined worker. Lifecycle: `joining` → `active` ⇄ `fenced` → `leaving` → `closed`. */
export interface WorkerGroup {
  readonly workerId: string;
  readonly bucket: string;
  /** The units this worker runs now (started and not stopped or abandoned). */
  readonly owned: ReadonlySet<string>;
  readonly state: GroupState;
  readonly events: Observable<GroupEvent>;
  /**
   * The host's unit stopped although the group did not ask it to (its checkpoint lease was taken
   * over, or it failed after it started). Unless the group already moved it, the lease is released
   * (compare-and-set on its revision) and the unit is planned again after a back-off, here or
   * elsewhere: the group must never keep a lease for a unit nobody runs.
   */
  unitEnded(unit: string, reason: string, failure?: boolean): void;
  /**
   * Whether no other worker can have taken this worker's units yet: it is active (or leaving) and
   * a heartbeat it sent less than 2/3 of the lease TTL ago was acknowledged (the others wait a whole
   * TTL of silence). A check only: a worker stalled past that fences itself on its own timer, which
   * may run after work already queued.
   */
  confirmed(): boolean;
  /**
   * Leaves gracefully: stops every owned unit (host.stop), deletes its leases, then its heartbeat, so
   * the others take the units at once instead of after the TTL. When the connection is gone it can
   * only abandon them. Stops every timer and the watch. Idempotent.
   */
  close(): Promise<void>;
}

export type GroupState = 'joining' | 'active' | 'fenced' | 'leaving' | 'closed';

interface Seen<T> {
  readonly revision: number;
  /** performance.now() when this revision was first seen here: liveness is judged from it. */
  readonly seenAt: number;
  /** Undefined for a deleted entry. */
  readonly record: T | undefined;
}

/** This worker's part in one unit. `lease` is set once the claim succeeded. */
interface LocalUnit {
  phase: 'claiming' | 'starting' | 'running' | 'stopping' | 'releasing';
  lease?: UnitLease;
  /** performance.now() when it started running here. */
  runningSince?: number;
}

/** Why reconcile leaves a partition as it is this time: it waits to stop here, or to run here. */
interface Waiting {
  readonly stopping: boolean;
  readonly why: string;
}

const FENCE_FRACTION = 2 / 3;
/** How long join() waits for the watch to deliver this worker's first heartbeat, in lease TTLs. */
const JOIN_TIMEOUT_TTLS = 6;
/** A graceful stop that has not ended after this many lease TTLs is abandoned, as one that failed. */
const STOP_LIMIT_TTLS = 12;
/** A partition waited for this many lease TTLs (to start here, or to stop here) is logged at warn. */
const STUCK_WARN_TTLS = 3;
/** JetStream's answer to a compare-and-set on a revision that moved: another write came first. */
const WRONG_LAST_SEQUENCE = 10071;
const MAX_FAILURE_BACKOFF_MS = 300_000;
/** A unit that ran this many TTLs without failing has its failures forgotten. */
const STABLE_RUN_TTLS = 10;

function validate(options: WorkerGroupOptions): {
  workerId: string;
  leaseTtlMs: number;
  replicas: number;
  maxUnitFailures: number;
} {
  const workerId = options.workerId ?? `${hostname()}-${process.pid}`;
  if (workerId === '')
    throw new ConfigError(
      "workerId must not be empty: pass a name unique among the job's workers, or none for <hostname>-<pid>",
    );
  if (options.job === '') throw new ConfigError('job must not be empty');
  if (options.units.length === 0)
    throw new ConfigError(`job ${options.job} has no units to share: a group needs at least one`);
  const seen = new Set<string>();
  for (const unit of options.units) {
    if (unit === '' || seen.has(unit))
      throw new ConfigError(
        `unit names must be distinct and not empty, got ${JSON.stringify(unit)} in ${JSON.stringify(options.units)}`,
      );
    seen.add(unit);
  }
  const leaseTtlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  if (!Number.isInteger(leaseTtlMs) || leaseTtlMs < 300)
    throw new ConfigError(`leaseTtlMs must be an integer of at least 300 ms, got ${leaseTtlMs}`);
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)
    throw new ConfigError(`replicas must be an integer from 1 to 5, got ${replicas}`);
  const maxUnitFailures = options.maxUnitFailures ?? DEFAULT_MAX_UNIT_FAILURES;
  if (!Number.isInteger(maxUnitFailures) || maxUnitFailures < 1)
    throw new ConfigError(`maxUnitFailures must be a positive integer, got ${maxUnitFailures}`);
  return { workerId, leaseTtlMs, replicas, maxUnitFailures };
}

/**
 * Joins the group of `job` as `workerId` and resolves once this worker heartbeats and sees the group
 * (claims start right after). The bucket is created on first use.
 */
export async function joinWorkerGroup(options: WorkerGroupOptions): Promise<WorkerGroup> {
  const { workerId, leaseTtlMs, replicas, maxUnitFailures } = validate(options);
  const kv = await createGroupBucket(options.connection, options.job, replicas);
  const latest = await leaderKvReader(options.connection, groupBucketName(options.job));
  const group = new Group(options, kv, latest, workerId, leaseTtlMs, maxUnitFailures);
  try {
    await group.join();
  } catch (error) {
    await group.close();
    throw error;
  }
  return group;
}

class Group implements WorkerGroup {
  readonly bucket: string;
  readonly owned = new Set<string>();
  state: GroupState = 'joining';
  private readonly subject = new Subject<GroupEvent>();
  readonly events: Observable<GroupEvent> = this.subject.asObservable();
  private readonly instance = randomUUID();
  private readonly startedAt = new Date().toISOString();
  private readonly fenceAfterMs: number;
  private readonly workers = new Map<string, Seen<HeartbeatRecord>>();
  private readonly leases = new Map<string, Seen<LeaseRecord>>();
  private readonly failures = new Map<string, Seen<FailureRecord>>();
  /** Units whose failure record this worker is deleting after a stable run. */
  private readonly forgetting = new Set<string>();
  private readonly local = new Map<string, LocalUnit>();
  private readonly backoff = new Map<string, { until: number; delayMs: number }>();
  private readonly expiredLogged = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private firstHeartbeatRevision = 0;
  private lastWatchedRevision = 0;
  /** Acknowledged heartbeats the watch has not delivered yet: the watch is stuck when one waits too long. */
  private readonly unseenHeartbeats: { revision: number; at: number }[] = [];
  private readonly retryAt = new Map<string, number>();
  private readonly retryDelayMs: number;
  private readonly watchStaleMs: number;
  private lastAckedSentAt = Number.NEGATIVE_INFINITY;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  private fenceTimer: NodeJS.Timeout | undefined;
  private reconcileScheduled = false;
  private watcher: { stop(): void } | undefined;
  private watching: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private watchSettled: (() => void) | undefined;
  /** Why the watch failed last (the cause of a join that gives up). */
  private lastWatchError: unknown;
  private readonly log: Logger;
  private readonly repeated: RepeatedFailures;
  /** Partitions waited for (see noteWaiting): since when, and when the wait is logged next. */
  private readonly waitingSince = new Map<string, { at: number; stopping: boolean; warnAfterMs: number }>();

  constructor(
    private readonly options: WorkerGroupOptions,
    private readonly kv: KV,
    /** Reads that decide something go to the bucket stream's leader (see leaderKvGet). */
    private readonly latest: LeaderKvRead,
    readonly workerId: string,
    private readonly leaseTtlMs: number,
    private readonly maxUnitFailures: number,
  ) {
    this.bucket = groupBucketName(options.job);
    this.fenceAfterMs = Math.floor(leaseTtlMs * FENCE_FRACTION);
    this.retryDelayMs = Math.max(50, Math.floor(leaseTtlMs / 10));
    this.watchStaleMs = Math.floor(leaseTtlMs / 2);
    this.log = options.logger;
    this.repeated = new RepeatedFailures(options.logger);
  }

  // ---- joining and the view ----------------------------------------------------------------------

  async join(): Promise<void> {
    this.watching = this.watch();
    // The view is complete once the watch delivered this worker's own first heartbeat (in order).
    const seen = new Promise<void>((resolve) => (this.watchSettled = resolve));
    let sentAt = performance.now();
    // A bucket just created on a cluster may not answer yet (nats.js says "jetstream is not enabled"
    // for the no-responders reply): retried like any "not now".
    this.firstHeartbeatRevision = await retryTransient(
      () => {
        sentAt = performance.now();
        return this.kv.put(workerKey(this.workerId), encodeRecord(this.heartbeat('active')));
      },
      DEFAULT_RETRY_POLICY,
      new AbortController().signal,
    );
    this.acknowledged(sentAt);
    if (this.lastWatchedRevision >= this.firstHeartbeatRevision) this.watchSettled?.();
    await this.firstHeartbeatSeen(seen);
    if (this.state !== 'joining') return; // closed meanwhile
    this.state = 'active';
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), Math.max(50, Math.floor(this.leaseTtlMs / 3)));
    this.livenessTimer = setInterval(() => this.checkLiveness(), Math.max(25, Math.floor(this.leaseTtlMs / 6)));
    this.log.info(
      `joined the group of job ${this.options.job} as worker ${this.workerId} (${counted(this.options.units.length, 'partition')}, lease TTL ${this.leaseTtlMs} ms)`,
    );
    this.emit({ type: 'joined', worker: this.workerId });
    // A closed connection never comes back: nothing this worker holds can be handed over any more.
    void this.options.connection.closed().then(() => {
      if (this.state === 'active' || this.state === 'fenced') this.fence('the NATS connection closed');
    });
    this.schedule();
  }

  /**
   * Waits until the watch delivered this worker's first heartbeat (`seen` resolves; it also does when
   * the watch ends for good, the connection closed). A watch that has not within watchStaleMs is
   * opened again, as checkWatch does once joined; after JOIN_TIMEOUT_TTLS lease TTLs the join fails.
   */
  private async firstHeartbeatSeen(seen: Promise<void>): Promise<void> {
    const limitMs = JOIN_TIMEOUT_TTLS * this.leaseTtlMs;
    const since = performance.now();
    const failure = (): GroupJoinError =>
      new GroupJoinError(
        this.workerId,
        this.options.job,
        this.bucket,
        this.firstHeartbeatRevision,
        Math.round(performance.now() - since),
        { cause: this.options.connection.isClosed() ? 'the NATS connection closed' : this.lastWatchError },
      );
    let timer: NodeJS.Timeout | undefined;
    const givenUp = new Promise<never>((_, reject) => {
      const check = (): void => {
        const waitedMs = Math.round(performance.now() - since);
        if (waitedMs >= limitMs) return reject(failure());
        this.log.warn(
          `group ${this.bucket}: the watch has not delivered this worker's first heartbeat (revision ${this.firstHeartbeatRevision}) ` +
            `after ${waitedMs} ms; watching again (the join gives up after ${limitMs} ms)`,
        );
        this.watcher?.stop();
        timer = setTimeout(check, this.watchStaleMs);
      };
      timer = setTimeout(check, this.watchStaleMs);
    });
    try {
      await Promise.race([seen, givenUp]);
    } finally {
      clearTimeout(timer);
    }
    // The watch ended without it (the connection closed): this worker cannot know the group.
    if (this.state === 'joining' && this.lastWatchedRevision < this.firstHeartbeatRevision) throw failure();
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Follows the bucket until close; a watch that ends early is opened again (the view is kept). */
  private async watch(): Promise<void> {
    while (!this.isClosed()) {
      try {
        const watch = await this.kv.watch();
        this.watcher = watch;
        if (this.isClosed()) watch.stop();
        for await (const entry of watch) this.onEntry(entry);
      } catch (error) {
        this.lastWatchError = error;
        if (!this.isClosed())
          this.repeated.failed(`the watch of group bucket ${this.bucket}`, error, 'watching again in 200 ms');
      }
      if (this.isClosed() || this.options.connection.isClosed()) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    this.watchSettled?.();
  }

  private heartbeat(state: HeartbeatRecord['state']): HeartbeatRecord {
    const progress: Record<string, UnitProgress> = {};
    for (const unit of this.owned) {
      const described = this.options.host.describe?.(unit);
      if (described !== undefined) progress[unit] = described;
    }
    return {
      worker: this.workerId,
      instance: this.instance,
      host: hostname(),
      pid: process.pid,
      startedAt: this.startedAt,
      state,
      leaseTtlMs: this.leaseTtlMs,
      units: this.options.units,
      progress,
    };
  }

  /** An entry from the watch. */
  private onEntry(entry: KvEntry): void {
    // A worker woken from a stall may find news here first: it fences itself before reading them.
    this.guard();
    this.repeated.succeeded(`the watch of group bucket ${this.bucket}`);
    this.lastWatchedRevision = Math.max(this.lastWatchedRevision, entry.revision);
    this.apply(entry);
    if (
      this.watchSettled !== undefined &&
      this.lastWatchedRevision >= this.firstHeartbeatRevision &&
      this.firstHeartbeatRevision > 0
    ) {
      this.watchSettled();
      this.watchSettled = undefined;
    }
    this.schedule();
  }

  /**
   * Brings the view of one key up to `entry` (from the watch, or read after a failed compare-and-set).
   * Older revisions than the view's are ignored: a watch opened again replays entries already seen, and
   * their age must not restart.
   */
  private apply(entry: Pick<KvEntry, 'key' | 'revision' | 'operation' | 'value'>): void {
    const now = performance.now();
    const deleted = entry.operation !== 'PUT';
    if (isWorkerKey(entry.key)) {
      const record = deleted ? undefined : decodeRecord<HeartbeatRecord>(entry.value, 'worker');
      const id = record?.worker ?? [...this.workers.keys()].find((known) => workerKey(known) === entry.key);
      if (id === undefined || (this.workers.get(id)?.revision ?? 0) >= entry.revision) return;
      this.workers.set(id, { revision: entry.revision, seenAt: now, record });
      if (record === undefined) return;
      this.expiredLogged.delete(id);
      if (id === this.workerId && record.instance !== this.instance && entry.revision > this.firstHeartbeatRevision) {
        this.log.error(
          `another process (pid ${record.pid} on ${record.host}) heartbeats as worker ${this.workerId}: worker ids must be unique`,
        );
      }
    } else if (isLeaseKey(entry.key)) {
      const record = deleted ? undefined : decodeRecord<LeaseRecord>(entry.value, 'worker');
      const unit = record?.unit ?? this.options.units.find((u) => leaseKey(u) === entry.key);
      if (unit === undefined || (this.leases.get(unit)?.revision ?? 0) >= entry.revision) return;
      this.leases.set(unit, { revision: entry.revision, seenAt: now, record });
      this.checkLease(unit, entry.revision, record);
    } else if (isFailureKey(entry.key)) {
      const record = deleted ? undefined : decodeRecord<FailureRecord>(entry.value, 'worker');
      const unit = record?.unit ?? this.options.units.find((u) => failureKey(u) === entry.key);
      if (unit === undefined || (this.failures.get(unit)?.revision ?? 0) >= entry.revision) return;
      this.failures.set(unit, { revision: entry.revision, seenAt: now, record });
      this.options.host.failuresChanged?.(unit, record === undefined ? undefined : unitFailure(record));
    }
  }

  /**
   * After a compare-and-set on `key` (the unit's lease or failure record) failed, this worker's view
   * of it is wrong: read it from the stream's leader, and leave the unit alone for a moment so a
   * lagging view cannot make it retry in a loop.
   *
   * The leader's entry replaces the view's even when the view shows a later revision, or an entry the
   * leader does not have: a compare-and-set is checked against the leader, so a revision it does not
   * hold can never succeed. Seen after a cluster node was killed and restarted (nats-server 2.9.10):
   * the replicas of the bucket's stream disagreed on a delete's sequence (16 on the leader, 17 on two
   * watches), and the worker whose watch said 17 retried its claim on 17 for ever.
   */
  private refresh(unit: string, key: string): void {
    this.retryAt.set(unit, performance.now() + this.retryDelayMs);
    const view = key === leaseKey(unit) ? this.leases : this.failures;
    this.track(
      this.latest(key).then(
        (entry) => {
          this.repeated.succeeded(`the read of ${key}`);
          const seen = view.get(unit);
          const revision = entry?.revision ?? 0;
          if (seen === undefined ? entry === null : seen.revision === revision) return this.schedule();
          if (seen !== undefined && seen.revision > revision)
            this.log.warn(
              `group ${this.bucket}: the watch showed ${key} at revision ${seen.revision}, the stream's leader ` +
                `${entry === null ? 'has no entry' : `at revision ${revision}`}: the leader's is kept (a compare-and-set is checked against it)`,
            );
          view.delete(unit);
          if (entry === null) view.set(unit, { revision: 0, seenAt: performance.now(), record: undefined });
          else this.apply(entry);
          this.schedule();
        },
        (error: unknown) =>
          this.repeated.failed(
            `the read of ${key}`,
            error,
            `partition ${unit} is planned again in ${this.retryDelayMs} ms from the view the watch keeps`,
          ),
      ),
    );
  }

  /** A lease entry changed: when it was ours and the change is not our own, the unit is lost. */
  private checkLease(unit: string, revision: number, record: LeaseRecord | undefined): void {
    const mine = this.local.get(unit);
    if (mine?.lease === undefined || revision <= mine.lease.revision) return;
    if (record?.instance === this.instance) return;
    // Releasing: the unit no longer runs here (it stopped, or its start failed), so a new holder is the
    // handover this worker began, shown by a watch that lagged behind its delete (a loaded host), not a
    // loss: nothing is abandoned. finishRelease forgets the unit once its delete settles.
    if (mine.phase === 'releasing') {
      if (record !== undefined)
        this.log.debug(`partition ${unit}: worker ${record.worker} took its lease while this worker released it`);
      return;
    }
    this.lose(
      unit,
      record === undefined ? 'its lease was deleted by another worker' : `worker ${record.worker} holds its lease now`,
    );
  }

  private isAlive(worker: string, now: number): boolean {
    if (worker === this.workerId) return this.state === 'active' || this.state === 'leaving';
    const seen = this.workers.get(worker);
    return seen?.record !== undefined && now - seen.seenAt < this.leaseTtlMs && !exitedHere(seen.record);
  }

  /** Whether `worker` may still run what it holds leases of: alive and not fenced. */
  private holds(worker: string, now: number): boolean {
    return (
      this.isAlive(worker, now) && (worker === this.workerId || this.workers.get(worker)?.record?.state !== 'fenced')
    );
  }

  // ---- heartbeats and self-fencing --------------------------------------------------------------

  private sendHeartbeat(): void {
    if (!this.guard()) {
      if (this.state !== 'fenced') return;
    }
    const sentAt = performance.now();
    const state = this.state === 'leaving' ? 'leaving' : this.state === 'fenced' ? 'fenced' : 'active';
    this.track(
      this.kv.put(workerKey(this.workerId), encodeRecord(this.heartbeat(state))).then(
        (revision) => {
          this.repeated.succeeded(`the heartbeat of worker ${this.workerId}`);
          this.acknowledged(sentAt);
          if (revision > this.lastWatchedRevision) this.unseenHeartbeats.push({ revision, at: performance.now() });
        },
        (error: unknown) =>
          this.repeated.failed(
            `the heartbeat of worker ${this.workerId}`,
            error,
            this.state === 'fenced'
              ? 'it stays fenced and sends the next one on its timer; it rejoins once one is acknowledged'
              : `it sends the next one on its timer, and fences itself when none is acknowledged for ${this.fenceAfterMs} ms`,
          ),
      ),
    );
  }

  /** A heartbeat sent at `sentAt` was stored: the others see this worker alive from then on. */
  private acknowledged(sentAt: number): void {
    if (sentAt <= this.lastAckedSentAt || this.state === 'closed') return;
    this.lastAckedSentAt = sentAt;
    if (this.state === 'fenced' && performance.now() - sentAt < this.fenceAfterMs) {
      this.state = 'active';
      this.log.info(
        `worker ${this.workerId} rejoined the group of job ${this.options.job}: its heartbeats are acknowledged again`,
      );
      this.emit({ type: 'rejoined' });
      // Say so before claiming anything: the others may take leases of a worker heartbeating "fenced".
      this.sendHeartbeat();
      this.schedule();
    }
    clearTimeout(this.fenceTimer);
    if (this.state === 'active' || this.state === 'leaving') {
      this.fenceTimer = setTimeout(() => this.guard(), Math.max(0, sentAt + this.fenceAfterMs - performance.now()) + 1);
    }
  }

  /**
   * Checked before every action: false when this worker may not act. Fences it first when its last
   * acknowledged heartbeat is too old (it stalled, or NATS is out of reach), since the others may
   * already judge it dead.
   */
  private guard(): boolean {
    if (this.state === 'active' || this.state === 'leaving') {
      const silentMs = performance.now() - this.lastAckedSentAt;
      if (silentMs >= this.fenceAfterMs)
        this.fence(`no heartbeat acknowledged for ${Math.round(silentMs)} ms`, silentMs);
    }
    return this.state === 'active' || this.state === 'leaving';
  }

  private fence(reason: string, silentMs = 0): void {
    const units = [...this.local.keys()];
    this.state = this.state === 'leaving' ? 'leaving' : 'fenced';
    this.waitingSince.clear();
    for (const unit of units) this.abandon(unit, `${reason}: this worker may no longer hold it`);
    if (this.state === 'leaving') return;
    this.log.warn(
      `worker ${this.workerId} fenced itself (${reason}): abandoned ${units.length === 0 ? 'no partitions' : units.join(',')}; it rejoins once a heartbeat is acknowledged`,
    );
    this.emit({ type: 'fenced', units, silentMs });
  }

  private abandon(unit: string, reason: string): void {
    if (!this.local.delete(unit)) return;
    this.owned.delete(unit);
    try {
      this.options.host.abandon(unit, reason);
    } catch (error) {
      this.log.error(`abandoning partition ${unit} threw: ${String(error)}`);
    }
  }

  private lose(unit: string, reason: string): void {
    this.log.warn(`lost partition ${unit}: ${reason}`);
    this.abandon(unit, reason);
    this.emit({ type: 'lost', unit, reason });
    this.schedule();
  }

  private checkLiveness(): void {
    if (!this.guard()) return;
    const now = performance.now();
    this.checkWatch(now);
    this.forgetStableFailures(now);
    for (const [id, seen] of this.workers) {
      if (
        id === this.workerId ||
        seen.record === undefined ||
        (now - seen.seenAt < this.leaseTtlMs && !exitedHere(seen.record)) ||
        this.expiredLogged.has(id)
      )
        continue;
      this.expiredLogged.add(id);
      this.log.info(
        exitedHere(seen.record)
          ? `worker ${id} exited: its process (pid ${seen.record.pid} on this host) is gone`
          : `worker ${id} expired: no heartbeat for ${this.leaseTtlMs} ms`,
      );
      this.emit({ type: 'worker-expired', worker: id });
      // Its entry goes, unless it heartbeat meanwhile (compare-and-set on the revision seen).
      this.track(this.kv.delete(workerKey(id), { previousSeq: seen.revision }).catch(() => undefined));
    }
    this.schedule();
  }

  /**
   * The watch must deliver this worker's own heartbeats soon after they are stored; when one is
   * overdue the watch is stuck (it happens after a stream leader change) and the view is stale, so it
   * is opened again. Until then this worker takes nothing from workers it believes dead (it reads the
   * holder's heartbeat from the server first).
   */
  private checkWatch(now: number): void {
    while (this.unseenHeartbeats.length > 0 && this.unseenHeartbeats[0]!.revision <= this.lastWatchedRevision)
      this.unseenHeartbeats.shift();
    const overdue = this.unseenHeartbeats[0];
    if (overdue === undefined || now - overdue.at < this.watchStaleMs) return;
    this.log.warn(
      `group ${this.bucket}: the watch did not deliver revision ${overdue.revision} within ${this.watchStaleMs} ms; watching again`,
    );
    this.unseenHeartbeats.length = 0;
    this.watcher?.stop();
  }

  // ---- reconciling ownership with the assignment -------------------------------------------------

  private schedule(): void {
    if (this.reconcileScheduled || this.state === 'closed') return;
    this.reconcileScheduled = true;
    setImmediate(() => {
      this.reconcileScheduled = false;
      this.reconcile();
    });
  }

  private reconcile(): void {
    if (!this.guard()) return;
    const now = performance.now();
    const leaving = this.state === 'leaving';
    const active = [...this.workers]
      .filter(([id, seen]) => id !== this.workerId && seen.record?.state === 'active' && this.isAlive(id, now))
      .map(([id]) => id);
    if (!leaving) active.push(this.workerId);
    const owners = new Map<string, string>();
    for (const [unit, seen] of this.leases) if (seen.record !== undefined) owners.set(unit, seen.record.worker);
    // A unit marked failed is left out: it would take a worker's share without running.
    const units = this.options.units.filter((unit) => this.failures.get(unit)?.record?.failed !== true);
    const plan = balancedAssignment({ units, workers: active, owners });
    const release: string[] = [];
    const waiting = new Map<string, Waiting>();
    for (const unit of this.options.units) {
      const mine = this.local.get(unit);
      if (mine !== undefined) {
        if (mine.phase === 'running' && plan.get(unit) !== this.workerId) release.push(unit);
        if (mine.phase === 'stopping')
          waiting.set(unit, {
            stopping: true,
            why: 'its graceful stop (UnitHost.stop, with the final checkpoint) has not ended, and its lease stays with this worker until it does',
          });
        continue;
      }
      const planned = plan.get(unit) === this.workerId;
      if ((this.retryAt.get(unit) ?? 0) > now) {
        if (planned)
          waiting.set(unit, { stopping: false, why: 'its last claim failed or lost a race; it is tried again' });
        continue;
      }
      const seen = this.leases.get(unit);
      const holder = seen?.record?.worker;
      if (!planned) {
        // A lease naming this worker that it does not run (it was fenced, or is an earlier process with
        // this id): give it back so the unit's next owner need not wait for the TTL.
        if (holder === this.workerId) this.deleteLease(unit, seen!.revision);
        continue;
      }
      const wait = this.backoff.get(unit);
      if (wait !== undefined && now < wait.until) {
        waiting.set(unit, {
          stopping: false,
          why: `it ended here: this worker backs off from it for ${wait.delayMs} ms`,
        });
        continue;
      }
      // The group's back-off, whichever worker it failed on (counted from when this one saw it).
      const failure = this.failures.get(unit);
      if (failure?.record !== undefined && now < failure.seenAt + this.failureDelay(failure.record.failures)) {
        const { failures, worker, error } = failure.record;
        waiting.set(unit, {
          stopping: false,
          why: `it failed ${failures} times in a row (last on worker ${worker}: ${error}); every worker backs off from it for ${this.failureDelay(failures)} ms`,
        });
        continue;
      }
      if (holder === undefined) this.claim(unit, seen?.revision ?? 0, undefined, 'free');
      else if (holder === this.workerId) this.claim(unit, seen!.revision, undefined, 'rejoined');
      else if (!this.holds(holder, now)) this.takeFromDead(unit, seen!.revision, holder);
      else
        waiting.set(unit, {
          stopping: false,
          why: `worker ${holder} holds its lease and heartbeats; waiting for it to hand the partition over`,
        });
    }
    this.noteWaiting(waiting, now);
    if (release.length > 0) this.release(release, leaving ? 'leave' : 'rebalance');
  }

  /**
   * Partitions this worker should run and does not, or should hand over and cannot yet, with why. A
   * wait is normal for a moment (a handover, a back-off); one that lasts STUCK_WARN_TTLS lease TTLs is
   * logged at warn, and again each time it has lasted twice as long: a group that stalls says where.
   */
  private noteWaiting(waiting: ReadonlyMap<string, Waiting>, now: number): void {
    for (const unit of this.waitingSince.keys()) if (!waiting.has(unit)) this.waitingSince.delete(unit);
    for (const [unit, { stopping, why }] of waiting) {
      let since = this.waitingSince.get(unit);
      if (since === undefined || since.stopping !== stopping) {
        since = { at: now, stopping, warnAfterMs: STUCK_WARN_TTLS * this.leaseTtlMs };
        this.waitingSince.set(unit, since);
      }
      const waitedMs = now - since.at;
      if (waitedMs < since.warnAfterMs) continue;
      since.warnAfterMs *= 2;
      this.log.warn(
        stopping
          ? `partition ${unit} has been stopping for ${Math.round(waitedMs)} ms: ${why}`
          : `partition ${unit} is this worker's by the assignment but has not run here for ${Math.round(waitedMs)} ms: ${why}`,
      );
    }
  }

  private claim(unit: string, previousRevision: number, from: string | undefined, reason: TookReason): void {
    const mine: LocalUnit = { phase: 'claiming' };
    this.local.set(unit, mine);
    const record: LeaseRecord = {
      unit,
      worker: this.workerId,
      instance: this.instance,
      takenAt: new Date().toISOString(),
    };
    this.track(
      this.kv.put(leaseKey(unit), encodeRecord(record), { previousSeq: previousRevision }).then(
        (revision) => {
          this.repeated.succeeded(`the claim of partition ${unit}`);
          if (this.local.get(unit) !== mine) return this.schedule(); // fenced meanwhile: reconcile returns the lease
          if (!this.guard()) return;
          const lease: UnitLease = { unit, worker: this.workerId, revision };
          mine.lease = lease;
          mine.phase = 'starting';
          this.log.info(
            `took partition ${unit}${from === undefined ? '' : ` from ${from}`} (${reason}), lease revision ${revision}`,
          );
          this.emit({ type: 'took', unit, lease, from, reason });
          this.start(unit, mine, lease);
        },
        (error: unknown) => {
          // Most often another worker was faster (the revision moved): read who.
          if (this.local.get(unit) === mine) this.local.delete(unit);
          if (isConflict(error)) {
            this.repeated.succeeded(`the claim of partition ${unit}`);
            this.log.debug(`could not take partition ${unit}: its lease changed since revision ${previousRevision}`);
          } else {
            this.repeated.failed(
              `the claim of partition ${unit}`,
              error,
              `reading its lease again; the claim is retried in ${this.retryDelayMs} ms if the partition is still this worker's`,
            );
          }
          this.refresh(unit, leaseKey(unit));
        },
      ),
    );
  }

  private takeFromDead(unit: string, leaseRevision: number, holder: string): void {
    const seen = this.workers.get(holder);
    const mine: LocalUnit = { phase: 'claiming' };
    this.local.set(unit, mine);
    // The watch may lag: ask the stream's leader (a replica may lag too) whether the holder's
    // heartbeat really stopped.
    this.track(
      this.latest(workerKey(holder)).then(
        (entry) => {
          this.repeated.succeeded(`the read of the heartbeat of ${holder}`);
          if (this.local.get(unit) !== mine) return;
          this.local.delete(unit);
          const record = entry?.operation === 'PUT' ? decodeRecord<HeartbeatRecord>(entry.value, 'worker') : undefined;
          if (record !== undefined && record.state === 'fenced')
            return this.claim(unit, leaseRevision, holder, 'holder fenced');
          if (record !== undefined && entry!.revision !== seen?.revision) {
            this.workers.set(holder, { revision: entry!.revision, seenAt: performance.now(), record });
            return this.schedule();
          }
          this.claim(unit, leaseRevision, holder, 'lease expired');
        },
        (error: unknown) => {
          if (this.local.get(unit) === mine) this.local.delete(unit);
          // Not at once: a read failing fast (no responders) would be asked again in a busy loop.
          this.retryAt.set(unit, performance.now() + this.retryDelayMs);
          this.repeated.failed(
            `the read of the heartbeat of ${holder}`,
            error,
            `partition ${unit}, whose lease it holds, is taken only once it is read; retrying in ${this.retryDelayMs} ms`,
          );
          this.schedule();
        },
      ),
    );
  }

  private start(unit: string, mine: LocalUnit, lease: UnitLease): void {
    let started: Promise<void>;
    try {
      started = this.options.host.start(unit, lease);
    } catch (error) {
      started = Promise.reject(error);
    }
    this.track(
      started.then(
        () => {
          if (this.local.get(unit) !== mine) return;
          mine.phase = 'running';
          mine.runningSince = performance.now();
          this.owned.add(unit);
          this.backoff.delete(unit);
          this.emit({ type: 'started', unit, lease });
          this.schedule();
        },
        (error: unknown) => {
          // A start refused because this worker's hold lapsed is not the unit's failure: the guard
          // fences this worker (which abandons the unit) before the failure could be counted.
          if (!this.guard() || this.local.get(unit) !== mine) return;
          const why = error instanceof Error ? error.message : String(error);
          this.failed(unit, `partition ${unit} could not start: ${why}`, why);
          this.emit({ type: 'start-failed', unit, error });
          mine.phase = 'releasing';
          this.finishRelease(unit, mine, lease);
        },
      ),
    );
  }

  confirmed(): boolean {
    return (
      (this.state === 'active' || this.state === 'leaving') &&
      performance.now() - this.lastAckedSentAt < this.fenceAfterMs
    );
  }

  unitEnded(unit: string, reason: string, failure = false): void {
    const mine = this.local.get(unit);
    if (mine === undefined || mine.phase !== 'running' || mine.lease === undefined) return;
    this.owned.delete(unit);
    const what = `partition ${unit} stopped on its own (${reason})`;
    if (failure) this.failed(unit, what, reason);
    else {
      const delayMs = this.failureDelay(1);
      this.backoff.set(unit, { until: performance.now() + delayMs, delayMs });
      this.log.warn(`${what}; released it, retrying in ${delayMs} ms`);
    }
    this.emit({ type: 'ended', unit, reason });
    mine.phase = 'releasing';
    this.finishRelease(unit, mine, mine.lease);
  }

  /** How long every worker waits before starting a unit that failed `failures` times in a row. */
  private failureDelay(failures: number): number {
    return Math.min(MAX_FAILURE_BACKOFF_MS, this.leaseTtlMs * 2 ** Math.min(30, failures - 1));
  }

  /**
   * The unit failed here: its failures in a row grow in the group's bucket (so the back-off holds on
   * every worker), and at the limit it is marked failed. Logs what happens next.
   */
  private failed(unit: string, what: string, why: string): void {
    const seen = this.failures.get(unit);
    const failures = (seen?.record?.failures ?? 0) + 1;
    const failed = failures >= this.maxUnitFailures;
    const delayMs = this.failureDelay(failures);
    this.backoff.set(unit, { until: performance.now() + delayMs, delayMs });
    if (failed)
      this.log.error(
        `${what}; released it. It failed ${failures} times in a row: marked it failed, no worker starts it again until ` +
          `its record is cleared (nats kv del ${this.bucket} ${failureKey(unit)}; docs/scale-out.md, "A unit that fails")`,
      );
    else
      this.log.warn(`${what}; released it, retrying in ${delayMs} ms (failure ${failures} of ${this.maxUnitFailures})`);
    this.emit({ type: 'unit-failed', unit, failures, failed });
    const record: FailureRecord = {
      unit,
      failures,
      error: why,
      worker: this.workerId,
      at: new Date().toISOString(),
      failed,
    };
    this.track(
      this.kv.put(failureKey(unit), encodeRecord(record), { previousSeq: seen?.revision ?? 0 }).then(
        (revision) => {
          this.repeated.succeeded(`the record of the failures of ${unit}`);
          if ((this.failures.get(unit)?.revision ?? 0) >= revision) return;
          this.failures.set(unit, { revision, seenAt: performance.now(), record });
          this.options.host.failuresChanged?.(unit, unitFailure(record));
        },
        (error: unknown) => {
          if (isConflict(error)) this.log.debug(`the failures of ${unit} were recorded meanwhile by another worker`);
          else
            this.repeated.failed(
              `the record of the failures of ${unit}`,
              error,
              'this worker backs off on its own; the other workers may start the partition sooner',
            );
          this.refresh(unit, failureKey(unit));
        },
      ),
    );
  }

  /** Units that ran here for STABLE_RUN_TTLS without failing: their failures are forgotten. */
  private forgetStableFailures(now: number): void {
    for (const [unit, seen] of this.failures) {
      const mine = this.local.get(unit);
      if (
        seen.record === undefined ||
        seen.record.failed ||
        mine?.phase !== 'running' ||
        mine.runningSince === undefined ||
        now - mine.runningSince < STABLE_RUN_TTLS * this.leaseTtlMs ||
        this.forgetting.has(unit)
      )
        continue;
      this.forgetting.add(unit);
      this.track(
        this.kv
          .delete(failureKey(unit), { previousSeq: seen.revision })
          .then(
            () =>
              this.log.info(
                `partition ${unit} ran ${STABLE_RUN_TTLS} lease TTLs without failing: its failures are forgotten`,
              ),
            (error: unknown) => this.log.debug(`could not forget the failures of ${unit}: ${String(error)}`),
          )
          .finally(() => this.forgetting.delete(unit)),
      );
    }
  }

  private release(units: readonly string[], reason: 'rebalance' | 'leave'): void {
    this.log.info(`released ${units.join(',')} ${reason === 'rebalance' ? 'to rebalance' : '(leaving the group)'}`);
    this.emit({ type: 'released', units, reason });
    for (const unit of units) {
      const mine = this.local.get(unit)!;
      const lease = mine.lease!;
      mine.phase = 'stopping';
      this.owned.delete(unit);
      let stopped: Promise<void>;
      try {
        stopped = this.options.host.stop(unit);
      } catch (error) {
        stopped = Promise.reject(error);
      }
      // A stop that never ends would keep the lease here for ever (and close() waiting): after the
      // bound it is abandoned like a stop that failed.
      const limitMs = STOP_LIMIT_TTLS * this.leaseTtlMs;
      let timer: NodeJS.Timeout | undefined;
      const bounded = Promise.race([
        stopped,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`it had not stopped after ${limitMs} ms`)), limitMs);
        }),
      ]).finally(() => clearTimeout(timer));
      this.track(
        bounded.then(
          () => {
            if (this.local.get(unit) !== mine) return;
            mine.phase = 'releasing';
            this.finishRelease(unit, mine, lease);
          },
          (error: unknown) => {
            if (this.local.get(unit) !== mine) return;
            this.log.warn(
              `partition ${unit} did not stop cleanly (${error instanceof Error ? error.message : String(error)}): abandoned it; its next owner replays from its last checkpoint`,
            );
            this.options.host.abandon(unit, 'its graceful stop failed');
            mine.phase = 'releasing';
            this.finishRelease(unit, mine, lease);
          },
        ),
      );
    }
  }

  /** Deletes a lease this worker no longer runs, if it is still the one it holds. */
  private finishRelease(unit: string, mine: LocalUnit, lease: UnitLease): void {
    this.track(
      this.kv
        .delete(leaseKey(unit), { previousSeq: lease.revision })
        .then(
          // The view shows the lease as ours until the watch delivers the delete: not an orphan to delete again.
          () => {
            this.repeated.succeeded(`the release of the lease of ${unit}`);
            this.retryAt.set(unit, performance.now() + this.retryDelayMs);
          },
          (error: unknown) => {
            if (isConflict(error)) this.log.debug(`lease of ${unit} not deleted: another worker holds it already`);
            else
              this.repeated.failed(
                `the release of the lease of ${unit}`,
                error,
                'reading it again; a lease still naming this worker is deleted on the next reconcile',
              );
            this.refresh(unit, leaseKey(unit));
          },
        )
        .finally(() => {
          if (this.local.get(unit) === mine) this.local.delete(unit);
          this.schedule();
        }),
    );
  }

  private deleteLease(unit: string, revision: number): void {
    const mine: LocalUnit = { phase: 'releasing', lease: { unit, worker: this.workerId, revision } };
    this.local.set(unit, mine);
    this.finishRelease(unit, mine, mine.lease!);
  }

  // ---- leaving --------------------------------------------------------------------------------------

  close(): Promise<void> {
    this.closing ??= this.leave();
    return this.closing;
  }

  private async leave(): Promise<void> {
    const wasActive = this.state === 'active';
    const connected = !this.options.connection.isClosed();
    this.state = 'leaving';
    this.watchSettled?.();
    if (wasActive && connected) {
      // Tell the others first, so they stop assigning units to this worker while it hands them over.
      await this.kv.put(workerKey(this.workerId), encodeRecord(this.heartbeat('leaving'))).catch(() => undefined);
      for (;;) {
        this.reconcile();
        if (this.local.size === 0 || this.state !== 'leaving' || this.inFlight.size === 0) break;
        await Promise.race([...this.inFlight]);
      }
    }
    // Anything left (the connection is gone, or the worker was fenced): abandon without writing.
    for (const unit of [...this.local.keys()])
      this.abandon(unit, 'the worker left the group without a connection to hand it over');
    this.state = 'closed';
    clearInterval(this.heartbeatTimer);
    clearInterval(this.livenessTimer);
    clearTimeout(this.fenceTimer);
    if (connected && !this.options.connection.isClosed())
      await this.kv.delete(workerKey(this.workerId)).catch(() => undefined);
    this.watcher?.stop();
    this.watchSettled?.();
    await this.watching;
    await Promise.allSettled([...this.inFlight]);
    if (wasActive) this.log.info(`worker ${this.workerId} left the group of job ${this.options.job}`);
    this.emit({ type: 'closed' });
    this.subject.complete();
  }

  // ---- helpers --------------------------------------------------------------------------------------

  private emit(event: GroupEvent): void {
    this.subject.next(event);
  }

  private track(promise: Promise<unknown>): void {
    const tracked = promise
      .catch((error: unknown) => this.log.error(`group ${this.bucket}: ${String(error)}`))
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }
}

/** A compare-and-set refused because the key's revision moved: an answer, not a failure to retry. */
function isConflict(error: unknown): boolean {
  return error instanceof natsJetStream().JetStreamApiError && error.code === WRONG_LAST_SEQUENCE;
}

function unitFailure(record: FailureRecord): UnitFailure {
  const { failures, error, worker, at, failed } = record;
  return { failures, error, worker, at, failed };
}

const self = currentProcessIdentity();

/**
 * A worker of this host whose process is gone (a crash, SIGKILL): its units are free at once, as a
 * restarted process expects, rather than after the lease TTL. Elsewhere only the TTL tells.
 */
function exitedHere(record: HeartbeatRecord): boolean {
  return record.host === self.hostname && record.pid !== self.pid && !self.isAlive(record.pid);
}
