// Hands a restored checkpoint's state to a fresh pipeline's partitions.
import type { TaskRestore } from '../src/task/task-runner.ts';
import type { RestoredCheckpoint } from './bindings.ts';
import type { KeyGrouping } from './engine/key-router.ts';
import type { Pipeline } from './engine/pipeline.ts';
import { ConfigError } from './errors.ts';

/**
 * Hands each partition the key groups it owns. Routing is by key group, so state could move to
 * another partition count; the checkpoint writer still chains increments per partition, though,
 * so a changed parallelism (or a stage renamed away) is refused rather than risking lost state.
 * Every partition of a stage gets the stage's minimum watermark.
 * @throws ConfigError when the checkpoint does not fit the job.
 */
export function restoreRunners(pipeline: Pipeline, restored: RestoredCheckpoint, grouping: KeyGrouping): void {
  const known = new Set(pipeline.stages.map((s) => s.name));
  const orphaned = [...new Set(restored.partitions.map((p) => p.stage))].filter((name) => !known.has(name));
  if (orphaned.length > 0) {
    throw new ConfigError(
      `checkpoint ${restored.id} holds state of stage(s) ${orphaned.join(', ')}, which the job no longer has (renamed?): ` +
        `restore the stage name, or start over with \`stator checkpoints clear\``,
    );
  }
  for (const stage of pipeline.stages) {
    const parts = restored.partitions.filter((p) => p.stage === stage.name);
    if (parts.length === 0) continue;
    const { parallelism } = stage;
    // All partitions of the stage (one process), or exactly the unit's own (a scaled-out worker).
    const expected = stage.actors.length === parallelism ? parallelism : 1;
    if (parts.length !== expected || parts.some((p) => p.partition >= parallelism)) {
      throw new ConfigError(
        `stage ${stage.name} was checkpointed with parallelism ${parts.length} and now has ${parallelism}: changing a stage's ` +
          `parallelism is not supported yet; keep ${parts.length}, or start over with \`stator checkpoints clear\``,
      );
    }
    const byPartition = new Map<number, Map<number, readonly Uint8Array[]>>(
      stage.actors.map((actor) => [actor.partition, new Map()]),
    );
    let watermark = Number.POSITIVE_INFINITY;
    let processingTime = -Number.MAX_VALUE;
    for (const part of parts) {
      watermark = Math.min(watermark, Number(part.restore.watermark));
      processingTime = Math.max(processingTime, Number(part.restore.processingTime));
      for (const [keyGroup, chain] of part.restore.keyGroups) {
        const owner = byPartition.get(grouping.partitionForKeyGroup(keyGroup, grouping.maxKeyGroups, parallelism));
        if (owner === undefined) {
          throw new ConfigError(
            `checkpoint ${restored.id} holds key group ${keyGroup} of stage ${stage.name}, which this unit does not own: the checkpoint belongs to another partition`,
          );
        }
        owner.set(keyGroup, chain);
      }
    }
    for (const actor of stage.actors) {
      const restore: TaskRestore = { watermark, processingTime, keyGroups: byPartition.get(actor.partition)! };
      actor.runner.restore(restore);
      actor.restoreWatermark(watermark);
    }
  }
}
