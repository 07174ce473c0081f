// A scaled-out worker's check, before it joins the group, that the job's layout is the one its
// stage units checkpointed: each unit keeps its own checkpoint chain and reads its own exchange
// subject, so a changed parallelism would leave key groups in units that no longer own them.
import { createCheckpoints, type CheckpointStore } from '../../src/checkpoint/index.ts';
import { isUnreadableCheckpoint, readDescriptor } from '../../src/checkpoint/checkpoint-reader.ts';
import { mergeKeyGroupParts } from '../../src/state/index.ts';
import { NoCheckpointBucketsError, openJetStreamCheckpointStore } from '../checkpoint/index.ts';
import { ScaleOutRescaleError } from '../rescale-errors.ts';
import type { NatsLink } from './connection.ts';
import type { JobUnit } from './job-units.ts';

/**
 * Reads, per keyed stage, the newest checkpoint of its first unit that has one (partition 0 exists
 * in every layout) and compares the parallelism it recorded with the job's.
 * @throws ScaleOutRescaleError when they differ.
 */
export async function checkUnitLayout(link: NatsLink, job: string, units: readonly JobUnit[]): Promise<void> {
  const stages = new Map<string, JobUnit[]>();
  for (const unit of units)
    if (unit.stage !== undefined) stages.set(unit.stage, [...(stages.get(unit.stage) ?? []), unit]);
  for (const [stage, stageUnits] of stages) {
    for (const unit of stageUnits) {
      const recorded = await recordedParallelism(link, job, unit.name, stage);
      if (recorded === undefined) continue;
      if (recorded !== stageUnits.length) throw new ScaleOutRescaleError(job, stage, recorded, stageUnits.length);
      break;
    }
  }
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
