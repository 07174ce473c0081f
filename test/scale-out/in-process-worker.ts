// A worker of a scaled-out job in the test process (it owns every unit while alone): its log, whether
// its run ended, and how to stop it.
import { createLogger, type Job } from '../../runtime/index.ts';
import { openWorkerRuntime } from '../../runtime/nats/open-worker.ts';
import type { WorkerRuntime } from '../../runtime/nats/worker-runtime.ts';
import { nats } from '../../runtime/transport.ts';

/** One worker of `job` in this process, its log, whether its run ended (it must not), and how to stop it. */
export async function startWorker(
  url: string,
  job: Job,
  leaseTtlMs = 2000,
  maxUnitFailures?: number,
  publishRetryMs?: number,
): Promise<{
  runtime: WorkerRuntime;
  logs: string[];
  state: { ended: unknown };
  finish: () => Promise<void>;
}> {
  const logs: string[] = [];
  const prepared = await openWorkerRuntime({
    split: true,
    job,
    transport: nats({ servers: url }),
    logger: createLogger('info', { write: (line: string) => logs.push(line) > 0 } as unknown as NodeJS.WritableStream),
    checkpointIntervalMs: 200,
    maxRetries: undefined,
    http: undefined,
    leaseTtlMs,
    ...(maxUnitFailures === undefined ? {} : { maxUnitFailures }),
    ...(publishRetryMs === undefined ? {} : { publishRetryMs }),
  });
  const runtime = prepared.runtime as WorkerRuntime;
  const state: { ended: unknown } = { ended: undefined };
  const run = runtime.run().then(
    (result) => (state.ended = result),
    (error: unknown) => (state.ended = error),
  );
  return {
    runtime,
    logs,
    state,
    finish: async () => {
      await runtime.stop();
      await run;
      await prepared.close();
    },
  };
}
