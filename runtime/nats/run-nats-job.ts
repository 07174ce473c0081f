// NATS mode (`stator run <job> --nats <url>`): the job's input and output on JetStream streams, its
// checkpoints in JetStream KV + Object Store bucket pairs, each process a worker of the job's group
// (open-worker.ts).
import type { Subscription } from 'rxjs';
import type { Job } from '../job/job.ts';
import type { HttpRoutes } from '../http/index.ts';
import type { Logger } from '../log.ts';
import type { TurnTimer } from '../engine/turn-timer.ts';
import type { NatsFlags } from './connection-options.ts';
import { createRuntime } from '../create-runtime.ts';
import { nats } from '../transport.ts';
import type { NatsTransport } from '../transport.ts';
import { WHOLE_JOB_UNIT } from './job-units.ts';
import type { LocalState } from '../state-backends/local-state.ts';
import type { NatsLink } from './connection.ts';
import type { StateApiOptions } from '../state-api/index.ts';
import { counted } from '../counted.ts';

/**
 * The checkpoint task name of a job run in NATS mode as one unit: buckets `stator-<job>-main` (KV_
 * and OBJ_ streams).
 */
export const NATS_CHECKPOINT_TASK = WHOLE_JOB_UNIT;

/**
 * A job's input and output subjects: `<job>.<source name>` and `<job>.<sink name>`, e.g. wordcount.in / wordcount.out.
 */
export function jobSubjects(job: {
  readonly name: string;
  readonly source: { readonly name: string };
  readonly sink: { readonly name: string };
}): {
  input: string;
  output: string;
} {
  return { input: `${job.name}.${job.source.name}`, output: `${job.name}.${job.sink.name}` };
}

/** What runNatsJob takes: the job, the server and connection flags (auth, TLS, --max-outage), and a stop signal. */
export interface NatsRunOptions {
  readonly job: Job;
  /** The server URL(s): --nats, else NATS_URL. */
  readonly natsUrl: string;
  /**
   * The other connection flags as the nats CLI names them (--user, --password, --token, --creds,
   * --nkey, --tlscert, --tlskey, --tlsca, --max-outage, --nats-name); unset ones fall back to the
   * NATS_* environment variables.
   */
  readonly nats?: Omit<NatsFlags, 'nats'>;
  readonly checkpointIntervalMs: number | undefined;
  readonly maxRetries: number | undefined;
  readonly logger: Logger;
  /** The process's HTTP server (--http), for the job's routes; undefined without --http. */
  readonly http?: HttpRoutes;
  /** Aborted on the first SIGTERM/SIGINT: stop gracefully (drain, final checkpoint, then resolve). */
  readonly signal: AbortSignal;
}

/**
 * Runs `request.job` against NATS until `request.signal` aborts (then drains, writes a final
 * checkpoint and resolves) or something fails (rejects: NatsOutageError when NATS stays away longer
 * than --max-outage, StreamConfigError when a stream does not fit, FencedError when another process
 * took over the job...). The same as `createRuntime({ job, transport: nats({...}), signal }).run()`.
 */
export async function runNatsJob(request: NatsRunOptions): Promise<void> {
  const { job, logger } = request;
  const runtime = createRuntime({
    job,
    transport: nats({ servers: request.natsUrl, ...(request.nats === undefined ? {} : { connection: request.nats }) }),
    signal: request.signal,
    logger,
    ...(request.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: request.checkpointIntervalMs }),
    ...(request.maxRetries === undefined ? {} : { maxRetries: request.maxRetries }),
    ...(request.http === undefined ? {} : { http: request.http }),
  });
  const result = await runtime.run();
  logger.info(
    `job ${job.name} ${result.reason}: ${counted(result.messagesRead, 'message')} read, ${counted(result.checkpoints, 'checkpoint')} written, ${counted(result.deadLetters, 'dead letter')}`,
  );
}

/** What openWorkerRuntime takes (createRuntime's options, resolved). */
export interface NatsRuntimeOptions {
  readonly job: Job;
  readonly transport: NatsTransport;
  readonly logger: Logger;
  readonly checkpointIntervalMs: number;
  readonly maxRetries: number | undefined;
  readonly http: HttpRoutes | undefined;
  /** Times a sample of turns (metrics on). */
  readonly turnTimer?: TurnTimer | undefined;
  /** The state API's token and timeout (served with `http`). */
  readonly stateApi?: StateApiOptions | undefined;
  /** Size limit of the job's file area (ctx.files). @default 10 GiB */
  readonly filesMaxBytes?: number | undefined;
  /** Where the partitions keep keyed state (the disk backend's working copies). @default all on the heap */
  readonly localState?: LocalState | undefined;
}

/** Logs the data connection's outages, reconnects and server notices; unsubscribe on close. */
export function logConnectionEvents(link: NatsLink, logger: Logger, maxOutageMs: number): Subscription {
  return link.events$.subscribe((event) => {
    switch (event.type) {
      case 'disconnected':
        logger.warn(
          `NATS disconnected from ${event.server}; reconnecting (giving up after ${Math.round(maxOutageMs / 1000)} s)`,
        );
        break;
      case 'reconnected':
        logger.info(`NATS reconnected to ${event.server} after ${event.outageMs} ms`);
        break;
      case 'outage-exceeded':
        logger.error(event.error.message);
        break;
      case 'lame-duck':
        logger.warn(`NATS server ${event.server} is shutting down (lame duck mode)`);
        break;
      case 'server-error':
        logger.warn(`NATS server error: ${event.error.message}`);
        break;
      default:
        break;
    }
  });
}
