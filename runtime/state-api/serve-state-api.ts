import type { CheckpointStore } from '../../src/checkpoint/index.ts';
import type { HttpRoutes } from '../http/index.ts';
import type { Job } from '../job/job.ts';
import type { Logger } from '../log.ts';
import { CheckpointStateView } from './checkpoint-state-view.ts';
import { addStateApiRoutes } from './dapr-routes.ts';
import type { StateCommandLog } from './state-command.ts';
import { LocalStateOwner, STATE_COMMANDS_INPUT } from './state-owner.ts';
import { StateService } from './state-service.ts';
import { StateStores } from './state-stores.ts';

/** Options of the state API, as `createRuntime` and `stator run` take them. */
export interface StateApiOptions {
  /** Required in the `dapr-api-token` header when set (`--http-token`, or STATOR_HTTP_TOKEN). */
  readonly token?: string;
  /** How long a strong read or a write waits for the key's owner before 504. @default 5000 */
  readonly timeoutMs?: number;
}

/** The state API of a job served by this process. */
export interface ServedStateApi {
  /** Hand it to the job runtime: its partitions answer strong reads and apply writes. */
  readonly owner: LocalStateOwner;
  /** Removes the routes, closes the log and the checkpoint view. Idempotent. */
  close(): Promise<void>;
}

export interface ServeStateApiOptions extends StateApiOptions {
  /** The process's HTTP server; without it the partitions still replay the logged writes (they are inputs). */
  readonly http: HttpRoutes | undefined;
  readonly job: Job;
  /** Where writes are made durable before they are applied. */
  readonly log: StateCommandLog;
  /** The job's checkpoints, for eventual reads (opened when `http` is given). */
  readonly checkpointStore: () => CheckpointStore;
  readonly logger: Logger;
}

/**
 * The job's state API: its partitions' command log (replayed on every run, with or without a server:
 * logged writes are inputs), and Dapr's /v1.0/state routes on the HTTP server when there is one.
 */
export function serveStateApi(options: ServeStateApiOptions): ServedStateApi {
  const stores = new StateStores(options.job);
  const lane = { name: STATE_COMMANDS_INPUT, log: options.log };
  const owner = new LocalStateOwner(stores, () => lane, options.logger);
  const view =
    options.http === undefined
      ? undefined
      : new CheckpointStateView({ job: options.job, store: options.checkpointStore() });
  const service = new StateService({
    stores,
    owner,
    ...(view === undefined ? {} : { view }),
    logger: options.logger,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  const remove =
    options.http === undefined
      ? () => {}
      : addStateApiRoutes(options.http, service, options.token === undefined ? {} : { token: options.token });
  let closing: Promise<void> | undefined;
  return {
    owner,
    close: () =>
      (closing ??= (async () => {
        remove();
        owner.detach();
        await view?.close();
        await options.log.close();
      })()),
  };
}
