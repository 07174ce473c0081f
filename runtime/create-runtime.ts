import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Subject } from './rx.ts';
import type { Observable, Subscription } from 'rxjs';
import { createFileCheckpointStore } from './checkpoint/index.ts';
import { DEFAULT_CHECKPOINT_INTERVAL_MS, DEFAULT_STATE_DIR } from './defaults.ts';
import { openDirectoryFiles } from './files/directory-files.ts';
import { LocalState, type StateBackendKind } from './state-backends/local-state.ts';
import { createEmbeddedRuntime } from './embedded/embedded-runtime.ts';
import { LifecycleError } from './errors.ts';
import type { HttpRoutes } from './http/index.ts';
import type { Registry } from 'prom-client';
import { promClient } from './deferred-packages.ts';
import type { TurnTimer } from './engine/turn-timer.ts';
import { jobEndpoints } from './job-endpoints.ts';
import type { RuntimeObservation, RuntimeObserver } from './job-endpoints.ts';
import type { ConnectionView, JobView } from './job-view.ts';
import type { JobRuntime, RunResult, RuntimeEvent } from './job-runtime.ts';
import type { Job } from './job/job.ts';
import { Lifecycle } from './lifecycle.ts';
import type { LifecycleState } from './lifecycle.ts';
import { createLogger } from './log.ts';
import type { Logger } from './log.ts';
import { FileCommandLog, serveStateApi, stateCommandLogPath } from './state-api/index.ts';
import type { StateApiOptions } from './state-api/index.ts';
import type { FilesTransport, Transport } from './transport.ts';

/** Options of `createRuntime`. */
export interface RuntimeOptions {
  /** The job to run (`defineJob(...)`, or `loadJob(path)`). */
  readonly job: Job;
  /** Where input, output and checkpoints live: `files({...})` or `nats({...})`. */
  readonly transport: Transport;
  /** Aborting it stops the job gracefully, as `stop()` does: drain, final checkpoint, `run()` resolves. */
  readonly signal?: AbortSignal;
  /** One line per event. @default createLogger('info') (stderr) */
  readonly logger?: Logger;
  /** At most this long between checkpoints; also the event-time interval of the watermark trigger. @default 5000 */
  readonly checkpointIntervalMs?: number;
  /** Retries of a failing message before it becomes a dead letter. @default 3 */
  readonly maxRetries?: number;
  /**
   * The process's HTTP server, for the job's routes: `/metrics` (Prometheus), `/readyz` and the
   * state API, for the time of the run.
   */
  readonly http?: HttpRoutes;
  /**
   * The prom-client registry the job's metrics go to (served at `/metrics` with `http`). Pass one
   * with `collectDefaultMetrics({ register })` for the Node.js process metrics, as `stator run` does.
   * @default a registry of the run's own
   */
  readonly registry?: Registry;
  /** The state API's token and timeout (served with `http`; docs/state-api.md). */
  readonly stateApi?: StateApiOptions;
  /** Size limit of the job's file area (`ctx.files`, docs/files.md), in bytes. @default 10 GiB */
  readonly filesMaxBytes?: number;
  /**
   * Where keyed state lives: 'heap', or 'disk' (a bounded heap cache over a local store in
   * `<state-dir>/<job>/local/`, a scaled-out worker's in `local/workers/<host>-<pid>/`,
   * docs/state-backends.md). @default 'heap', or 'disk' when stateMemoryBytes is given
   */
  readonly stateBackend?: StateBackendKind;
  /** The disk backend's heap budget for keyed state, in bytes, for all partitions. @default 256 MiB */
  readonly stateMemoryBytes?: number;
}

/** What a transport's setup hands back: the runtime over it, and what to release after the run. */
export interface PreparedRuntime {
  readonly runtime: JobRuntime;
  /** NATS mode: the connection (for metrics and /readyz). */
  readonly connection?: ConnectionView;
  close(): Promise<void>;
}

/**
 * A job runtime, the same `JobRuntime` in both modes: `run()` sets the transport up (creates the
 * output directory and the file store, or connects to NATS and creates the job's streams and
 * buckets), restores the latest checkpoint and runs until the input ends (bounded), `stop()` is
 * called or `signal` aborts; then it releases what it set up. The `stator run` command is this
 * function plus argument parsing and signal handling.
 *
 * ```ts
 * const runtime = createRuntime({ job, transport: files({ input: 'in.txt', output: 'out.jsonl' }) });
 * const result = await runtime.run();
 * ```
 */
export function createRuntime(options: RuntimeOptions): JobRuntime {
  const { job, transport } = options;
  const observer =
    options.http === undefined
      ? undefined
      : jobEndpoints({
          http: options.http,
          registry: options.registry ?? new (promClient().Registry)(),
          jobName: job.name,
        });
  const baseLogger = options.logger ?? createLogger('info');
  const logger = observer?.recordingLogger(baseLogger) ?? baseLogger;
  const checkpointIntervalMs = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  const prepare = (turnTimer: TurnTimer | undefined): Promise<PreparedRuntime> =>
    transport.kind === 'files'
      ? openEmbeddedRuntime(job, transport, logger, options, turnTimer)
      : withLocalState(
          new LocalState({
            stateDir: transport.stateDir ?? DEFAULT_STATE_DIR,
            job,
            backend: backendOf(options),
            perWorker: transport.scaleOut !== undefined,
            ...(options.stateMemoryBytes === undefined ? {} : { memoryBytes: options.stateMemoryBytes }),
          }),
          logger,
          async (localState) => {
            // The worker runtime, the NATS client with it, loads only for a job on NATS.
            const { openWorkerRuntime } = await import('./nats/open-worker.ts');
            const nats = {
              job,
              transport,
              logger,
              checkpointIntervalMs,
              maxRetries: options.maxRetries,
              http: options.http,
              turnTimer,
              filesMaxBytes: options.filesMaxBytes,
              localState,
            };
            // Every NATS-mode process is a worker of the job's group; --scale-out splits the job into units.
            const group = { ...transport.group, ...transport.scaleOut };
            return openWorkerRuntime({
              ...nats,
              stateApi: options.stateApi,
              split: transport.scaleOut !== undefined,
              ...(group.replicas === undefined ? {} : { replicas: group.replicas }),
              ...(group.leaseTtlMs === undefined ? {} : { leaseTtlMs: group.leaseTtlMs }),
              ...(group.maxUnitFailures === undefined ? {} : { maxUnitFailures: group.maxUnitFailures }),
              ...(transport.scaleOut?.inputPartitions === undefined
                ? {}
                : { inputPartitions: transport.scaleOut.inputPartitions }),
            });
          },
        );
  return new PreparingRuntime(prepare, options.signal, observer, logger);
}

/** The state backend `options` select: `stateBackend`, else disk when a memory budget is given. */
export function backendOf(options: {
  readonly stateBackend?: StateBackendKind | undefined;
  readonly stateMemoryBytes?: number | undefined;
}): StateBackendKind {
  return options.stateBackend ?? (options.stateMemoryBytes === undefined ? 'heap' : 'disk');
}

/** Opens a NATS-mode runtime over `localState`, which it closes after the run (or when opening fails). */
async function withLocalState(
  localState: LocalState,
  logger: Logger,
  open: (localState: LocalState) => Promise<PreparedRuntime>,
): Promise<PreparedRuntime> {
  if (localState.backend === 'disk') logger.info(`keyed state: disk backend, working copies in ${localState.dir}`);
  let prepared: PreparedRuntime;
  try {
    prepared = await open(localState);
  } catch (error) {
    await localState.close();
    throw error;
  }
  return {
    ...prepared,
    close: () => closeInOrder([() => prepared.close(), () => localState.close()]),
  };
}

/**
 * Closes each in turn, every one even when an earlier one failed (a state API that fails to close
 * must not leave the local stores open); throws the first failure.
 */
async function closeInOrder(closes: readonly (() => Promise<void>)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const close of closes) {
    try {
      await close();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
}

async function openEmbeddedRuntime(
  job: Job,
  transport: FilesTransport,
  logger: Logger,
  options: RuntimeOptions,
  turnTimer: TurnTimer | undefined,
): Promise<PreparedRuntime> {
  await mkdir(dirname(transport.output), { recursive: true });
  if (transport.deadLetter !== undefined) await mkdir(dirname(transport.deadLetter), { recursive: true });
  const stateDir = transport.stateDir ?? DEFAULT_STATE_DIR;
  const store = transport.store ?? createFileCheckpointStore({ stateDir, job: job.name });
  const files = await openDirectoryFiles({ dir: join(stateDir, job.name, 'files'), maxBytes: options.filesMaxBytes });
  const backend = backendOf(options);
  const localState = new LocalState({
    stateDir,
    job,
    backend,
    ...(options.stateMemoryBytes === undefined ? {} : { memoryBytes: options.stateMemoryBytes }),
  });
  if (backend === 'disk') logger.info(`keyed state: disk backend, working copies in ${localState.dir}`);
  logger.info(
    `running job ${job.name} (embedded): ${transport.input} -> ${transport.output}, checkpoints in ${store.description}`,
  );
  // Logged writes are inputs: replayed on every run, served or not. Eventual reads go through a
  // checkpoint store of their own: the runtime closes its store at the end.
  const stateApi = serveStateApi({
    http: options.http,
    job,
    log: new FileCommandLog(stateCommandLogPath(stateDir, job.name)),
    checkpointStore: () => transport.store ?? createFileCheckpointStore({ stateDir, job: job.name }),
    logger,
    ...options.stateApi,
  });
  const runtime = createEmbeddedRuntime({
    job,
    input: transport.input,
    output: transport.output,
    ...(transport.deadLetter === undefined ? {} : { deadLetter: transport.deadLetter }),
    store,
    follow: transport.follow ?? false,
    ...(transport.maxLineBytes === undefined ? {} : { maxLineBytes: transport.maxLineBytes }),
    ...(options.checkpointIntervalMs === undefined ? {} : { checkpointIntervalMs: options.checkpointIntervalMs }),
    ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    logger,
    turnTimer,
    stateOwner: stateApi.owner,
    files,
    localState,
  });
  return {
    runtime,
    close: () => closeInOrder([() => stateApi.close(), () => files.close(), () => localState.close()]),
  };
}

/**
 * A JobRuntime whose transport is set up inside `run()`, so nothing is opened before the run and
 * everything is released after it. Mirrors the inner runtime's lifecycle and events.
 */
class PreparingRuntime implements JobRuntime {
  private readonly lifecycle = new Lifecycle();
  private readonly eventSubject = new Subject<RuntimeEvent>();
  private inner: JobRuntime | undefined;
  private runPromise: Promise<RunResult> | undefined;
  private stopRequested = false;
  private failure: { error: unknown } | undefined;
  private link: ConnectionView | undefined;

  constructor(
    private readonly prepare: (turnTimer: TurnTimer | undefined) => Promise<PreparedRuntime>,
    private readonly signal: AbortSignal | undefined,
    private readonly observer: RuntimeObserver | undefined,
    private readonly logger: Logger,
  ) {}

  get state(): LifecycleState {
    return this.lifecycle.state;
  }

  get stateChanges(): Observable<LifecycleState> {
    return this.lifecycle.changes;
  }

  get events(): Observable<RuntimeEvent> {
    return this.eventSubject.asObservable();
  }

  get view(): JobView | undefined {
    return this.inner?.view;
  }

  /** NATS mode: the connection, once set up. */
  get connection(): ConnectionView | undefined {
    return this.link;
  }

  run(): Promise<RunResult> {
    this.runPromise ??= this.runOnce();
    return this.runPromise;
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    if (this.inner !== undefined) await this.inner.stop();
    if (this.runPromise === undefined) {
      this.lifecycle.tryTransition('stopped');
      this.eventSubject.complete();
      return;
    }
    await this.runPromise.catch(() => {});
  }

  checkpoint(): Promise<void> {
    if (this.inner === undefined)
      return Promise.reject(
        new LifecycleError(`cannot write a checkpoint while ${this.state}: call it once run() has restored`),
      );
    return this.inner.checkpoint();
  }

  fail(error: unknown): void {
    if (this.inner !== undefined) {
      this.inner.fail(error);
      return;
    }
    // Reported when the transport's setup returns.
    this.failure ??= { error };
  }

  private async runOnce(): Promise<RunResult> {
    if (this.lifecycle.state !== 'created') throw new LifecycleError(`cannot run from ${this.lifecycle.state}`);
    const onAbort = (): void => void this.stop();
    this.signal?.addEventListener('abort', onAbort, { once: true });
    const subscriptions: Subscription[] = [];
    let prepared: PreparedRuntime | undefined;
    let observation: RuntimeObservation | undefined;
    const release = async (): Promise<void> => {
      this.signal?.removeEventListener('abort', onAbort);
      for (const subscription of subscriptions) subscription.unsubscribe();
      try {
        await closeInOrder([async () => observation?.close(), async () => prepared?.close()]);
      } finally {
        this.eventSubject.complete();
      }
    };
    let result: RunResult;
    try {
      observation = this.observer?.observe(this);
      if (this.signal?.aborted) this.stopRequested = true;
      if (!this.stopRequested) prepared = await this.prepare(observation?.turnTimer);
      if (prepared?.connection !== undefined) {
        this.link = prepared.connection;
        observation?.connected(prepared.connection);
      }
      if (this.failure !== undefined) throw this.failure.error;
      if (prepared === undefined || this.stopRequested) {
        this.lifecycle.tryTransition('stopped');
        result = { reason: 'stopped', messagesRead: 0, deadLetters: 0, checkpoints: 0, restoredCheckpoint: undefined };
      } else {
        const inner = prepared.runtime;
        subscriptions.push(inner.events.subscribe((event) => this.eventSubject.next(event)));
        subscriptions.push(inner.stateChanges.subscribe((state) => this.lifecycle.tryTransition(state)));
        this.inner = inner;
        result = await inner.run();
      }
    } catch (error) {
      this.lifecycle.tryTransition('failed');
      // The run's own error is what run() reports; a failure to close after it is logged.
      await release().catch((closeError: unknown) =>
        this.logger.warn(
          `closing the job's resources after the failed run also failed: ${closeError instanceof Error ? closeError.message : String(closeError)}`,
        ),
      );
      throw error;
    }
    await release();
    return result;
  }
}
