// NATS mode: this process is one worker of the job's group. It connects, creates the job's streams
// (input, output, dead letters, and with --scale-out one keyed exchange per stateful stage) and runs
// the units it is assigned (docs/scale-out.md): the job's one unit `main`, or its share of a
// scaled-out job's units.
import type { Subscription } from 'rxjs';
import type { PreparedRuntime } from '../create-runtime.ts';
import type { NatsRuntimeOptions } from './run-nats-job.ts';
import { jobSubjects, logConnectionEvents } from './run-nats-job.ts';
import { replayedStreams, warnOfReplayExposure } from './replay-warning.ts';
import { connectNats, type NatsLink } from './connection.ts';
import { resolveNatsSettings } from './connection-options.ts';
import { planJobUnits, planWholeJob, WHOLE_JOB_UNIT } from './job-units.ts';
import { ConfigError } from '../errors.ts';
import { ensureJobStreams } from './job-streams.ts';
import { requiredDuplicateWindowMs } from './msg-id.ts';
import { DEFAULT_RETRY_POLICY, retryTransient } from './retry.ts';
import { joinWorkerGroup, type WorkerGroup } from '../group/index.ts';
import type { Logger } from '../log.ts';
import { WorkerRuntime, type UnitAssignment } from './worker-runtime.ts';
import type { JobUnit } from './job-units.ts';
import type { UnitEnvironment } from './unit-runtime.ts';
import { openNatsJobFiles, type NatsJobFiles } from './nats-job-files.ts';
import { serveWorkerStateApi, type WorkerStateApi } from '../state-api/serve-nats-state-api.ts';
import { checkpointedParallelism } from './unit-layout.ts';
import { DEFAULT_LEASE_TTL_MS } from '../group/index.ts';
import { createGroupBucket, groupBucketName } from '../group/group-bucket.ts';
import { leaderKvReader } from './kv-leader-get.ts';
import { describeLayout, LAYOUT_KEY, settleJobLayout, type SettledLayout } from './job-layout.ts';
import { rescaleUnits } from './rescale-units.ts';
import { LayoutMismatchError } from '../rescale-errors.ts';
import { hostname } from 'node:os';

/** How a worker joins its job's group, given its connection and the job's units. */
export type AssignmentFactory = (link: NatsLink, units: readonly JobUnit[]) => UnitAssignment;

export interface WorkerOptions extends NatsRuntimeOptions {
  /**
   * Split the job into units at its keyed exchanges (--scale-out), which the group's workers share;
   * false: the whole job is one unit that one worker runs while the others stand by. @default false
   */
  readonly split?: boolean;
  /** Replicas of every stream and bucket the job creates (3 on a 3-node cluster). @default 1 */
  readonly replicas?: number;
  /** How long a silent worker keeps its units before the others take them over. @default 5000 */
  readonly leaseTtlMs?: number;
  /**
   * Subjects the input is pre-partitioned into (`<job>.<source>.<p>`). @default the source's
   * `partitions`, else one unpartitioned input subject
   */
  readonly inputPartitions?: number;
  /** Failures in a row after which a unit is marked failed (WorkerGroupOptions.maxUnitFailures). @default 8 */
  readonly maxUnitFailures?: number;
  /** UnitEnvironment.publishRetryMs: how long a unit's publishes are retried before it fails. @default 120000 */
  readonly publishRetryMs?: number;
  /** How units are assigned. @default the job's worker group on NATS (runtime/group) */
  readonly assignment?: AssignmentFactory;
}

/** Units assigned by the job's worker group: membership and leases in its KV bucket. */
export function groupAssignment(
  link: NatsLink,
  units: readonly JobUnit[],
  options: {
    readonly job: string;
    readonly logger: Logger;
    readonly replicas: number;
    readonly leaseTtlMs: number | undefined;
    readonly maxUnitFailures?: number | undefined;
    /** The layout record this worker checked before joining (see settleJobLayout). */
    readonly layout?: SettledLayout;
  },
): UnitAssignment {
  let group: WorkerGroup | undefined;
  return {
    async join(host) {
      group = await joinWorkerGroup({
        connection: link.nc,
        job: options.job,
        units: units.map((unit) => unit.name),
        replicas: options.replicas,
        ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
        ...(options.maxUnitFailures === undefined ? {} : { maxUnitFailures: options.maxUnitFailures }),
        logger: options.logger,
        host,
      });
      const { layout } = options;
      if (layout === undefined) return;
      // A worker that began rescaling between this worker's check and its first heartbeat did not
      // see it alive: this one must not run the old layout beside the rescale.
      const latest = await leaderKvReader(link.nc, groupBucketName(options.job));
      const entry = await retryTransient(() => latest(LAYOUT_KEY), DEFAULT_RETRY_POLICY, new AbortController().signal);
      if (entry?.revision !== layout.revision) {
        await group.close();
        throw new LayoutMismatchError(
          options.job,
          'the layout ',
          'being changed',
          describeLayout(layout.record),
          'another worker started rescaling the job while this one joined; start this one again once it is done',
        );
      }
    },
    leave: async () => {
      await group?.close();
    },
    unitEnded: (unit, reason, failure) => group?.unitEnded(unit, reason, failure),
    confirmed: () => group?.confirmed() ?? false,
  };
}

export async function openWorkerRuntime(options: WorkerOptions): Promise<PreparedRuntime> {
  const { job, logger, checkpointIntervalMs } = options;
  const replicas = options.replicas ?? 1;
  const split = options.split === true;
  if (!split && (options.inputPartitions ?? job.source.partitions) !== undefined) {
    throw new ConfigError(
      `job ${job.name} reads a pre-partitioned input (source ${job.source.name}: ${options.inputPartitions ?? job.source.partitions} partitions), ` +
        'which a scaled-out job reads, one unit per partition: add --scale-out',
    );
  }
  const settings = resolveNatsSettings({ ...options.transport.connection, nats: options.transport.servers });
  const link = await connectNats({
    ...settings,
    name: settings.name === 'stator' ? `stator ${job.name}` : settings.name,
  });
  const events = logConnectionEvents(link, logger, settings.maxOutageMs);
  let checkpointLink: NatsLink | undefined;
  let checkpointEvents: Subscription | undefined;
  let jobFiles: NatsJobFiles | undefined;
  let stateApi: WorkerStateApi | undefined;
  let assignment: UnitAssignment | undefined;
  let replayWatch: Subscription | undefined;
  try {
    const inputPartitions = split ? (options.inputPartitions ?? job.source.partitions) : undefined;
    const units = split ? planJobUnits(job, inputPartitions ?? 1) : planWholeJob(job);
    const stages = [...new Set(units.flatMap((unit) => (unit.stage === undefined ? [] : [unit.stage])))];
    const subjects = jobSubjects(job);
    const duplicateWindowMs = requiredDuplicateWindowMs({ checkpointIntervalMs, maxOutageMs: settings.maxOutageMs });
    // Workers starting together on a cluster race to create the streams, and an R3 creation can
    // time out while the cluster is busy: retried like any "not now" (creating is idempotent).
    const streams = await retryTransient(
      () =>
        ensureJobStreams(link, {
          job: job.name,
          inputSubject: subjects.input,
          partitionedInput: inputPartitions !== undefined,
          outputSubject: subjects.output,
          exchangeStages: stages,
          duplicateWindowMs,
          replicas,
        }),
      DEFAULT_RETRY_POLICY,
      new AbortController().signal,
    );
    for (const binding of [streams.input, ...streams.exchanges.values(), streams.output, streams.deadLetters]) {
      if (binding.created) logger.info(`created stream ${binding.stream} for ${binding.subject}`);
      if (binding.addedSubjects !== undefined)
        logger.info(`added ${binding.addedSubjects.join(', ')} to stream ${binding.stream} (created by stator)`);
    }
    // Read before this worker publishes anything: what earlier runs stored is what a replay may repeat.
    const stored = await replayedStreams(link, [streams.output.stream, streams.deadLetters.stream]);
    checkpointLink = await connectNats({ ...settings, name: `${link.settings.name} checkpoints` });
    checkpointEvents = checkpointLink.events$.subscribe((event) => {
      if (event.type === 'outage-exceeded') logger.error(`checkpoint connection: ${event.error.message}`);
    });
    // Every unit of this worker shares one area; every worker of the job shares its bucket.
    jobFiles = await openNatsJobFiles(options, settings, link, replicas);
    // Dapr's routes for every key (with --http); each stage unit logs and applies its partition's writes.
    // Its state stream is created like the job's others (an R3 creation may time out: retried).
    const stateLink = checkpointLink;
    stateApi = await retryTransient(
      () =>
        serveWorkerStateApi({
          job,
          link,
          checkpointLink: stateLink,
          http: options.http,
          duplicateWindowMs,
          replicas,
          logger,
          confirmed: () => assignment?.confirmed?.() ?? true,
          ...(split ? {} : { unitOf: () => WHOLE_JOB_UNIT }),
          ...options.stateApi,
        }),
      DEFAULT_RETRY_POLICY,
      new AbortController().signal,
    );
    const baseEnv: UnitEnvironment = {
      job,
      link,
      checkpointLink,
      streams,
      inputPartitions,
      logger,
      checkpointIntervalMs,
      maxRetries: options.maxRetries,
      publishRetryMs: options.publishRetryMs,
      replicas,
      turnTimer: options.turnTimer,
      files: jobFiles.files,
      localState: options.localState,
      stateApi,
    };
    // Before joining: every worker of the job runs one layout (a different one is refused while the
    // job runs, and rescales it while none runs).
    const stageParallelism: Record<string, number> = {};
    for (const unit of units) if (unit.stage !== undefined) stageParallelism[unit.stage] = unit.partition + 1;
    const layout = await settleJobLayout({
      kv: await createGroupBucket(checkpointLink.nc, job.name, replicas),
      latest: await leaderKvReader(checkpointLink.nc, groupBucketName(job.name)),
      job: job.name,
      worker: `${hostname()}-${process.pid}`,
      wanted: split
        ? { inputPartitions: inputPartitions ?? null, parallelism: stageParallelism }
        : { inputPartitions: null, parallelism: {}, wholeJob: true },
      checkpointed: () => (split ? checkpointedParallelism(checkpointLink!, job.name, units) : Promise.resolve({})),
      leaseTtlMs: options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
      logger,
      rescale: (lock) => rescaleUnits({ env: baseEnv, inputPartitions: inputPartitions ?? 1, lock, logger }),
    });
    const env: UnitEnvironment = { ...baseEnv, generations: layout.record.generations };
    assignment = (
      options.assignment ??
      ((joined, all) =>
        groupAssignment(joined, all, {
          job: job.name,
          logger,
          replicas,
          leaseTtlMs: options.leaseTtlMs,
          maxUnitFailures: options.maxUnitFailures,
          layout,
        }))
    )(link, units);
    const runtime = new WorkerRuntime({ env, units, assignment, logger });
    replayWatch = warnOfReplayExposure(runtime, stored, {
      checkpointIntervalMs,
      maxOutageMs: settings.maxOutageMs,
      logger,
    });
    for (const closing of [link, checkpointLink, jobFiles.link]) {
      void closing.closed().then((error) => {
        if (error !== undefined) runtime.fail(error);
      });
    }
    logger.info(
      `running job ${job.name} as a worker on NATS ${settings.servers.join(',')} (server ${link.features.version}): ` +
        `${split ? `${units.length} units (${units.map((unit) => unit.name).join(', ')})` : `one unit, ${WHOLE_JOB_UNIT} (checkpoints in stator-${job.name}-${WHOLE_JOB_UNIT})`}, ` +
        `${streams.input.subject}${inputPartitions === undefined ? '' : `.{0..${inputPartitions - 1}}`} -> ${streams.output.subject}`,
    );
    return {
      runtime,
      connection: link,
      close: async () => {
        replayWatch?.unsubscribe();
        await stateApi?.close();
        await jobFiles?.close();
        events.unsubscribe();
        checkpointEvents?.unsubscribe();
        await checkpointLink?.close();
        await link.close();
      },
    };
  } catch (error) {
    await stateApi?.close();
    await jobFiles?.close();
    events.unsubscribe();
    checkpointEvents?.unsubscribe();
    await checkpointLink?.close();
    await link.close();
    throw error;
  }
}
