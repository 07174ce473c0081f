// One unit of a scaled-out job as a JobRuntime of its own: its input (the job's input subject, or
// its partition of a keyed exchange), its part of the job's steps, its output (the next exchange or
// the job's output subject) and its own checkpoint chain, so any worker can restore and run it.
import type { Job } from '../job/job.ts';
import type { Logger, LogFields } from '../log.ts';
import type { TurnTimer } from '../engine/turn-timer.ts';
import type { JobFiles } from '../../src/files/index.ts';
import { openJetStreamCheckpointStore } from '../checkpoint/index.ts';
import { jobCheckpoints } from '../embedded/job-checkpoints.ts';
import { createJobRuntime, type JobRuntime } from '../job-runtime.ts';
import { jobTaskRunners } from '../task-runners.ts';
import type { LocalState } from '../state-backends/local-state.ts';
import type { NatsLink } from './connection.ts';
import { exchangeSinkBinding } from './exchange-sink-binding.ts';
import { exchangeSourceBinding } from './exchange-source-binding.ts';
import { unitJobId, unitPartitions, type JobUnit } from './job-units.ts';
import { trimConsumed, type JobStreams } from './job-streams.ts';
import { MIN_DUPLICATE_WINDOW_MS } from './msg-id.ts';
import { natsSourceBinding } from './nats-source-binding.ts';
import type { StreamReaderBinding } from './stream-reader-binding.ts';
import { natsDeadLetterBinding, natsSinkBinding } from './nats-sink-binding.ts';
import { UnitAbandonedError } from './errors.ts';
import type { UnitStateApi, WorkerStateApi } from '../state-api/serve-nats-state-api.ts';

/** What every unit of a worker shares. */
export interface UnitEnvironment {
  readonly job: Job;
  /** The worker's data connection (inputs, exchanges, outputs). */
  readonly link: NatsLink;
  /** The worker's checkpoint connection (see openNatsRuntime for why it is separate). */
  readonly checkpointLink: NatsLink;
  readonly streams: JobStreams;
  /**
   * How many subjects the input is pre-partitioned into (`<input>.<p>`, one source unit each);
   * undefined: the one input subject.
   */
  readonly inputPartitions: number | undefined;
  readonly logger: Logger;
  readonly checkpointIntervalMs: number;
  readonly maxRetries: number | undefined;
  /**
   * How long a unit's output or exchange publish keeps failing with retryable errors (a stream
   * refusing messages, no acknowledgement) before the unit fails. @default the stream sink's 120000
   */
  readonly publishRetryMs?: number | undefined;
  /** Replicas of the checkpoint buckets a unit creates. */
  readonly replicas: number;
  readonly turnTimer?: TurnTimer | undefined;
  /** The job's file area (ctx.files), shared by every unit of the worker. */
  readonly files?: JobFiles | undefined;
  /** Where the units keep keyed state (the disk backend's working copies). @default all on the heap */
  readonly localState?: LocalState | undefined;
  /** The worker's state API: each stage unit's partition owner, command log and request subject. */
  readonly stateApi?: WorkerStateApi | undefined;
  /** Per keyed stage, how many times it was rescaled (the job's layout record). @default none */
  readonly generations?: Readonly<Record<string, number>>;
}

/** The source name under which a stage unit's exchange position is checkpointed. */
export const EXCHANGE_SOURCE = 'exchange';

/** A unit's runtime, and how far its reading is behind the end of its input subject. */
export interface UnitRuntime {
  readonly runtime: JobRuntime;
  /** Messages on the unit's input subject after its position; undefined while its input is not open. */
  inputLag(): number | undefined;
}

/**
 * Opens `unit`'s runtime (not yet run). `takeover` replaces a live checkpoint lease of the unit's
 * previous owner: the caller holds the unit's group lease, and the replaced lease fences that owner.
 * `beforeLease` runs right before the restore takes the lease, and throws if the caller no longer
 * holds the unit for sure.
 */
export async function openUnitRuntime(
  env: UnitEnvironment,
  unit: JobUnit,
  options: { readonly takeover: boolean; readonly beforeLease?: () => void },
): Promise<UnitRuntime> {
  const { job, link, streams } = env;
  // A whole job logs as NATS mode did before it ran as a group: without the unit on every line.
  const logger = unit.kind === 'job' ? env.logger : unitLogger(env.logger, unit.name);
  const store = await openJetStreamCheckpointStore({
    job: job.name,
    task: unit.name,
    connection: env.checkpointLink.nc,
    replicas: env.replicas,
  });
  let fatal: (error: unknown) => void = () => {};
  let input: StreamReaderBinding | undefined;
  // A former owner of the partition that still runs it finds its appends refused once this unit
  // claims the command log; its own unit then fails here with the same message.
  const unitState = env.stateApi?.forUnit(unitPartitions(unit), (error) =>
    fatal(new UnitAbandonedError(unit.name, error.message)),
  );
  const runtime = createJobRuntime({
    job: unit.job,
    ...jobTaskRunners(unit.job, env.files, env.localState),
    source: (entry, deadLetter) =>
      (input =
        unit.kind !== 'stage'
          ? natsSourceBinding(
              link,
              job.source,
              { stream: streams.input.stream, subject: inputSubjectOf(env, unit) },
              entry,
              deadLetter,
            )
          : exchangeSourceBinding(
              link,
              {
                name: EXCHANGE_SOURCE,
                stream: streams.names.exchangeStream(unit.stage!),
                subject: streams.names.exchangeSubject(unit.stage!, unit.partition),
                inputs: unit.inputs,
              },
              entry,
              deadLetter,
            )),
    sink: (deadLetter, fail) => {
      const output = unit.output;
      if (output.kind === 'sink')
        return natsSinkBinding(link, job.name, job.sink, streams.output.subject, deadLetter, fail, {
          // A whole job's outputs keep the ids `<job>:<sink>:<n>` they had before NATS mode ran as a group.
          ...(unit.kind === 'job' ? { stream: streams.output.stream } : { unit: unitIdName(env, unit) }),
          ...(env.publishRetryMs === undefined ? {} : { maxRetryMs: env.publishRetryMs }),
        });
      return exchangeSinkBinding(
        link,
        {
          job: job.name,
          unit: unitIdName(env, unit),
          from: unit.partition,
          keyBy: output.keyBy,
          parallelism: output.parallelism,
          subjectOf: (partition) => streams.names.exchangeSubject(output.stage, partition),
          grouping: jobTaskRunners(job).grouping,
          soleWriter: output.writers === 1,
          stream: streams.names.exchangeStream(output.stage),
          ...(env.publishRetryMs === undefined ? {} : { sink: { maxRetryMs: env.publishRetryMs } }),
        },
        deadLetter,
        fail,
      );
    },
    deadLetters: (fail) => natsDeadLetterBinding(link, streams.names, fail, { inputSubject: streams.input.subject }),
    checkpoints: jobCheckpoints({
      store,
      jobId: unitJobId(job.name, unit.name),
      logger,
      intervalMs: env.checkpointIntervalMs,
      onFatal: (error) => fatal(error),
      takeover: options.takeover,
      ...(options.beforeLease === undefined ? {} : { beforeLease: options.beforeLease }),
    }),
    logger,
    checkpointIntervalMs: env.checkpointIntervalMs,
    ...(env.maxRetries === undefined ? {} : { maxRetries: env.maxRetries }),
    turnTimer: env.turnTimer,
    ...(unit.kind === 'job'
      ? {}
      : {
          unit:
            unit.kind === 'stage' ? { onlyPartition: unit.partition, sourceInputs: unit.inputs } : { sourceInputs: 1 },
        }),
    ...(unitState === undefined ? {} : { stateOwner: unitState.owner }),
  });
  fatal = (error) => runtime.fail(error);
  if (unitState !== undefined) serveWhileRunning(runtime, unitState);
  if (unit.kind === 'stage') trimExchangeBehind(env, unit, runtime, logger);
  return { runtime, inputLag: () => input?.pendingMessages };
}

/** The unit answers state API requests for its partition from when it runs until it ends. */
function serveWhileRunning(runtime: JobRuntime, unitState: UnitStateApi): void {
  const watch = runtime.stateChanges.subscribe((state) => {
    if (state === 'running') unitState.serve();
    if (state === 'stopped' || state === 'failed') {
      void unitState.close();
      queueMicrotask(() => watch.unsubscribe());
    }
  });
}

/** What a source unit reads: the input subject, or its partition `<input>.<p>` of a pre-partitioned one. */
export function inputSubjectOf(env: Pick<UnitEnvironment, 'streams' | 'inputPartitions'>, unit: JobUnit): string {
  const subject = env.streams.input.subject;
  return env.inputPartitions === undefined ? subject : `${subject}.${unit.partition}`;
}

/**
 * The unit as its message ids name it: `<unit>@<g>` once its stage was rescaled g times, so the ids
 * of a unit name that an earlier layout also had (numbered from 0 again) never repeat that layout's.
 */
export function unitIdName(env: Pick<UnitEnvironment, 'generations'>, unit: JobUnit): string {
  const generation = unit.stage === undefined ? 0 : (env.generations?.[unit.stage] ?? 0);
  return generation === 0 ? unit.name : `${unit.name}@${generation}`;
}

/**
 * Purges the unit's exchange subject behind its checkpoints, so exchange streams hold only what a
 * restore may replay or a replay may re-publish. It trims below the checkpoint before the latest
 * committed one (a restore that falls back from an unreadable newest checkpoint to the one before
 * still finds its input), and only messages stored longer ago than the stream's duplicate window: an
 * upstream unit that replays re-publishes its messages with their ids, and nats-server (2.9.10
 * checked) forgets the id of a purged message when it restarts, as it rebuilds its dedupe memory from
 * the messages it stores. A message read before a checkpoint committed at local time t was stored
 * before t, so it is older than the window once the window has passed since t (clocks running at the
 * same rate, as leases assume).
 */
function trimExchangeBehind(env: UnitEnvironment, unit: JobUnit, runtime: JobRuntime, logger: Logger): void {
  const stream = env.streams.names.exchangeStream(unit.stage!);
  const subject = env.streams.names.exchangeSubject(unit.stage!, unit.partition);
  const windowMs = env.streams.exchanges.get(unit.stage!)?.duplicateWindowMs ?? MIN_DUPLICATE_WINDOW_MS;
  // Committed checkpoints not trimmed below yet, oldest first, with when this unit saw them commit.
  const committed: { readonly position: number; readonly at: number }[] = [];
  let trimming: Promise<void> = Promise.resolve();
  runtime.events.subscribe((event) => {
    if (event.type !== 'checkpoint') return;
    const now = performance.now();
    committed.push({ position: event.position, at: now });
    // The newest checkpoint but the latest whose messages all left the duplicate window.
    let below = -1;
    for (let i = 0; i < committed.length - 1 && now - committed[i]!.at >= windowMs; i++) below = i;
    if (below < 0) return;
    const keepFrom = committed[below]!.position + 1;
    committed.splice(0, below + 1);
    trimming = trimming.then(async () => {
      try {
        await trimConsumed(await env.link.jetstreamManager(), stream, subject, keepFrom);
      } catch (error) {
        // Not fatal: the next checkpoint trims further.
        logger.debug(`could not trim ${subject} below ${keepFrom}: ${(error as Error).message}`);
      }
    });
  });
}

/** The worker's logger with the unit named on every line (text) or as a field (JSON). */
function unitLogger(logger: Logger, unit: string): Logger {
  const fields = (extra: LogFields | undefined): LogFields => ({ ...extra, unit });
  return {
    level: logger.level,
    interactive: logger.interactive,
    debug: (message, extra) => logger.debug(`[${unit}] ${message}`, fields(extra)),
    info: (message, extra) => logger.info(`[${unit}] ${message}`, fields(extra)),
    warn: (message, extra) => logger.warn(`[${unit}] ${message}`, fields(extra)),
    error: (message, extra) => logger.error(`[${unit}] ${message}`, fields(extra)),
    // Units restore side by side: one progress line would flicker between them.
    progress: () => {},
  };
}
