// The layout a scaled-out job's stage units checkpointed: each unit keeps its own checkpoint chain
// and reads its own exchange subject, so a changed parallelism must go through a rescale
// (rescale-units.ts) or key groups would stay in units that no longer own them.
import { createCheckpoints, type CheckpointStore } from '../../src/checkpoint/index.ts';
import { isUnreadableCheckpoint, readDescriptor } from '../../src/checkpoint/checkpoint-reader.ts';
import { mergeKeyGroupParts } from '../../src/state/index.ts';
import { NoCheckpointBucketsError, openJetStreamCheckpointStore } from '../checkpoint/index.ts';
import type { NatsLink } from './connection.ts';
import type { JobUnit } from './job-units.ts';

/**
 * Reads, per keyed stage, the newest checkpoint of its first unit that has one (partition 0 exists
 * in every layout): the parallelism it recorded is the layout the job ran with, for a job whose
 * group has no layout record yet (job-layout.ts).
 */
export async function checkpointedParallelism(
  link: NatsLink,
  job: string,
  units: readonly JobUnit[],
): Promise<Record<string, number>> {
  const stages = new Map<string, JobUnit[]>();
  for (const unit of units)
    if (unit.stage !== undefined) stages.set(unit.stage, [...(stages.get(unit.stage) ?? []), unit]);
  const recorded: Record<string, number> = {};
  for (const [stage, stageUnits] of stages) {
    for (const unit of stageUnits) {
      const parallelism = await recordedParallelism(link, job, unit.name, stage);
      if (parallelism === undefined) continue;
      recorded[stage] = parallelism;
      break;
    }
  }
  return recorded;
}

/** The stage's parallelism the unit's newest checkpoint recorded; undefined when it has none (or not readable). */
async function recordedParallelism(
  link: NatsLink,
  job: string,
  unit: string,
  stage: string,
): Promise<number | undefined> {
  let store: CheckpointStore;
  try {
    store = await openJetStreamCheckpointStore({ job, task: unit, connection: link.nc, create: false });
  } catch (error) {
    if (error instanceof NoCheckpointBucketsError) return undefined;
    throw error;
  }
  const checkpoints = createCheckpoints(store, { jobId: `${job}/${unit}`, mergeKeyGroupParts });
  try {
    const latest = await checkpoints.latest();
    if (latest === undefined) return undefined;
    return (await readDescriptor(store, latest)).parallelism?.[stage];
  } catch (error) {
    // The unit's own restore falls back past an unreadable checkpoint; it checks the layout too.
    if (isUnreadableCheckpoint(error)) return undefined;
    throw error;
  } finally {
    await checkpoints.close();
    await store.close();
  }
}
