import type { Job } from '../job/job.ts';
import type { HttpRoutes } from '../http/index.ts';
import type { Logger } from '../log.ts';
import type { NatsFlags } from '../nats/connection-options.ts';
import { NotAvailableError } from '../errors.ts';

/**
 * The seam between the CLI and NATS mode. NATS mode lives in runtime/nats/; its entry point is the
 * module NATS_ENTRY_POINT exporting:
 *
 *   export async function runNatsJob(request: NatsRunRequest): Promise<void>
 *
 * which runs the job until its input ends or `request.signal` aborts (SIGTERM/SIGINT: drain, final
 * checkpoint, then resolve), and rejects with a StatorError (its `code` picks the exit code).
 */
export interface NatsRunRequest {
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
  /** Aborted on the first SIGTERM/SIGINT: stop gracefully. */
  readonly signal: AbortSignal;
}

export const NATS_ENTRY_POINT = '../nats/run-nats-job.ts';

type NatsEntry = { runNatsJob?: (request: NatsRunRequest) => Promise<void> };

/** Loads NATS mode. @throws NotAvailableError while runtime/nats has no entry point. */
export async function loadNatsMode(): Promise<(request: NatsRunRequest) => Promise<void>> {
  let entry: NatsEntry;
  try {
    // A computed specifier: the entry point is optional until NATS mode lands.
    const specifier: string = new URL(NATS_ENTRY_POINT, import.meta.url).href;
    entry = (await import(specifier)) as NatsEntry;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new NotAvailableError('NATS mode is not available in this build yet; run embedded (without --nats and NATS_URL) with --input/--output', { cause: error });
    }
    throw error;
  }
  if (typeof entry.runNatsJob !== 'function') {
    throw new NotAvailableError(`${NATS_ENTRY_POINT} does not export runNatsJob(request); NATS mode is not available in this build`);
  }
  return entry.runNatsJob;
}
