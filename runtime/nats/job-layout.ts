// The layout a scaled-out job's workers agree on: how many partitions its input has and each keyed
// stage's parallelism, recorded under the key `layout` of the job's group bucket by the first worker.
// A worker compares its own before it joins: a different one is refused while the job's workers
// run (they would plan different units over the same subjects), and rescales the job when none runs
// (docs/scale-out.md, "Rescaling"). The record also counts each stage's rescales: the generation
// names the stage units' message ids, so a unit name reused by a later layout never repeats an id
// still inside the streams' duplicate window.
import type { KV } from '@nats-io/kv';
import type { Logger } from '../log.ts';
import { LayoutMismatchError, RescaleError } from '../rescale-errors.ts';
import { isWorkerKey } from '../group/group-bucket.ts';
import { DEFAULT_RETRY_POLICY, isTransientNatsError, retryTransient } from './retry.ts';
import type { LeaderKvRead } from './kv-leader-get.ts';

/** The key of the layout record in the group bucket (not a `worker.` or `lease.` key). */
export const LAYOUT_KEY = 'layout';

/** What every worker of a job must agree on. */
export interface JobLayout {
  /** Partitions of the input subject (`<job>.<source>.<p>`); null: the one unpartitioned subject. */
  readonly inputPartitions: number | null;
  /** Partitions of each keyed stage. */
  readonly parallelism: Readonly<Record<string, number>>;
  /**
   * The job runs as one unit (`main`, no --scale-out): its partitions restore by key group within
   * it, so their counts are not part of the layout. @default false
   */
  readonly wholeJob?: boolean;
}

/** A rescale under way: its worker holds the record (refreshing it) until the new layout is committed. */
export interface RescaleProgress {
  /** The layout the job ran with; the record's own fields are the target. */
  readonly from: LayoutRecord;
  /** `<host>-<pid>` of the rescaling worker, for the log of those waiting. */
  readonly by: string;
  /** Milliseconds since it started, rewritten with every refresh (the refresh is what waiters watch). */
  readonly refreshedAt: string;
  /** Set once the old layout has read all its exchange input: what the new units start from. */
  readonly drained?: {
    /** Per rescaled stage, its exchange stream's last sequence: the new units read after it. */
    readonly boundary: Readonly<Record<string, number>>;
    /** The old units' checkpoints after the drain (a unit without one has no state). */
    readonly checkpoints: Readonly<Record<string, number>>;
  };
}

export interface LayoutRecord extends JobLayout {
  /** Per keyed stage, how many times it was rescaled (absent: 0). */
  readonly generations: Readonly<Record<string, number>>;
  readonly rescale?: RescaleProgress;
}

/** The stage's generation in `layout`. */
export function generationOf(layout: Pick<LayoutRecord, 'generations'>, stage: string): number {
  return layout.generations[stage] ?? 0;
}

export function encodeLayout(record: LayoutRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(record));
}

export function decodeLayout(bytes: Uint8Array): LayoutRecord | undefined {
  try {
    const record = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LayoutRecord>;
    if (typeof record.parallelism !== 'object' || record.parallelism === null) return undefined;
    return {
      inputPartitions: typeof record.inputPartitions === 'number' ? record.inputPartitions : null,
      parallelism: record.parallelism,
      ...(record.wholeJob === true ? { wholeJob: true } : {}),
      generations: record.generations ?? {},
      ...(record.rescale === undefined ? {} : { rescale: record.rescale }),
    };
  } catch {
    return undefined;
  }
}

/** Stages whose parallelism differs between two layouts (of one job: the same stages). */
export function rescaledStages(from: JobLayout, to: JobLayout): string[] {
  return Object.keys(to.parallelism).filter((stage) => from.parallelism[stage] !== to.parallelism[stage]);
}

/** The record while a rescale holds it (it is refreshed meanwhile). */
export interface LayoutLock {
  readonly record: LayoutRecord;
  /** Records progress (compare-and-set). @throws when another worker took the rescale over. */
  update(record: LayoutRecord): Promise<void>;
}

export interface SettleLayoutOptions {
  /** The job's group bucket: writes go through it. */
  readonly kv: KV;
  /** Reads of the group bucket, from its stream's leader: they decide whether to write. */
  readonly latest: LeaderKvRead;
  readonly job: string;
  /** `<host>-<pid>`, named in the record while this worker rescales. */
  readonly worker: string;
  /** This worker's layout. */
  readonly wanted: JobLayout;
  /** Per stage, the parallelism the units' checkpoints recorded (a job whose group has no record yet). */
  readonly checkpointed: () => Promise<Readonly<Record<string, number>>>;
  readonly leaseTtlMs: number;
  readonly logger: Logger;
  /**
   * Moves the job from `lock.record.rescale.from` to `lock.record`'s layout; resolves once every new
   * unit has its checkpoint.
   */
  readonly rescale: (lock: LayoutLock) => Promise<void>;
  /** Polling interval while another worker rescales. @default 250 */
  readonly pollMs?: number;
}

/** The layout this worker runs with, and the record's revision it was checked against. */
export interface SettledLayout {
  readonly record: LayoutRecord;
  readonly revision: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A request to the bucket, retried while JetStream says "not now" (a bucket just created on a cluster,
 * a server of the cluster down).
 */
function retried<T>(operation: () => Promise<T>): Promise<T> {
  return retryTransient(operation, DEFAULT_RETRY_POLICY, new AbortController().signal);
}

/**
 * Writes `record` over the revision `revision` (compare-and-set), retried while JetStream says "not
 * now". A retry after a write that was stored after all fails its compare-and-set: the record on the
 * stream's leader tells whether it is this write. Resolves with the new revision, or undefined when
 * another write came first.
 * @throws the last error when the attempts ran out (whether the write was stored is then unknown).
 */
async function updateLayout(
  kv: KV,
  latest: LeaderKvRead,
  record: LayoutRecord,
  revision: number,
): Promise<number | undefined> {
  const value = encodeLayout(record);
  try {
    return await retried(() => kv.update(LAYOUT_KEY, value, revision));
  } catch (error) {
    if (isTransientNatsError(error)) throw error;
    const entry = await retried(() => latest(LAYOUT_KEY));
    const stored =
      entry !== null && entry.operation === 'PUT' && entry.revision > revision && sameBytes(entry.value, value);
    return stored ? entry.revision : undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function sameLayout(a: JobLayout, b: JobLayout): boolean {
  if ((a.wholeJob === true) !== (b.wholeJob === true)) return false;
  if (a.wholeJob === true) return true;
  return (
    a.inputPartitions === b.inputPartitions && rescaledStages(a, b).length === 0 && rescaledStages(b, a).length === 0
  );
}

/**
 * Agrees on the job's layout before the worker joins: records this worker's when the job has none,
 * accepts an equal one, waits while another worker rescales, and rescales the job itself when it
 * differs only in stages' parallelism and no worker of the job is alive.
 * @throws LayoutMismatchError when the input partitions differ, or a stage's parallelism differs while
 * a worker of the job is alive.
 */
export async function settleJobLayout(options: SettleLayoutOptions): Promise<SettledLayout> {
  const { kv, latest, job, wanted, logger } = options;
  let waitingFor: { revision: number; since: number } | undefined;
  for (;;) {
    const entry = await retried(() => latest(LAYOUT_KEY));
    const record = entry !== null && entry.operation === 'PUT' ? decodeLayout(entry.value) : undefined;
    if (entry === null || record === undefined) {
      // The first worker of the job, or of a job from before the record: its checkpoints say what ran.
      const checkpointed = await options.checkpointed();
      const initial: LayoutRecord = {
        inputPartitions: wanted.inputPartitions,
        parallelism: { ...wanted.parallelism, ...checkpointed },
        ...(wanted.wholeJob === true ? { wholeJob: true } : {}),
        generations: {},
      };
      try {
        // A retry after a write that was stored after all fails its compare-and-set: the read below tells.
        await retried(() =>
          entry === null || entry.operation !== 'PUT'
            ? kv.create(LAYOUT_KEY, encodeLayout(initial))
            : kv.update(LAYOUT_KEY, encodeLayout(initial), entry.revision),
        );
      } catch (error) {
        // Another worker wrote it first: compare with that one.
        if ((await retried(() => latest(LAYOUT_KEY)))?.operation !== 'PUT') throw error;
      }
      continue;
    }
    if (record.rescale !== undefined) {
      const now = performance.now();
      if (waitingFor?.revision !== entry.revision) {
        if (waitingFor === undefined)
          logger.info(`waiting: worker ${record.rescale.by} is rescaling job ${job} (${describeRescale(record)})`);
        waitingFor = { revision: entry.revision, since: now };
      } else if (now - waitingFor.since > 3 * options.leaseTtlMs) {
        // Its worker stopped refreshing the record (it died). Only a worker of the target layout can
        // finish the rescale: another one would wait for ever, so it says what to start instead.
        if (!sameLayout(record, wanted)) throw staleRescaleError(job, record, wanted);
        logger.warn(`worker ${record.rescale.by} stopped rescaling job ${job}; taking the rescale over`);
        const taken: LayoutRecord = {
          ...record,
          rescale: { ...record.rescale, by: options.worker, refreshedAt: stamp() },
        };
        const revision = await updateLayout(kv, latest, taken, entry.revision).catch(() => undefined);
        if (revision !== undefined) await runLocked(options, taken, revision);
        waitingFor = undefined;
        continue;
      }
      await sleep(options.pollMs ?? 250);
      continue;
    }
    waitingFor = undefined;
    if (sameLayout(record, wanted)) return { record, revision: entry.revision };
    if ((record.wholeJob === true) !== (wanted.wholeJob === true)) {
      // No rescale between the two: a whole job's state is one checkpoint chain, a split job's one per unit.
      throw new LayoutMismatchError(
        job,
        '',
        record.wholeJob === true ? 'one unit (no --scale-out)' : '--scale-out',
        wanted.wholeJob === true ? 'one unit (no --scale-out)' : '--scale-out',
        record.wholeJob === true
          ? `start this worker without --scale-out (a job's state cannot move from its one checkpoint chain, stator-${job}-main, into units yet); ` +
              `to start the job over scaled out, without its state: stop its workers, clear its checkpoints ` +
              `(stator checkpoints clear --job ${job} --nats <url>) and delete its layout record (nats kv del stator-${job}-group layout)`
          : `start this worker with --scale-out (a scaled-out job's units cannot be merged into one yet)`,
      );
    }
    if (record.inputPartitions !== wanted.inputPartitions) {
      throw new LayoutMismatchError(
        job,
        '--input-partitions ',
        String(record.inputPartitions ?? 'none'),
        String(wanted.inputPartitions ?? 'none'),
        `every worker must read the input in the same partitions; start this one with ` +
          `${record.inputPartitions === null ? 'no --input-partitions' : `--input-partitions ${record.inputPartitions}`} ` +
          `(a job's input partitions cannot change: producers choose the subjects)`,
      );
    }
    // Only stages' parallelism differs: rescale, unless a worker of the job runs (checked under the lock).
    const target: LayoutRecord = {
      ...record,
      parallelism: { ...wanted.parallelism },
      rescale: { from: record, by: options.worker, refreshedAt: stamp() },
    };
    const revision = await updateLayout(kv, latest, target, entry.revision);
    if (revision === undefined) continue; // another worker changed the record meanwhile
    const alive = await liveWorkers(kv, latest, options.leaseTtlMs);
    if (alive.length > 0) {
      await updateLayout(kv, latest, record, revision).catch(() => undefined);
      const stage = rescaledStages(record, wanted)[0]!;
      throw new LayoutMismatchError(
        job,
        `--parallelism ${stage}=`,
        String(record.parallelism[stage]),
        String(wanted.parallelism[stage]),
        `worker(s) ${alive.join(', ')} of the job run with the recorded layout; start this one with ` +
          `--parallelism ${stage}=${record.parallelism[stage]}, or stop every worker (SIGTERM) to rescale the job`,
      );
    }
    await runLocked(options, target, revision);
  }
}

/** A rescale to `target` whose worker stopped, seen by a worker started with another layout. */
function staleRescaleError(job: string, target: LayoutRecord, wanted: JobLayout): LayoutMismatchError {
  const by = target.rescale!.by;
  const advice = (option: string): string =>
    `worker ${by} started rescaling the job to this layout and stopped before it finished (its record unchanged ` +
    `for 3 lease TTLs); only a worker started with ${option} can finish the rescale: start one so, then this ` +
    `one with the same layout`;
  if (target.inputPartitions !== wanted.inputPartitions) {
    const recorded = target.inputPartitions === null ? 'none' : String(target.inputPartitions);
    return new LayoutMismatchError(
      job,
      '--input-partitions ',
      recorded,
      String(wanted.inputPartitions ?? 'none'),
      advice(target.inputPartitions === null ? 'no --input-partitions' : `--input-partitions ${recorded}`),
    );
  }
  const stage = rescaledStages(wanted, target)[0] ?? rescaledStages(target, wanted)[0]!;
  return new LayoutMismatchError(
    job,
    `--parallelism ${stage}=`,
    String(target.parallelism[stage]),
    String(wanted.parallelism[stage]),
    advice(`--parallelism ${stage}=${target.parallelism[stage]}`),
  );
}

/** Runs the rescale while refreshing the lock, then commits the new layout (a new generation per rescaled stage). */
async function runLocked(options: SettleLayoutOptions, locked: LayoutRecord, lockedRevision: number): Promise<void> {
  const { kv, latest } = options;
  let record = locked;
  let revision = lockedRevision;
  let lost: unknown;
  let writing = Promise.resolve();
  // Retried while a server is down: a timeout is no proof that another worker took the rescale over.
  const write = (next: LayoutRecord): Promise<void> => {
    writing = writing.then(async () => {
      if (lost !== undefined) throw lost;
      let written: number | undefined;
      try {
        written = await updateLayout(kv, latest, next, revision);
      } catch (error) {
        lost = new Error(`the rescale of job ${options.job} could not record its progress: ${String(error)}`, {
          cause: error,
        });
        throw lost;
      }
      if (written === undefined) {
        lost = new Error(`the rescale of job ${options.job} was taken over by another worker`);
        throw lost;
      }
      revision = written;
      record = next;
    });
    return writing;
  };
  // One refresh at a time: while a write waits for a server, refreshes must not queue up behind it.
  let refreshing = false;
  const refresh = setInterval(
    () => {
      const progress = record.rescale;
      if (progress === undefined || refreshing) return;
      refreshing = true;
      write({ ...record, rescale: { ...progress, refreshedAt: stamp() } })
        .catch(() => {})
        .finally(() => (refreshing = false));
    },
    Math.max(100, Math.floor(options.leaseTtlMs / 3)),
  );
  try {
    await options.rescale({
      get record() {
        return record;
      },
      update: (next) => write(next),
    });
  } catch (error) {
    // A refusal comes before anything is written: the job keeps its old layout.
    if (error instanceof RescaleError) {
      clearInterval(refresh);
      await write(record.rescale!.from).catch(() => undefined);
    }
    throw error;
  } finally {
    clearInterval(refresh);
  }
  await writing;
  const from = record.rescale!.from;
  const generations = { ...record.generations };
  for (const stage of rescaledStages(from, record)) generations[stage] = generationOf(from, stage) + 1;
  const { rescale: _done, ...layout } = record;
  await write({ ...layout, generations });
  options.logger.info(`job ${options.job} now runs with ${describeLayout(record)} (was ${describeLayout(from)})`);
}

/**
 * The job's workers whose heartbeat is alive: present, and rewritten within one TTL. Dead ones'
 * entries are deleted (compare-and-set on the revision seen), as the group itself would.
 */
async function liveWorkers(kv: KV, latest: LeaderKvRead, leaseTtlMs: number): Promise<string[]> {
  const seen = new Map<string, number>();
  for (const key of await retried(async () => {
    const keys: string[] = [];
    for await (const key of await kv.keys('worker.>')) keys.push(key);
    return keys;
  })) {
    if (!isWorkerKey(key)) continue;
    const entry = await retried(() => latest(key));
    if (entry !== null && entry.operation === 'PUT') seen.set(key, entry.revision);
  }
  if (seen.size === 0) return [];
  // A heartbeat is rewritten every TTL/3: one unchanged for a TTL (and a margin) has stopped.
  await sleep(leaseTtlMs + Math.floor(leaseTtlMs / 3));
  const alive: string[] = [];
  for (const [key, revision] of seen) {
    // From the leader: a lagging replica would show the revision seen and call a live worker dead.
    const entry = await retried(() => latest(key));
    if (entry === null || entry.operation !== 'PUT') continue;
    if (entry.revision !== revision) alive.push(key.slice('worker.'.length));
    else await kv.delete(key, { previousSeq: revision }).catch(() => undefined);
  }
  return alive;
}

const stamp = (): string => new Date().toISOString();

export function describeLayout(layout: JobLayout): string {
  if (layout.wholeJob === true) return 'one unit';
  const stages = Object.entries(layout.parallelism).map(([stage, n]) => `${stage}=${n}`);
  return `${stages.length === 0 ? 'no keyed stage' : `parallelism ${stages.join(',')}`}${layout.inputPartitions === null ? '' : `, ${layout.inputPartitions} input partitions`}`;
}

function describeRescale(record: LayoutRecord): string {
  return `from ${describeLayout(record.rescale!.from)} to ${describeLayout(record)}`;
}
