// The state API of a job run in NATS mode: writes logged in the job's state stream (one subject per
// stage partition), applied by the partition's owner, strong reads and writes forwarded over NATS to
// whichever process runs the key's partition, eventual reads from the checkpoints in JetStream.
import type { CheckpointStore } from '../../src/checkpoint/index.ts';
import { openJetStreamCheckpointStore } from '../checkpoint/index.ts';
import type { HttpRoutes } from '../http/index.ts';
import type { Job } from '../job/job.ts';
import type { Logger } from '../log.ts';
import type { NatsLink } from '../nats/connection.ts';
import { ensureStream } from '../nats/ensure-stream.ts';
import { jobStreamNames } from '../nats/stream-names.ts';
import { CheckpointStateView, type EventualStateView } from './checkpoint-state-view.ts';
import { addStateApiRoutes } from './dapr-routes.ts';
import { ForwardingStateOwners, type LocalPartitions } from './forwarding-owners.ts';
import { JetStreamCommandLog } from './jetstream-command-log.ts';
import { OwnerResponder } from './owner-requests.ts';
import type { StateApiOptions } from './serve-state-api.ts';
import type { CommandLanes } from './state-command.ts';
import { LocalStateOwner, STATE_COMMANDS_INPUT } from './state-owner.ts';
import { StateService } from './state-service.ts';
import { StateStores } from './state-stores.ts';
import { UnitCheckpointViews } from './unit-checkpoint-views.ts';
import { stageUnitName } from '../nats/job-units.ts';

export interface NatsStateApiOptions extends StateApiOptions {
  readonly job: Job;
  /** The job's connection: the state stream, forwarded requests and their answers. */
  readonly link: NatsLink;
  /** A connection for eventual reads of the job's checkpoints (the checkpoints' own), and their task name. */
  readonly checkpoints: { readonly link: NatsLink; readonly task: string };
  /** The process's HTTP server; without it the partitions still log, replay and answer forwarded requests. */
  readonly http: HttpRoutes | undefined;
  /** The state stream's duplicate window (as long as the output's: a retried write is stored once within it). */
  readonly duplicateWindowMs: number;
  /** Replicas of the state stream when this call creates it. @default 1 */
  readonly replicas?: number;
  readonly logger: Logger;
}

/** The state API's part of a NATS-mode run. */
export interface NatsStateApi {
  /** Hand it to the job runtime: its partitions replay and apply the logged writes and answer reads. */
  readonly owner: LocalStateOwner;
  /** Removes the routes, stops answering forwarded requests, waits for appends in flight. Idempotent. */
  close(): Promise<void>;
}

/** The checkpoint input name of one partition's command log: `state-commands.<stage>.p<N>`. */
export function stateCommandsInput(stage: string, partition: number): string {
  return `${STATE_COMMANDS_INPUT}.${stage}.p${partition}`;
}

/**
 * Sets up the state API of a NATS-mode run: ensures the job's state stream, gives each partition its
 * command log, answers forwarded requests for the partitions of this process, and serves Dapr's
 * routes on `http` when given. Call it once the job's streams exist, before the runtime is created.
 */
export async function serveNatsStateApi(options: NatsStateApiOptions): Promise<NatsStateApi> {
  const { job, link, logger } = options;
  const names = jobStreamNames(job.name);
  const stores = new StateStores(job);
  await ensureStateStream(options);
  const logs = new Map<string, JetStreamCommandLog>();
  const lanes: CommandLanes = (stage, partition) => {
    const subject = names.stateCommandSubject(stage, partition);
    let log = logs.get(subject);
    if (log === undefined) {
      log = new JetStreamCommandLog({ link, stream: names.stateCommandStream, subject });
      logs.set(subject, log);
    }
    return { name: stateCommandsInput(stage, partition), log };
  };
  const owner = new LocalStateOwner(stores, lanes, logger);
  const responder = new OwnerResponder(link, stores, owner, logger);
  // One process runs every partition today: it answers for each. With several workers, each
  // partition's subject is served by the worker that owns the partition.
  for (const stage of job.steps) {
    if (stage.kind !== 'process') continue;
    for (let partition = 0; partition < stage.parallelism; partition++)
      responder.serve(names.stateRequestSubject(stage.name, partition));
  }
  let checkpointStore: CheckpointStore | undefined;
  let view: CheckpointStateView | undefined;
  let removeRoutes: (() => void) | undefined;
  try {
    if (options.http !== undefined) {
      // Eventual reads through a store of their own: the runtime closes its store when the run ends.
      checkpointStore = await openJetStreamCheckpointStore({
        job: job.name,
        task: options.checkpoints.task,
        connection: options.checkpoints.link.nc,
        create: false,
      });
      view = new CheckpointStateView({ job, store: checkpointStore });
      removeRoutes = serveRoutes(options, stores, owner, view);
    }
  } catch (error) {
    await responder.close();
    await checkpointStore?.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    owner,
    close: () =>
      (closing ??= (async () => {
        removeRoutes?.();
        await responder.close();
        owner.detach();
        await view?.close();
        await checkpointStore?.close();
        await Promise.all([...logs.values()].map((log) => log.close()));
      })()),
  };
}

/** Ensures the job's state stream (one subject per stage partition). */
async function ensureStateStream(
  options: Pick<NatsStateApiOptions, 'job' | 'link' | 'duplicateWindowMs' | 'replicas' | 'logger'>,
): Promise<void> {
  const { job, link, logger } = options;
  const names = jobStreamNames(job.name);
  const stream = await ensureStream(
    await link.jetstreamManager(),
    {
      name: names.stateCommandStream,
      subjects: names.stateCommandSubjects,
      description: `state API writes of stator job ${job.name}`,
      storage: 'file',
      replicas: options.replicas ?? 1,
      minDuplicateWindowMs: options.duplicateWindowMs,
    },
    link.features,
  );
  if (stream.created)
    logger.info(`created stream ${names.stateCommandStream} for ${names.stateCommandSubjects.join(', ')}`);
}

/** Dapr's routes on `options.http`, every key reached locally or over NATS; returns what removes them. */
function serveRoutes(
  options: Pick<NatsStateApiOptions, 'job' | 'link' | 'http' | 'timeoutMs' | 'token' | 'logger'>,
  stores: StateStores,
  local: LocalPartitions,
  view: EventualStateView,
): () => void {
  const { job, link, logger } = options;
  const owners = new ForwardingStateOwners({
    job,
    link,
    names: jobStreamNames(job.name),
    local,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  const service = new StateService({
    stores,
    owner: owners,
    view,
    logger,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  return addStateApiRoutes(options.http!, service, options.token === undefined ? {} : { token: options.token });
}

/** What a scaled-out worker's state API takes: NATS mode's, without a single checkpoint chain. */
export interface WorkerStateApiOptions extends Omit<NatsStateApiOptions, 'checkpoints'> {
  /** The worker's checkpoint connection: eventual reads of the units' checkpoint buckets. */
  readonly checkpointLink: NatsLink;
  /**
   * Whether the worker still holds its units for sure (its group membership is confirmed): a unit
   * answers strong reads only then, since a worker stalled past its lease may have lost them. @default always
   */
  readonly confirmed?: () => boolean;
}

/** The state API of a `--scale-out` worker: one owner per unit it runs, Dapr's routes for every key. */
export interface WorkerStateApi {
  /**
   * The state API's part of the unit running partition `partition` of `stage` (undefined: a unit
   * without a stateful stage). `onFenced`: another owner claimed the partition's command log.
   */
  forUnit(stage: string | undefined, partition: number, onFenced: (error: Error) => void): UnitStateApi | undefined;
  /** Removes the routes and closes the eventual view (units close their own parts). Idempotent. */
  close(): Promise<void>;
}

/** One unit's state API: its partition's owner, command log and request subject. */
export interface UnitStateApi {
  /** Hand it to the unit's runtime. */
  readonly owner: LocalStateOwner;
  /** Answers this worker's HTTP requests and forwarded ones for the partition; call once the unit runs. */
  serve(): void;
  /** Stops answering, then closes the log (appends in flight first). Idempotent. */
  close(): Promise<void>;
}

/**
 * Sets up a worker's state API: ensures the job's state stream and serves Dapr's routes on `http`
 * (when given) for every key, answered by the unit that runs the key's partition, here or in
 * another worker (over NATS), and eventual reads from the units' checkpoints.
 */
export async function serveWorkerStateApi(options: WorkerStateApiOptions): Promise<WorkerStateApi> {
  const { job, link, logger } = options;
  const names = jobStreamNames(job.name);
  const stores = new StateStores(job);
  await ensureStateStream(options);
  const served = new Map<string, LocalStateOwner>();
  let open = true;
  const partitions: LocalPartitions = {
    get running() {
      return open;
    },
    owning: (stage, partition) => {
      const owner = served.get(stageUnitName(stage, partition));
      return owner?.runs(stage, partition) === true ? owner : undefined;
    },
  };
  const view =
    options.http === undefined ? undefined : new UnitCheckpointViews({ job, connection: options.checkpointLink.nc });
  const removeRoutes = view === undefined ? undefined : serveRoutes(options, stores, partitions, view);
  let closing: Promise<void> | undefined;
  return {
    forUnit: (stage, partition, onFenced) => {
      if (stage === undefined || stores.forStage(stage) === undefined) return undefined;
      const unit = stageUnitName(stage, partition);
      const log = new JetStreamCommandLog({
        link,
        stream: names.stateCommandStream,
        subject: names.stateCommandSubject(stage, partition),
        onFenced,
      });
      const lane = { name: stateCommandsInput(stage, partition), log };
      const owner = new LocalStateOwner(stores, () => lane, logger, options.confirmed);
      const responder = new OwnerResponder(link, stores, owner, logger);
      let unitClosing: Promise<void> | undefined;
      return {
        owner,
        serve: () => {
          if (unitClosing !== undefined) return;
          served.set(unit, owner);
          responder.serve(names.stateRequestSubject(stage, partition));
        },
        close: () =>
          (unitClosing ??= (async () => {
            if (served.get(unit) === owner) served.delete(unit);
            await responder.close();
            owner.detach();
            await log.close();
          })()),
      };
    },
    close: () =>
      (closing ??= (async () => {
        open = false;
        removeRoutes?.();
        await view?.close();
      })()),
  };
}
