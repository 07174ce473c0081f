// A NATS-mode job's file area (ctx.files) as a run opens it: the job's Object Store bucket on a
// connection of its own (a large upload in open() must not queue ahead of a checkpoint's commit or
// the job's outputs), with path()'s cache in <state-dir>/<job>/files-cache.
import { join } from 'node:path';
import type { ClosableJobFiles } from '../files/closable-job-files.ts';
import { openObjectStoreFiles } from '../files/object-store-files.ts';
import { DEFAULT_STATE_DIR } from '../defaults.ts';
import { connectNats, type NatsLink } from './connection.ts';
import type { NatsConnectionSettings } from './connection-options.ts';
import type { NatsRuntimeOptions } from './run-nats-job.ts';

/** The area and the connection it runs on; `close()` releases both. */
export interface NatsJobFiles {
  readonly files: ClosableJobFiles;
  readonly link: NatsLink;
  close(): Promise<void>;
}

/** Opens the job's file area for a run of `run.job`, beside the run's data connection `dataLink`. */
export async function openNatsJobFiles(
  run: Pick<NatsRuntimeOptions, 'job' | 'transport' | 'filesMaxBytes' | 'logger'>,
  settings: NatsConnectionSettings,
  dataLink: NatsLink,
  replicas: number,
): Promise<NatsJobFiles> {
  const job = run.job.name;
  const link = await connectNats({ ...settings, name: `${dataLink.settings.name} files` });
  try {
    const files = await openObjectStoreFiles({
      connection: link.nc,
      job,
      cacheDir: join(run.transport.stateDir ?? DEFAULT_STATE_DIR, job, 'files-cache'),
      maxBytes: run.filesMaxBytes,
      replicas,
    });
    run.logger.info(`file area (ctx.files) in ${files.description}, limit ${files.maxBytes} bytes`);
    return {
      files,
      link,
      close: async () => {
        await files.close();
        await link.close();
      },
    };
  } catch (error) {
    await link.close();
    throw error;
  }
}
