// Hands a restored checkpoint's state to a fresh pipeline's partitions, in the job's current layout.
import type { TaskRestore } from '../src/task/task-runner.ts';
import type { PartitionSeed } from '../src/checkpoint/index.ts';
import type { RestoredCheckpoint } from './bindings.ts';
import type { KeyGrouping } from './engine/key-router.ts';
import type { Pipeline } from './engine/pipeline.ts';
import { ConfigError } from './errors.ts';
import { KeyGroupsChangedError, ScaleOutRescaleError } from './rescale-errors.ts';

/** A stage whose checkpointed layout differs from the job's: its key groups moved between partitions. */
export interface StageRescale {
  readonly stage: string;
  /** Partitions in the checkpoint (those holding state or a watermark). */
  readonly from: number;
  readonly to: number;
}

/** What a restore into another layout did; the checkpoints must start a new chain from `seeds`. */
export interface Rescale {
  readonly stages: readonly StageRescale[];
  /** Every partition's restored key groups in the new layout (all stages: the next checkpoint is a new base). */
  readonly seeds: readonly PartitionSeed[];
}

/**
 * Hands each partition the key groups it owns in the job's layout. Routing is by key group, so state
 * moves with its key group when a stage's parallelism changed: each key group goes whole to its new
 * partition. Every partition of a stage gets the stage's minimum watermark (the same with or without
 * a rescale: a partition's watermark is the minimum over its inputs, which all partitions share).
 * @returns the rescale when a key group moved (undefined otherwise): the checkpoint chains were
 * per partition of the old layout, so the caller must `rebase` its checkpoints on `seeds`.
 * @throws ConfigError when the checkpoint does not fit the job; KeyGroupsChangedError when it was
 * taken with another maxKeyGroups; ScaleOutRescaleError when a scaled-out unit's was taken in
 * another layout.
 */
export function restoreRunners(
  pipeline: Pipeline,
  restored: RestoredCheckpoint,
  grouping: KeyGrouping,
  job = 'this job',
): Rescale | undefined {
  const { maxKeyGroups } = grouping;
  const known = new Set(pipeline.stages.map((s) => s.name));
  const orphaned = [...new Set(restored.partitions.map((p) => p.stage))].filter((name) => !known.has(name));
  if (orphaned.length > 0) {
    throw new ConfigError(
      `checkpoint ${restored.id} holds state of stage(s) ${orphaned.join(', ')}, which the job no longer has (renamed?): ` +
        `restore the stage name, or start over with \`stator checkpoints clear\``,
    );
  }
  if (restored.maxKeyGroups !== undefined && restored.maxKeyGroups !== maxKeyGroups) {
    throw new KeyGroupsChangedError(restored.id, restored.maxKeyGroups, maxKeyGroups);
  }
  const stages: StageRescale[] = [];
  const restores: { stage: string; partition: number; restore: TaskRestore }[] = [];
  for (const stage of pipeline.stages) {
    const parts = restored.partitions.filter((p) => p.stage === stage.name);
    if (parts.length === 0) continue;
    const { parallelism } = stage;
    // All partitions of the stage (one process), or exactly the unit's own (a scaled-out worker).
    const whole = stage.actors.length === parallelism;
    const checkpointed = restored.parallelism?.[stage.name];
    if (!whole && checkpointed !== undefined && checkpointed !== parallelism) {
      throw new ScaleOutRescaleError(job, stage.name, checkpointed, parallelism);
    }
    if (!whole && parts.length !== 1) {
      throw new ConfigError(
        `checkpoint ${restored.id} holds ${parts.length} partitions of stage ${stage.name}; a unit of a scaled-out job restores its own one`,
      );
    }
    const byPartition = new Map<number, Map<number, readonly Uint8Array[]>>(
      stage.actors.map((actor) => [actor.partition, new Map()]),
    );
    let watermark = Number.POSITIVE_INFINITY;
    let processingTime = -Number.MAX_VALUE;
    let moved = whole && parts.some((p) => p.partition >= parallelism);
    for (const part of parts) {
      watermark = Math.min(watermark, Number(part.restore.watermark));
      processingTime = Math.max(processingTime, Number(part.restore.processingTime));
      for (const [keyGroup, chain] of part.restore.keyGroups) {
        if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup >= maxKeyGroups) {
          throw new KeyGroupsChangedError(restored.id, `at least ${keyGroup + 1}`, maxKeyGroups);
        }
        const partition = grouping.partitionForKeyGroup(keyGroup, maxKeyGroups, parallelism);
        const owner = byPartition.get(partition);
        // A unit's own checkpoint with a key group it does not own: written in another layout.
        if (owner === undefined) throw new ScaleOutRescaleError(job, stage.name, checkpointed, parallelism);
        if (whole && partition !== part.partition) moved = true;
        owner.set(keyGroup, chain);
      }
    }
    if (moved) stages.push({ stage: stage.name, from: parts.length, to: parallelism });
    for (const actor of stage.actors) {
      const restore: TaskRestore = { watermark, processingTime, keyGroups: byPartition.get(actor.partition)! };
      restores.push({ stage: stage.name, partition: actor.partition, restore });
      actor.runner.restore(restore);
      actor.restoreWatermark(watermark);
    }
  }
  if (stages.length === 0) return undefined;
  return {
    stages,
    seeds: restores.map(({ stage, partition, restore }) => ({ stage, partition, keyGroups: restore.keyGroups })),
  };
}
