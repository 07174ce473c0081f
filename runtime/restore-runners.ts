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
    const parallelism = stage.actors.length;
    if (parts.length !== parallelism || parts.some((p) => p.partition >= parallelism)) {
      throw new ConfigError(
        `stage ${stage.name} was checkpointed with parallelism ${parts.length} and now has ${parallelism}: changing a stage's ` +
          `parallelism is not supported yet; keep ${parts.length}, or start over with \`stator checkpoints clear\``,
      );
    }
    const byPartition = stage.actors.map(() => new Map<number, readonly Uint8Array[]>());
    let watermark = Number.POSITIVE_INFINITY;
    let processingTime = -Number.MAX_VALUE;
    for (const part of parts) {
      watermark = Math.min(watermark, Number(part.restore.watermark));
      processingTime = Math.max(processingTime, Number(part.restore.processingTime));
      for (const [keyGroup, chain] of part.restore.keyGroups) {
        byPartition[grouping.partitionForKeyGroup(keyGroup, grouping.maxKeyGroups, parallelism)]!.set(keyGroup, chain);
      }
    }
    stage.actors.forEach((actor, partition) => {
      const restore: TaskRestore = { watermark, processingTime, keyGroups: byPartition[partition]! };
      actor.runner.restore(restore);
      actor.restoreWatermark(watermark);
    });
  }
}
