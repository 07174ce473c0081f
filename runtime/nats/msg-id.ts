// Deterministic message ids and the duplicate window they need. JetStream drops a message whose
// Nats-Msg-Id it has seen within the stream's duplicate window, so an output re-emitted by a replay
// after a crash is stored once, provided it gets the same id and the replay happens inside the window.

/** Where an output comes from: the same input processed again yields the same coordinates. */
export interface OutputCoordinates {
  readonly job: string;
  readonly stage: string;
  /** The partition (of `stage`) that emitted the output. */
  readonly partition: number;
  /** Position of the input message whose processing emitted it (its stream sequence). */
  readonly position: number;
  /** Index of the output among those emitted while processing that input (0, 1, 2...). */
  readonly index: number;
}

/**
 * `<job>:<stage>:<partition>:<position>:<index>`, e.g. `wordcount:count:3:1042:0`. Unique per output
 * stream as long as (stage, partition, position, index) identifies one emission, which holds when
 * processing is deterministic.
 */
export function outputMsgId(c: OutputCoordinates): string {
  return `${c.job}:${c.stage}:${c.partition}:${c.position}:${c.index}`;
}

export interface DuplicateWindowInputs {
  /** Longest time between two committed checkpoints (the checkpoint interval's ceiling). */
  readonly checkpointIntervalMs: number;
  /** The connection's outage limit: a flush (and so a commit) may wait that long. */
  readonly maxOutageMs: number;
  /**
   * Time a crashed process may take to be restarted and to reconnect (supervisor delay, host
   * reboot...).
   * @default 300000 (5 minutes)
   */
  readonly restartAllowanceMs?: number;
}

/** JetStream's default duplicate window, the floor: streams stator creates never dedupe less. */
export const MIN_DUPLICATE_WINDOW_MS = 120_000;

/**
 * The duplicate window an output stream needs so that every replay is deduplicated.
 *
 * An output published at time t is covered by the next checkpoint, committed at the latest
 * t + interval + maxOutage (its flush may wait out an outage). If the process dies before that,
 * the restarted process (after up to restartAllowance) replays from the previous checkpoint and
 * re-publishes the output within another interval + maxOutage. So the repeat comes at most
 * 2 × (interval + maxOutage) + restartAllowance after the original, rounded up to whole minutes.
 */
export function requiredDuplicateWindowMs(inputs: DuplicateWindowInputs): number {
  const restart = inputs.restartAllowanceMs ?? 300_000;
  const needed = 2 * (inputs.checkpointIntervalMs + inputs.maxOutageMs) + restart;
  return Math.max(MIN_DUPLICATE_WINDOW_MS, Math.ceil(needed / 60_000) * 60_000);
}

/** What a restore knows about the replay it starts (all times epoch millis). */
export interface ReplayExposureInputs {
  /** When the restored checkpoint was captured: the previous run's outputs after it may be repeated. */
  readonly capturedAtMs: number;
  /** When the newest message of the output and dead-letter streams was stored; undefined when both are empty. */
  readonly lastStoredAtMs: number | undefined;
  readonly nowMs: number;
  /** The shortest duplicate window among those streams. */
  readonly duplicateWindowMs: number;
  readonly checkpointIntervalMs: number;
  readonly maxOutageMs: number;
}

/**
 * The span of the previous run's outputs that a replay starting now may store twice, or undefined
 * when every output it can repeat is still deduplicated.
 *
 * A replay repeats only what the previous run stored after the restored checkpoint was captured,
 * so when nothing was stored since (a clean stop, an idle job) it repeats nothing, however old the
 * checkpoint. Otherwise an original stored at time s keeps its id for the duplicate window, and the
 * replay re-publishes it within one interval + outage from now: originals stored before
 * `now + interval + outage - window` are forgotten by then.
 */
export function replayExposure(
  inputs: ReplayExposureInputs,
): { readonly fromMs: number; readonly toMs: number } | undefined {
  const { capturedAtMs, lastStoredAtMs } = inputs;
  if (lastStoredAtMs === undefined || lastStoredAtMs < capturedAtMs) return undefined;
  const forgottenBefore = inputs.nowMs + inputs.checkpointIntervalMs + inputs.maxOutageMs - inputs.duplicateWindowMs;
  if (forgottenBefore <= capturedAtMs) return undefined;
  return { fromMs: capturedAtMs, toMs: Math.min(lastStoredAtMs, forgottenBefore) };
}
