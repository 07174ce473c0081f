// What a restarted worker warns about: a restored checkpoint older than the output streams'
// duplicate window, whose replay may store outputs twice (docs/jetstream.md, "Dedupe window").
import type { Subscription } from 'rxjs';
import type { JobRuntime } from '../job-runtime.ts';
import type { Logger } from '../log.ts';
import type { NatsLink } from './connection.ts';
import { replayExposure } from './msg-id.ts';
import { DEFAULT_RETRY_POLICY, retryTransient } from './retry.ts';

/**
 * Warns when a restored checkpoint is so old that the replay after it re-publishes outputs the
 * duplicate window of the output streams no longer covers (they may be stored twice). `stored` is
 * what replayedStreams read before this run published anything. Returns what stops watching.
 */
export function warnOfReplayExposure(
  runtime: JobRuntime,
  stored: ReplayedStreams,
  options: { readonly checkpointIntervalMs: number; readonly maxOutageMs: number; readonly logger: Logger },
): Subscription {
  const { checkpointIntervalMs, maxOutageMs, logger } = options;
  return runtime.events.subscribe((event) => {
    if (event.type !== 'restored' || event.createdAt === undefined) return;
    const now = Date.now();
    const exposed = replayExposure({
      capturedAtMs: event.createdAt,
      lastStoredAtMs: stored.lastStoredAtMs,
      nowMs: now,
      duplicateWindowMs: stored.ms,
      checkpointIntervalMs,
      maxOutageMs,
    });
    if (exposed === undefined) return;
    const ago = (ms: number) => `${Math.round((now - ms) / 1000)} s ago`;
    // Each unit restores its own checkpoint: the warning names the one whose replay is exposed.
    logger.warn(
      `${event.unit === undefined ? '' : `[${event.unit}] `}restored checkpoint ${event.checkpointId} was captured ${ago(event.createdAt)}; the previous run stored outputs until ${ago(stored.lastStoredAtMs ?? now)}, ` +
        `and the duplicate window of ${stored.stream} (${Math.round(stored.ms / 1000)} s) no longer covers those it stored from ` +
        `${ago(exposed.fromMs)} to ${ago(exposed.toMs)} once the replay (after position ${event.position}, up to ${Math.round((checkpointIntervalMs + maxOutageMs) / 1000)} s ` +
        `for one checkpoint interval + --max-outage) re-publishes them: they may be stored twice. To keep replays exactly-once, raise the duplicate window above the longest restart ` +
        `(nats stream edit ${stored.stream} --dupe-window 1h)`,
      event.unit === undefined ? undefined : { unit: event.unit },
    );
  });
}

/** The output streams' shortest duplicate window, and when their newest message was stored. */
export interface ReplayedStreams {
  readonly stream: string;
  readonly ms: number;
  readonly lastStoredAtMs: number | undefined;
}

/**
 * The shortest duplicate window among `streams` (the stream that bounds exactly-once replays) and
 * when the newest message among them was stored (server time; undefined when all are empty).
 */
export function replayedStreams(link: NatsLink, streams: readonly string[]): Promise<ReplayedStreams> {
  // Read as a worker starts, when a server of the cluster may be down: retried like its other requests.
  return retryTransient(
    async () => {
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
    },
    DEFAULT_RETRY_POLICY,
    new AbortController().signal,
  );
}
