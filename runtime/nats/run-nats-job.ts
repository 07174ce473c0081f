// NATS mode: the same JobRuntime as embedded mode, with the job's input and output on JetStream
// streams and its checkpoints in a JetStream KV + Object Store bucket pair (`stator run <job> --nats <url>`).
import type { Subscription } from 'rxjs';
import type { Job } from '../job/job.ts';
import { ConfigError } from '../errors.ts';
import type { HttpRoutes } from '../http/index.ts';
import type { Logger } from '../log.ts';
import type { TurnTimer } from '../engine/turn-timer.ts';
import type { NatsFlags } from './connection-options.ts';
import { openJetStreamCheckpointStore } from '../checkpoint/index.ts';
import type { JetStreamCheckpointStore } from '../checkpoint/index.ts';
import { createRuntime } from '../create-runtime.ts';
import type { PreparedRuntime } from '../create-runtime.ts';
import { nats } from '../transport.ts';
import type { NatsTransport } from '../transport.ts';
import { jobCheckpoints } from '../embedded/job-checkpoints.ts';
import { createJobRuntime } from '../job-runtime.ts';
import { jobTaskRunners } from '../task-runners.ts';
import type { LocalState } from '../state-backends/local-state.ts';
import { connectNats, type NatsLink } from './connection.ts';
import { resolveNatsSettings } from './connection-options.ts';
import { ensureJobStreams } from './job-streams.ts';
import { replayExposure, requiredDuplicateWindowMs } from './msg-id.ts';
import { natsSourceBinding } from './nats-source-binding.ts';
import { natsDeadLetterBinding, natsSinkBinding } from './nats-sink-binding.ts';
import { serveNatsStateApi } from '../state-api/serve-nats-state-api.ts';
import type { NatsStateApi } from '../state-api/serve-nats-state-api.ts';
import type { StateApiOptions } from '../state-api/index.ts';
import { openNatsJobFiles, type NatsJobFiles } from './nats-job-files.ts';

/** The checkpoint task name of a job run in NATS mode: buckets `stator-<job>-main` (KV_ and OBJ_ streams). */
export const NATS_CHECKPOINT_TASK = 'main';

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
    `job ${job.name} ${result.reason}: ${result.messagesRead} messages read, ${result.checkpoints} checkpoints written, ${result.deadLetters} dead letters`,
  );
}

/** What openNatsRuntime takes (createRuntime's options, resolved). */
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

/**
 * Connects, creates the job's streams when missing, opens its checkpoint store and builds the
 * JobRuntime over them; `close()` releases all of it (after the run). Used by createRuntime.
 */
export async function openNatsRuntime(options: NatsRuntimeOptions): Promise<PreparedRuntime> {
  const { job, logger, checkpointIntervalMs } = options;
  if (job.source.partitions !== undefined) {
    throw new ConfigError(
      `job ${job.name} reads a pre-partitioned input (source ${job.source.name}: ${job.source.partitions} partitions), ` +
        'which a scaled-out job reads, one unit per partition: add --scale-out',
    );
  }
  const settings = resolveNatsSettings({ ...options.transport.connection, nats: options.transport.servers });
  const link = await connectNats({
    ...settings,
    name: settings.name === 'stator' ? `stator ${job.name}` : settings.name,
  });
  const events = logConnectionEvents(link, logger, settings.maxOutageMs);
  let store: JetStreamCheckpointStore | undefined;
  let checkpointLink: NatsLink | undefined;
  let checkpointEvents: Subscription | undefined;
  let stateApi: NatsStateApi | undefined;
  let jobFiles: NatsJobFiles | undefined;
  try {
    const duplicateWindowMs = requiredDuplicateWindowMs({ checkpointIntervalMs, maxOutageMs: settings.maxOutageMs });
    const subjects = jobSubjects(job);
    const streams = await ensureJobStreams(link, {
      job: job.name,
      inputSubject: subjects.input,
      outputSubject: subjects.output,
      // One process: the keyed exchanges stay in memory (exchange streams come with scale-out).
      exchangeStages: [],
      duplicateWindowMs,
    });
    for (const binding of [streams.input, streams.output, streams.deadLetters]) {
      if (binding.created) logger.info(`created stream ${binding.stream} for ${binding.subject}`);
      const widened = binding.widenedDuplicateWindow;
      if (widened !== undefined) {
        logger.info(
          `widened the duplicate window of stream ${binding.stream} (created by stator) from ${widened.fromMs / 1000} s to ${widened.toMs / 1000} s: ` +
            'this run needs it for its checkpoint interval and --max-outage',
        );
      }
    }
    // Read before this run publishes anything: what the previous run stored is what a replay may repeat.
    const outputWindowMs = await replayedStreams(link, [streams.output.stream, streams.deadLetters.stream]);
    // Checkpoints get a connection of their own: on the job's connection each of their requests
    // would queue behind the thousands of outputs and acknowledgements in flight, and a checkpoint's
    // commit (a dozen round trips) would take seconds under a backlog.
    checkpointLink = await connectNats({ ...settings, name: `${link.settings.name} checkpoints` });
    const checkpointStore = await openJetStreamCheckpointStore({
      job: job.name,
      task: NATS_CHECKPOINT_TASK,
      connection: checkpointLink.nc,
    });
    store = checkpointStore;
    jobFiles = await openNatsJobFiles(options, settings, link, 1);
    const files = jobFiles.files;
    // The state API: logged writes are inputs of the partitions (always replayed), Dapr's routes with --http.
    stateApi = await serveNatsStateApi({
      job,
      link,
      checkpoints: { link: checkpointLink, task: NATS_CHECKPOINT_TASK },
      http: options.http,
      duplicateWindowMs,
      logger,
      ...options.stateApi,
    });
    let fatal: (error: unknown) => void = () => {};
    const runtime = createJobRuntime({
      job,
      ...jobTaskRunners(job, files, options.localState),
      source: (entry, deadLetter) =>
        natsSourceBinding(
          link,
          job.source,
          { stream: streams.input.stream, subject: subjects.input },
          entry,
          deadLetter,
        ),
      sink: (deadLetter, fail) => natsSinkBinding(link, job.name, job.sink, subjects.output, deadLetter, fail),
      deadLetters: (fail) => natsDeadLetterBinding(link, streams.names, fail, { inputSubject: subjects.input }),
      checkpoints: jobCheckpoints({
        store: checkpointStore,
        jobId: job.name,
        logger,
        intervalMs: checkpointIntervalMs,
        onFatal: (error) => fatal(error),
      }),
      logger,
      checkpointIntervalMs,
      ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
      turnTimer: options.turnTimer,
      stateOwner: stateApi.owner,
    });
    fatal = (error) => runtime.fail(error);
    const restored = runtime.events.subscribe((event) => {
      if (event.type !== 'restored' || event.createdAt === undefined) return;
      const now = Date.now();
      const exposed = replayExposure({
        capturedAtMs: event.createdAt,
        lastStoredAtMs: outputWindowMs.lastStoredAtMs,
        nowMs: now,
        duplicateWindowMs: outputWindowMs.ms,
        checkpointIntervalMs,
        maxOutageMs: settings.maxOutageMs,
      });
      if (exposed === undefined) return;
      const ago = (ms: number) => `${Math.round((now - ms) / 1000)} s ago`;
      logger.warn(
        `restored checkpoint ${event.checkpointId} was captured ${ago(event.createdAt)}; the previous run stored outputs until ${ago(outputWindowMs.lastStoredAtMs ?? now)}, ` +
          `and the duplicate window of ${outputWindowMs.stream} (${Math.round(outputWindowMs.ms / 1000)} s) no longer covers those it stored from ` +
          `${ago(exposed.fromMs)} to ${ago(exposed.toMs)} once the replay (after position ${event.position}, up to ${Math.round((checkpointIntervalMs + settings.maxOutageMs) / 1000)} s ` +
          `for one checkpoint interval + --max-outage) re-publishes them: they may be stored twice. To keep replays exactly-once, raise the duplicate window above the longest restart ` +
          `(nats stream edit ${outputWindowMs.stream} --dupe-window 1h)`,
      );
    });
    // An outage past --max-outage closes the connection: fail the run with that error (its code
    // gives the exit code) rather than with whichever read or publish noticed first.
    // The checkpoint connection's outage fails the run the same way (whichever connection gives up first).
    checkpointEvents = checkpointLink.events$.subscribe((event) => {
      if (event.type === 'outage-exceeded') logger.error(`checkpoint connection: ${event.error.message}`);
    });
    for (const closing of [link, checkpointLink, jobFiles.link]) {
      void closing.closed().then((error) => {
        if (error !== undefined) runtime.fail(error);
      });
    }
    logger.info(
      `running job ${job.name} on NATS ${settings.servers.join(',')} (server ${link.features.version}): ` +
        `${streams.input.stream}/${subjects.input} -> ${streams.output.stream}/${subjects.output}, checkpoints in ${checkpointStore.description}, ` +
        `duplicate window ${Math.round(duplicateWindowMs / 60_000)} min`,
    );
    return {
      runtime,
      connection: link,
      close: async () => {
        restored.unsubscribe();
        await stateApi?.close();
        await checkpointStore.close();
        await jobFiles?.close();
        events.unsubscribe();
        checkpointEvents?.unsubscribe();
        await checkpointLink?.close();
        await link.close();
      },
    };
  } catch (error) {
    await stateApi?.close();
    await store?.close();
    await jobFiles?.close();
    events.unsubscribe();
    checkpointEvents?.unsubscribe();
    await checkpointLink?.close();
    await link.close();
    throw error;
  }
}

/**
 * The shortest duplicate window among `streams` (the stream that bounds exactly-once replays) and
 * when the newest message among them was stored (server time; undefined when all are empty).
 */
async function replayedStreams(
  link: NatsLink,
  streams: readonly string[],
): Promise<{ stream: string; ms: number; lastStoredAtMs: number | undefined }> {
  const jsm = await link.jetstreamManager();
  let shortest = { stream: streams[0] ?? '', ms: Number.POSITIVE_INFINITY };
  let lastStoredAtMs: number | undefined;
  for (const stream of streams) {
    const info = await jsm.streams.info(stream);
    const ms = (info.config.duplicate_window ?? 0) / 1_000_000;
    if (ms < shortest.ms) shortest = { stream, ms };
    if (info.state.last_seq > 0) lastStoredAtMs = Math.max(lastStoredAtMs ?? 0, Date.parse(info.state.last_ts));
  }
  return { ...shortest, lastStoredAtMs };
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
