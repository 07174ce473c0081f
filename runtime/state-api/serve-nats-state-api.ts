// The state API of a job run in NATS mode: writes logged in a stream per stage partition, applied by
// the partition's owner, strong reads and writes forwarded over NATS to
// whichever process runs the key's partition, eventual reads from the checkpoints in JetStream.
import type { HttpRoutes } from '../http/index.ts';
import type { Job } from '../job/job.ts';
import type { Logger } from '../log.ts';
import type { NatsLink } from '../nats/connection.ts';
import { jobStreamNames } from '../nats/stream-names.ts';
import type { EventualStateView } from './checkpoint-state-view.ts';
import { addStateApiRoutes } from './dapr-routes.ts';
import { ForwardingStateOwners, type LocalPartitions } from './forwarding-owners.ts';
import { JetStreamCommandLog } from './jetstream-command-log.ts';
import { PublishTurn } from './publish-turn.ts';
import type { CommandLane } from './state-command.ts';
import { OwnerResponder } from './owner-requests.ts';
import type { StateApiOptions } from './serve-state-api.ts';
import { LocalStateOwner, STATE_COMMANDS_INPUT } from './state-owner.ts';
import { StateService } from './state-service.ts';
import { StateStores } from './state-stores.ts';
import { UnitCheckpointViews } from './unit-checkpoint-views.ts';
import { stageUnitName } from '../nats/job-units.ts';

/** What a worker's state API takes. */
export interface WorkerStateApiOptions extends StateApiOptions {
  readonly job: Job;
  /** The job's connection: the state stream, forwarded requests and their answers. */
  readonly link: NatsLink;
  /** The worker's checkpoint connection: eventual reads of the units' checkpoint buckets. */
  readonly checkpointLink: NatsLink;
  /** The process's HTTP server; without it the partitions still log, replay and answer forwarded requests. */
  readonly http: HttpRoutes | undefined;
  /** The state streams' duplicate window (as long as the output's: a retried write is stored once within it). */
  readonly duplicateWindowMs: number;
  /** Replicas of the partitions' state streams when they are created. @default 1 */
  readonly replicas?: number;
  readonly logger: Logger;
  /** The unit whose checkpoints hold a stage's partition. @default `<stage>.p<N>` (a scaled-out job) */
  readonly unitOf?: (stage: string, partition: number) => string;
  /**
   * Whether the worker still holds its units for sure (its group membership is confirmed): a unit
   * answers strong reads only then, since a worker stalled past its lease may have lost them. @default always
   */
  readonly confirmed?: () => boolean;
}

/** The checkpoint input name of one partition's command log: `state-log.<stage>.p<N>`. */
export function stateLogInput(stage: string, partition: number): string {
  return `state-log.${stage}.p${partition}`;
}

/**
 * The input name checkpoints recorded for one partition's position in the job's former state stream
 * (one stream for every partition): `state-commands.<stage>.p<N>`.
 */
export function stateCommandsInput(stage: string, partition: number): string {
  return `${STATE_COMMANDS_INPUT}.${stage}.p${partition}`;
}

/** One partition's command log: its own stream, and its subject of the former one-stream log. */
export function partitionCommandLane(
  options: Pick<WorkerStateApiOptions, 'link' | 'duplicateWindowMs' | 'replicas'> & {
    readonly job: string;
    readonly onFenced?: (error: Error) => void;
    /** Shared by the partitions' logs of one connection (see PublishTurn). @default one per log */
    readonly publishTurn?: PublishTurn;
  },
  stage: string,
  partition: number,
): CommandLane & { readonly log: JetStreamCommandLog } {
  const names = jobStreamNames(options.job);
  const log = new JetStreamCommandLog({
    link: options.link,
    stream: names.stateLogStream(stage, partition),
    subject: names.stateLogSubject(stage, partition),
    duplicateWindowMs: options.duplicateWindowMs,
    ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
    former: { stream: names.stateCommandStream, subject: names.stateCommandSubject(stage, partition) },
    ...(options.onFenced === undefined ? {} : { onFenced: options.onFenced }),
    ...(options.publishTurn === undefined ? {} : { publishTurn: options.publishTurn }),
  });
  return {
    name: stateLogInput(stage, partition),
    log,
    former: { name: stateCommandsInput(stage, partition), read: (position) => log.readFormerAfter(position) },
  };
}

/** Dapr's routes on `options.http`, every key reached locally or over NATS; returns what removes them. */
function serveRoutes(
  options: Pick<WorkerStateApiOptions, 'job' | 'link' | 'http' | 'timeoutMs' | 'token' | 'logger'>,
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

/** The state API of a worker of a job's group: one owner per unit it runs, Dapr's routes for every key. */
export interface WorkerStateApi {
  /**
   * The state API's part of a unit running `partitions` (undefined when none has state: a unit
   * without a stateful stage). `onFenced`: another owner claimed one of the partitions' command logs.
   */
  forUnit(
    partitions: readonly { readonly stage: string; readonly partition: number }[],
    onFenced: (error: Error) => void,
  ): UnitStateApi | undefined;
  /** Removes the routes and closes the eventual view (units close their own parts). Idempotent. */
  close(): Promise<void>;
}

/** One unit's state API: its partitions' owner, command logs and request subjects. */
export interface UnitStateApi {
  /** Hand it to the unit's runtime. */
  readonly owner: LocalStateOwner;
  /** Answers this worker's HTTP requests and forwarded ones for the partitions; call once the unit runs. */
  serve(): void;
  /** Stops answering, then closes the logs (appends in flight first). Idempotent. */
  close(): Promise<void>;
}

/**
 * Sets up a worker's state API (each unit's partitions create their state streams when they claim
 * them) and serves Dapr's routes on `http`
 * (when given) for every key, answered by the unit that runs the key's partition, here or in
 * another worker (over NATS), and eventual reads from the units' checkpoints (`unitOf` names the
 * unit whose checkpoints hold a partition).
 */
export async function serveWorkerStateApi(options: WorkerStateApiOptions): Promise<WorkerStateApi> {
  const { job, link, logger } = options;
  const names = jobStreamNames(job.name);
  const stores = new StateStores(job);
  const served = new Map<string, LocalStateOwner>();
  // The worker's partitions publish to the state streams on one connection: together, once a turn.
  const publishTurn = new PublishTurn();
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
    options.http === undefined
      ? undefined
      : new UnitCheckpointViews({
          job,
          connection: options.checkpointLink.nc,
          ...(options.unitOf === undefined ? {} : { unitOf: options.unitOf }),
        });
  const removeRoutes = view === undefined ? undefined : serveRoutes(options, stores, partitions, view);
  let closing: Promise<void> | undefined;
  return {
    forUnit: (unitPartitions, onFenced) => {
      const stateful = unitPartitions.filter(({ stage }) => stores.forStage(stage) !== undefined);
      if (stateful.length === 0) return undefined;
      const lanes = new Map(
        stateful.map(({ stage, partition }) => [
          stageUnitName(stage, partition),
          partitionCommandLane({ ...options, job: job.name, onFenced, publishTurn }, stage, partition),
        ]),
      );
      const owner = new LocalStateOwner(
        stores,
        (stage, partition) => lanes.get(stageUnitName(stage, partition))!,
        logger,
        options.confirmed,
      );
      const responder = new OwnerResponder(link, stores, owner, logger);
      let unitClosing: Promise<void> | undefined;
      return {
        owner,
        serve: () => {
          if (unitClosing !== undefined) return;
          for (const { stage, partition } of stateful) {
            served.set(stageUnitName(stage, partition), owner);
            responder.serve(names.stateRequestSubject(stage, partition));
          }
        },
        close: () =>
          (unitClosing ??= (async () => {
            for (const key of lanes.keys()) if (served.get(key) === owner) served.delete(key);
            await responder.close();
            owner.detach();
            await Promise.all([...lanes.values()].map((lane) => lane.log.close()));
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
