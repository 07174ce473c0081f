// Rescaling a scaled-out job between runs, by one worker while none runs (docs/scale-out.md,
// "Rescaling"): drain first, then cut the state by key group.
//
// 1. Drain: the old layout's units of every stage from the first rescaled one on run, without their
//    upstream, until each has read its exchange subject to the end, and stop at a final checkpoint.
//    This is an ordinary run of the old layout (a unit that crashed before replays, deduped as in a
//    failover), so afterwards no exchange message of the old layout is left unread.
// 2. Each rescaled stage's exchange stream's last sequence B is where the new units start reading:
//    every message at or below B was read by the old layout.
// 3. Each new unit's first checkpoint is written from the old units' drained ones: the key groups it
//    owns in the new layout, whole, the stage's minimum watermark, input position B and no output
//    count (its ids carry the stage's next generation, so they start at 0 without repeating one).
// Progress is recorded in the layout record, so a worker taking over a rescale whose worker died
// redoes only what is missing.
import { BoundedWindow, type Instant } from '../../coders/index.ts';
import { createCheckpoints, type CheckpointStore, type Checkpoints } from '../../src/checkpoint/index.ts';
import { readDescriptor } from '../../src/checkpoint/checkpoint-reader.ts';
import type { CapturedChanges } from '../../src/state/keyed-state-backend.ts';
import { mergeKeyGroupParts } from '../../src/state/index.ts';
import { NoCheckpointBucketsError, openJetStreamCheckpointStore } from '../checkpoint/index.ts';
import { withParallelism } from '../job/parallelism-override.ts';
import type { Logger } from '../log.ts';
import { KeyGroupsChangedError, PendingStateWritesError } from '../rescale-errors.ts';
import { partitionCommandLane, stateLogInput } from '../state-api/serve-nats-state-api.ts';
import { unappliedRecords } from '../state-api/state-command.ts';
import type { CommandLane } from '../state-api/state-command.ts';
import { jobTaskRunners } from '../task-runners.ts';
import { planJobUnits, type JobUnit } from './job-units.ts';
import { trimConsumedOutsideWindow } from './job-streams.ts';
import { MIN_DUPLICATE_WINDOW_MS } from './msg-id.ts';
import { describeLayout, rescaledStages, type LayoutLock, type LayoutRecord } from './job-layout.ts';
import { EXCHANGE_SOURCE, openUnitRuntime, type UnitEnvironment } from './unit-runtime.ts';
import { counted } from '../counted.ts';

export interface RescaleUnitsOptions {
  /** The worker's unit environment (its job in the new layout; generations are taken from the record). */
  readonly env: UnitEnvironment;
  /** Input partitions of the job (unchanged by a rescale). */
  readonly inputPartitions: number;
  readonly lock: LayoutLock;
  readonly logger: Logger;
}

/** Moves the job's units from the record's `rescale.from` layout to the record's own. */
export async function rescaleUnits(options: RescaleUnitsOptions): Promise<void> {
  const { env, lock, logger } = options;
  const target = lock.record;
  const progress = target.rescale!;
  const from = progress.from;
  const stages = rescaledStages(from, target);
  logger.info(`rescaling job ${env.job.name} from ${describeLayout(from)} to ${describeLayout(target)}`);
  const oldUnits = planJobUnits(withParallelism(env.job, from.parallelism), options.inputPartitions);
  let drained = progress.drained;
  if (drained === undefined) {
    const order = env.job.steps.flatMap((step) => (step.kind === 'process' ? [step.name] : []));
    const first = Math.min(...stages.map((stage) => order.indexOf(stage)));
    const oldEnv: UnitEnvironment = { ...env, generations: from.generations };
    // Downstream stages are drained too: their subjects may hold markers of the old upstream units.
    for (const stage of order.slice(first)) {
      const units = oldUnits.filter((unit) => unit.stage === stage);
      await Promise.all(units.map((unit) => drainUnit(oldEnv, unit, logger)));
    }
    const jsm = await env.link.jetstreamManager();
    const boundary: Record<string, number> = {};
    const checkpoints: Record<string, number> = {};
    for (const stage of stages) {
      boundary[stage] = (await jsm.streams.info(env.streams.names.exchangeStream(stage))).state.last_seq;
      for (const unit of oldUnits.filter((u) => u.stage === stage)) {
        const id = await withCheckpoints(env, unit.name, (c) => c.latest().then((info) => info?.id));
        if (id !== undefined) checkpoints[unit.name] = id;
      }
    }
    drained = { boundary, checkpoints };
    await lock.update({ ...target, rescale: { ...progress, drained } });
  }
  // Refused before anything is written: the job then runs in the old layout as before.
  for (const stage of stages) await checkNoPendingWrites(env, stage, from, drained.checkpoints);
  for (const stage of stages) {
    const boundary = drained.boundary[stage]!;
    await repartitionStage(env, stage, from, target, boundary, drained.checkpoints, logger);
    // The old layout read everything up to the boundary, and the new one reads after it. What the
    // duplicate window covers stays: an upstream unit that replays re-publishes those ids.
    await trimConsumedOutsideWindow(
      env.link,
      env.streams.names.exchangeStream(stage),
      boundary + 1,
      env.streams.exchanges.get(stage)?.duplicateWindowMs ?? MIN_DUPLICATE_WINDOW_MS,
    );
  }
  // Units the new layout does not have keep no state: a later layout with them starts from its own.
  for (const unit of oldUnits) {
    if (unit.stage === undefined || !stages.includes(unit.stage) || unit.partition < target.parallelism[unit.stage]!)
      continue;
    await withCheckpoints(env, unit.name, (c) => c.clear()).catch((error: unknown) =>
      logger.warn(
        `could not clear the checkpoints of ${unit.name}, which the new layout has no more: ${String(error)}`,
      ),
    );
  }
}

/** Runs one unit of the old layout until it has read its exchange subject to the end, then stops it. */
async function drainUnit(env: UnitEnvironment, unit: JobUnit, logger: Logger): Promise<void> {
  const stream = env.streams.names.exchangeStream(unit.stage!);
  const subject = env.streams.names.exchangeSubject(unit.stage!, unit.partition);
  const jsm = await env.link.jetstreamManager();
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
  const end = last?.seq ?? 0;
  const { runtime } = await openUnitRuntime(env, unit, { takeover: true });
  let settled = false;
  const done = runtime.run().finally(() => (settled = true));
  done.catch(() => {});
  try {
    // Nothing publishes to the subject now: once the unit has read up to `end`, it has read it all.
    while (!settled && (runtime.state !== 'running' || (runtime.view?.source.lastPosition ?? -1) < end)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await runtime.stop();
  }
  const result = await done;
  logger.info(
    `drained ${unit.name} of the old layout: read ${subject} to ${end} (${counted(result.messagesRead, 'message')})`,
  );
}

/** Writes each new unit of `stage` its first checkpoint, cut by key group from the old units' drained ones. */
async function repartitionStage(
  env: UnitEnvironment,
  stage: string,
  from: LayoutRecord,
  target: LayoutRecord,
  boundary: number,
  drained: Readonly<Record<string, number>>,
  logger: Logger,
): Promise<void> {
  const parallelism = target.parallelism[stage]!;
  const names = Array.from({ length: parallelism }, (_, q) => `${stage}.p${q}`);
  const written = await Promise.all(
    names.map((name) =>
      withCheckpoints(env, name, async (c, store) => {
        const latest = await c.latest();
        if (latest === undefined) return false;
        const descriptor = await readDescriptor(store, latest);
        return descriptor.parallelism?.[stage] === parallelism && descriptor.inputs[EXCHANGE_SOURCE] === boundary;
      }),
    ),
  );
  const pending = names.flatMap((_, q) => (written[q] === true ? [] : [q]));
  if (pending.length === 0) return;
  const { grouping } = jobTaskRunners(env.job);
  const { maxKeyGroups } = grouping;
  const keyGroups = names.map(() => new Map<number, readonly Uint8Array[]>());
  let watermark: Instant | undefined;
  let processingTime: Instant | undefined;
  const oldParallelism = from.parallelism[stage]!;
  for (let p = 0; p < oldParallelism; p++) {
    const id = drained[`${stage}.p${p}`];
    if (id === undefined) continue;
    const loaded = await withCheckpoints(env, `${stage}.p${p}`, (c) => c.load(id));
    if (loaded === undefined) continue;
    if (loaded.descriptor.maxKeyGroups !== undefined && loaded.descriptor.maxKeyGroups !== maxKeyGroups)
      throw new KeyGroupsChangedError(id, loaded.descriptor.maxKeyGroups, maxKeyGroups);
    for (const part of loaded.partitions) {
      if (part.stage !== stage) continue;
      if (watermark === undefined || part.restore.watermark < watermark) watermark = part.restore.watermark;
      if (processingTime === undefined || part.restore.processingTime > processingTime)
        processingTime = part.restore.processingTime;
      for (const [keyGroup, chain] of part.restore.keyGroups) {
        if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup >= maxKeyGroups)
          throw new KeyGroupsChangedError(id, `at least ${keyGroup + 1}`, maxKeyGroups);
        keyGroups[grouping.partitionForKeyGroup(keyGroup, maxKeyGroups, parallelism)]!.set(keyGroup, chain);
      }
    }
  }
  const stateLog = await stateLogOf(env, stage);
  const writeBase = (q: number): Promise<void | undefined> =>
    withCheckpoints(
      env,
      names[q]!,
      async (c) => {
        await c.acquireLease({ takeover: true });
        // A unit's pipeline holds its one partition, captured as the stage's partition 0.
        await c.rebase([{ stage, partition: 0, keyGroups: keyGroups[q]! }]);
        await c.write({
          // The state API's log of partition q holds the old layout's writes: the new unit reads after them.
          inputs: {
            [EXCHANGE_SOURCE]: boundary,
            ...(stateLog === undefined ? {} : { [stateLogInput(stage, q)]: await stateLog.lastSequence(q) }),
          },
          partitions: [
            {
              stage,
              partition: 0,
              capture: {
                state: NO_CHANGES,
                watermark: watermark ?? BoundedWindow.TIMESTAMP_MIN_VALUE,
                processingTime: processingTime ?? BoundedWindow.TIMESTAMP_MIN_VALUE,
              },
            },
          ],
          sinks: {},
          maxKeyGroups,
          parallelism: { [stage]: parallelism },
        });
        await c.releaseLease();
      },
      true,
    );
  await Promise.all(pending.map(writeBase));
  const moved = keyGroups.reduce((sum, groups) => sum + groups.size, 0);
  logger.info(
    `rescaled stage ${stage} from ${oldParallelism} to ${parallelism} partitions: ${moved} key groups cut into the new ` +
      `units' first checkpoints, which read ${env.streams.names.exchangeStream(stage)} after sequence ${boundary}`,
  );
}

/** The stage's partitions' state API logs (undefined: the job has none, in either layout). */
async function stateLogOf(
  env: UnitEnvironment,
  stage: string,
): Promise<{ lastSequence(partition: number): Promise<number>; lane(partition: number): CommandLane } | undefined> {
  const { names } = env.streams;
  const jsm = await env.link.jetstreamManager();
  const former = await jsm.streams.info(names.stateCommandStream).then(
    () => true,
    () => false,
  );
  const own = (await jsm.streams.names(names.stateLogSubjects).next()).length > 0;
  if (!former && !own) return undefined;
  return {
    async lastSequence(partition) {
      const info = await jsm.streams.info(names.stateLogStream(stage, partition)).catch(() => undefined);
      return info?.state.last_seq ?? 0;
    },
    lane: (partition) =>
      partitionCommandLane({ link: env.link, job: env.job.name, duplicateWindowMs: 0 }, stage, partition),
  };
}

/**
 * The drain applied every state API write its old units took in before their last input message;
 * writes logged after it wait for the next one (state-owner.ts), so the old units' logs must hold none.
 * @throws PendingStateWritesError
 */
async function checkNoPendingWrites(
  env: UnitEnvironment,
  stage: string,
  from: LayoutRecord,
  drained: Readonly<Record<string, number>>,
): Promise<void> {
  const stateLog = await stateLogOf(env, stage);
  if (stateLog === undefined) return;
  const oldParallelism = from.parallelism[stage]!;
  for (let p = 0; p < oldParallelism; p++) {
    const unit = `${stage}.p${p}`;
    const id = drained[unit];
    const inputs =
      id === undefined
        ? undefined
        : await withCheckpoints(env, unit, async (c, store) => {
            const info = (await c.list()).find((checkpoint) => checkpoint.id === id);
            return info === undefined ? undefined : (await readDescriptor(store, info)).inputs;
          });
    const pending = (await unappliedRecords(stateLog.lane(p), inputs)).records;
    if (pending.length > 0)
      throw new PendingStateWritesError(env.job.name, unit, pending.length, stage, oldParallelism);
  }
}

const NO_CHANGES: CapturedChanges = {
  settle: () => Promise.resolve(),
  changedKeys: 0,
  keyGroups: [],
  encodeKeyGroup: (keyGroup) => {
    throw new Error(`no changes captured for key group ${keyGroup}`);
  },
};

/** Runs `use` on a unit's checkpoints; undefined when the unit has no bucket (and `create` is not set). */
async function withCheckpoints<T>(
  env: UnitEnvironment,
  unit: string,
  use: (checkpoints: Checkpoints, store: CheckpointStore) => Promise<T>,
  create = false,
): Promise<T | undefined> {
  let store: CheckpointStore;
  try {
    store = await openJetStreamCheckpointStore({
      job: env.job.name,
      task: unit,
      connection: env.checkpointLink.nc,
      replicas: env.replicas,
      create,
    });
  } catch (error) {
    if (error instanceof NoCheckpointBucketsError) return undefined;
    throw error;
  }
  const checkpoints = createCheckpoints(store, { jobId: `${env.job.name}/${unit}`, mergeKeyGroupParts });
  try {
    return await use(checkpoints, store);
  } finally {
    await checkpoints.close();
    await store.close();
  }
}
