// `stator run --parallelism`: a job's stages run with other partition counts than its module says,
// e.g. to rescale a job between runs without editing it (its state moves by key group).
import { ConfigError } from '../errors.ts';
import type { Job } from './job.ts';

/** Partitions per stage name; `'*'` sets every keyed stage. */
export type ParallelismOverride = Readonly<Record<string, number>>;

/**
 * Parses `--parallelism` values: `6` (every keyed stage) or `<stage>=<n>`, several comma-separated
 * or the option repeated.
 * @throws ConfigError on a malformed value.
 */
export function parseParallelism(values: readonly string[]): ParallelismOverride {
  const override: Record<string, number> = {};
  for (const item of values.flatMap((value) => value.split(','))) {
    const match = /^(?:([^=\s]+)=)?(\d+)$/.exec(item.trim());
    const n = match === null ? NaN : Number(match[2]);
    if (match === null || !Number.isSafeInteger(n) || n < 1) {
      throw new ConfigError(
        `--parallelism ${item} is not <n> or <stage>=<n> with n >= 1; e.g. --parallelism count=6, or --parallelism 6 for every keyed stage`,
      );
    }
    override[match[1] ?? '*'] = n;
  }
  return override;
}

/**
 * The job with its stages' parallelism replaced (a stage named in `override`, else `'*'`).
 * @throws ConfigError when a stage is unknown or a count exceeds the job's maxKeyGroups.
 */
export function withParallelism(job: Job, override: ParallelismOverride): Job {
  const stages = job.steps.filter((step) => step.kind === 'process').map((step) => step.name);
  for (const name of Object.keys(override)) {
    if (name !== '*' && !stages.includes(name)) {
      throw new ConfigError(
        `--parallelism names stage ${name}, which job ${job.name} does not have; its keyed stages: ${stages.join(', ') || 'none'}`,
      );
    }
  }
  for (const [name, n] of Object.entries(override)) {
    if (n > job.maxKeyGroups) {
      throw new ConfigError(
        `--parallelism ${name === '*' ? '' : `${name}=`}${n} exceeds job ${job.name}'s maxKeyGroups (${job.maxKeyGroups}): a partition owns whole key groups`,
      );
    }
  }
  return {
    ...job,
    steps: job.steps.map((step) => {
      if (step.kind !== 'process') return step;
      const parallelism = override[step.name] ?? override['*'];
      return parallelism === undefined ? step : { ...step, parallelism };
    }),
  };
}
