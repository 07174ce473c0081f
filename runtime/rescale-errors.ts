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
 * A scaled-out job's stage has another partition count than its units' checkpoints: each unit keeps
 * its own checkpoint chain and reads its own exchange subject, so moving key groups between units
 * is not done (yet); see docs/scale-out.md, "Rescaling".
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
      `stage ${stage} of job ${job} was checkpointed by its scaled-out units with ${was} and now has ${now}: a ` +
        `scaled-out job cannot change a stage's parallelism yet (docs/scale-out.md, "Rescaling"); run every worker ` +
        `with ${checkpointed === undefined ? 'the old parallelism' : `--parallelism ${stage}=${checkpointed}`}, or ` +
        `start over: stop every worker and delete the units' checkpoint buckets (stator-${job}-<unit>)`,
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
  ) {
    super(
      'RESCALE_AFTER_CRASH',
      `stage ${stage} was checkpointed with parallelism ${checkpointed} and now has ${now}, but the previous run did not ` +
        `stop gracefully: outputs it published after its last checkpoint are replayed, and their ids only match in the ` +
        `old layout; run once more with parallelism ${checkpointed} and stop it with SIGTERM (a final checkpoint), ` +
        `then restart with ${now}`,
    );
  }
}
