// Why a job's state could not be restored into its current layout (key groups, parallelism).
import { StatorError } from '../coders/index.ts';

/** A checkpoint's layout cannot be restored into the job's layout; the message says what to do. */
export class RescaleError extends StatorError {
  override name = 'RescaleError';
}

/** The checkpoint hashed keys into another number of key groups: every key's group would change. */
export class KeyGroupsChangedError extends RescaleError {
  override name = 'KeyGroupsChangedError';
  constructor(
    readonly checkpointId: number,
    readonly checkpointed: number | string,
    readonly now: number,
  ) {
    super(
      'RESCALE_KEY_GROUPS',
      `checkpoint ${checkpointId} holds state in ${checkpointed} key groups and the job now has maxKeyGroups ${now}: ` +
        `a key's group is a hash modulo maxKeyGroups, so it cannot change for existing state; set maxKeyGroups back, ` +
        `or start over with \`stator checkpoints clear\` (parallelism can change, up to maxKeyGroups)`,
    );
  }
}

/**
 * A unit of a scaled-out job found a checkpoint from another layout than the one its worker planned:
 * the job's layout record (which rescales go through) and the units' checkpoints disagree.
 */
export class ScaleOutRescaleError extends RescaleError {
  override name = 'ScaleOutRescaleError';
  constructor(
    readonly job: string,
    readonly stage: string,
    readonly checkpointed: number | undefined,
    readonly now: number,
  ) {
    const was = checkpointed === undefined ? 'another partition count' : `parallelism ${checkpointed}`;
    super(
      'RESCALE_SCALE_OUT',
      `stage ${stage} of job ${job} was checkpointed by its scaled-out units with ${was} and now has ${now}, which ` +
        `the job's layout record (key layout in the bucket stator-${job}-group) does not say: stop every worker and ` +
        `delete that key (the next worker then reads the layout from the checkpoints and rescales the job; ` +
        `docs/scale-out.md, "Rescaling")`,
    );
  }
}

/**
 * A scaled-out worker was started with another layout (input partitions, a stage's parallelism) than
 * the job's workers run with, as the layout record in the group's bucket says: every worker of a
 * group must plan the same units, or two of them would run different units on the same subjects.
 */
export class LayoutMismatchError extends RescaleError {
  override name = 'LayoutMismatchError';
  constructor(
    readonly job: string,
    /** e.g. `--input-partitions`, `--parallelism count=`. */
    readonly option: string,
    readonly recorded: string,
    readonly now: string,
    advice: string,
  ) {
    super(
      'LAYOUT_MISMATCH',
      `job ${job} runs with ${option}${recorded} (its layout record in the bucket stator-${job}-group) and this worker ` +
        `was started with ${option}${now}: ${advice}`,
    );
  }
}

/**
 * A scaled-out job's rescale would lose state API writes: a partition of the old layout logged
 * writes after its last input message, which are applied only once its next input message arrives
 * (they wait for the input position they were taken in at), so the drain could not apply them.
 */
export class PendingStateWritesError extends RescaleError {
  override name = 'PendingStateWritesError';
  constructor(
    readonly job: string,
    readonly unit: string,
    readonly writes: number,
    readonly stage: string,
    readonly checkpointed: number,
  ) {
    super(
      'RESCALE_PENDING_WRITES',
      `partition ${unit} of job ${job} holds ${writes} state API write(s) logged after its last input message, which ` +
        `are applied only when its next input message arrives: nothing was rescaled; start the workers with ` +
        `--parallelism ${stage}=${checkpointed} until the job has read more input, stop them, then rescale`,
    );
  }
}

/**
 * NATS mode: the previous run died after its last checkpoint, so some outputs it published are
 * replayed; their ids number outputs in an order that depends on the parallelism, so a replay in
 * another layout would drop some as duplicates and store others twice.
 */
export class RescaleAfterCrashError extends RescaleError {
  override name = 'RescaleAfterCrashError';
  constructor(
    readonly stage: string,
    readonly checkpointed: number,
    readonly now: number,
    /** Outputs stored past the checkpoint that a replay re-emits; undefined when the sink cannot tell. */
    readonly replayBacklog?: number,
  ) {
    super(
      'RESCALE_AFTER_CRASH',
      `stage ${stage} was checkpointed with parallelism ${checkpointed} and now has ${now}, but ` +
        (replayBacklog === undefined
          ? `the previous run did not stop gracefully: outputs it published after its last checkpoint are replayed, ` +
            `and their ids only match in the old layout; run once more with parallelism ${checkpointed}, let it work ` +
            `off its backlog, stop it with SIGTERM (a final checkpoint), then restart with ${now}`
          : `the output stream holds ${replayBacklog} outputs published after the last checkpoint (by a run that crashed, ` +
            `or that stopped before its replay was done), which a replay re-emits, and their ids only match in the old ` +
            `layout; run once more with parallelism ${checkpointed} until it logs "replay done", stop it with SIGTERM ` +
            `(a final checkpoint), then restart with ${now}`),
    );
  }
}
