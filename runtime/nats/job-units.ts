// How a scaled-out job splits into units, the things workers own: one per input partition (the
// source and the stateless steps up to the first keyed stage) and one per partition of each keyed
// stage (that partition and the stateless steps after it, up to the next keyed stage or the sink).
// Units talk through keyed exchange subjects only, so any worker can run any unit. A job not split
// (`stator run --nats` without --scale-out) is one unit, `main`, that runs all of it in one process.
import { JobDefinitionError } from '../errors.ts';
import type { Job, StepDefinition } from '../job/job.ts';

type KeyByStep = Extract<StepDefinition, { kind: 'keyBy' }>;

/** Where a unit's outputs go: the keyed exchange into the next stage, or the job's sink. */
export type UnitOutput =
  | {
      readonly kind: 'exchange';
      readonly keyBy: KeyByStep;
      readonly stage: string;
      readonly parallelism: number;
      /** How many units publish into this exchange (the stage's `inputs`). */
      readonly writers: number;
    }
  | { readonly kind: 'sink' };

/** One unit of a job: a name (its checkpoints and lease), what it reads, runs and writes. */
export interface JobUnit {
  /**
   * `<source>.i<N>` for an input partition, `<stage>.p<N>` for a partition of a keyed stage, `main`
   * for a whole job.
   */
  readonly name: string;
  /** `job`: the whole job (input, every stage, output) in one unit, its keyed exchanges in memory. */
  readonly kind: 'source' | 'stage' | 'job';
  /** The input partition (source unit) or the stage's partition (stage unit). */
  readonly partition: number;
  /** Stage units: the stage, and how many upstream units feed its exchange (their watermarks combine). */
  readonly stage?: string;
  readonly inputs: number;
  /** The part of the job this unit runs, as a job of its own (same name, source and sink definitions). */
  readonly job: Job;
  readonly output: UnitOutput;
}

/**
 * The name of a whole-job unit: its checkpoints are in the buckets `stator-<job>-main`, where NATS
 * mode kept them before it ran as a group.
 */
export const WHOLE_JOB_UNIT = 'main';

/**
 * The job id a unit's checkpoints are written under: the job's name for a whole-job unit (as before
 * NATS mode ran as a group), `<job>/<unit>` for a unit of a scaled-out job.
 */
export function unitJobId(job: string, unit: string): string {
  return unit === WHOLE_JOB_UNIT ? job : `${job}/${unit}`;
}

/** A job as one unit (the group's workers take turns running it all; the others stand by). */
export function planWholeJob(job: Job): JobUnit[] {
  return [{ name: WHOLE_JOB_UNIT, kind: 'job', partition: 0, inputs: 1, job, output: { kind: 'sink' } }];
}

/** The stateful stage partitions a unit runs (what its state API answers for). */
export function unitPartitions(unit: JobUnit): { readonly stage: string; readonly partition: number }[] {
  if (unit.kind === 'stage') return [{ stage: unit.stage!, partition: unit.partition }];
  if (unit.kind === 'source') return [];
  return unit.job.steps.flatMap((step) =>
    step.kind === 'process'
      ? Array.from({ length: step.parallelism }, (_, partition) => ({ stage: step.name, partition }))
      : [],
  );
}

/** The unit that runs partition `partition` of stage `stage`: `<stage>.p<N>` (its checkpoints' task name). */
export function stageUnitName(stage: string, partition: number): string {
  return `${stage}.p${partition}`;
}

/** Splits `job` into its units; `inputPartitions` is how many partitions its input subject has. */
export function planJobUnits(job: Job, inputPartitions = 1): JobUnit[] {
  if (!Number.isInteger(inputPartitions) || inputPartitions < 1) {
    throw new JobDefinitionError(`input partitions must be a positive integer, got ${inputPartitions}`);
  }
  const steps = job.steps;
  // Index of each keyBy that feeds a stateful stage: the cut points between segments.
  const cuts: number[] = [];
  steps.forEach((step, i) => {
    if (step.kind === 'keyBy' && steps[i + 1]?.kind === 'process') cuts.push(i);
  });
  const segment = (from: number, to: number): Job => ({ ...job, steps: steps.slice(from, to) });
  const outputAfter = (cut: number | undefined, writers: number): UnitOutput => {
    if (cut === undefined) return { kind: 'sink' };
    const keyBy = steps[cut] as KeyByStep;
    const stage = steps[cut + 1] as Extract<StepDefinition, { kind: 'process' }>;
    return { kind: 'exchange', keyBy, stage: stage.name, parallelism: stage.parallelism, writers };
  };
  const units: JobUnit[] = [];
  const sourceJob = segment(0, cuts[0] ?? steps.length);
  for (let partition = 0; partition < inputPartitions; partition++) {
    units.push({
      name: `${job.source.name}.i${partition}`,
      kind: 'source',
      partition,
      inputs: 1,
      job: sourceJob,
      output: outputAfter(cuts[0], inputPartitions),
    });
  }
  let inputs = inputPartitions;
  cuts.forEach((cut, k) => {
    const stage = steps[cut + 1] as Extract<StepDefinition, { kind: 'process' }>;
    const stageJob = segment(cut, cuts[k + 1] ?? steps.length);
    for (let partition = 0; partition < stage.parallelism; partition++) {
      units.push({
        name: stageUnitName(stage.name, partition),
        kind: 'stage',
        partition,
        stage: stage.name,
        inputs,
        job: stageJob,
        output: outputAfter(cuts[k + 1], stage.parallelism),
      });
    }
    inputs = stage.parallelism;
  });
  return units;
}
