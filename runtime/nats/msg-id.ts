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

/**
 * Whether a replay starting now from a checkpoint committed at `checkpointCommittedAtMs` is still
 * fully deduplicated: the oldest output it may repeat was published after that commit, so it must
 * still be inside the window when the replay re-publishes it (allowing one more interval + outage
 * for the replay itself). When false, outputs of that interval may be stored twice: log a warning.
 */
export function replayIsDeduplicated(
  checkpointCommittedAtMs: number,
  nowMs: number,
  duplicateWindowMs: number,
  inputs: Omit<DuplicateWindowInputs, 'restartAllowanceMs'>,
): boolean {
  return nowMs - checkpointCommittedAtMs + inputs.checkpointIntervalMs + inputs.maxOutageMs <= duplicateWindowMs;
}
