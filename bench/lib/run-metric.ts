import type { Metric, MetricResult } from './types.ts';

export interface RunLimits {
  readonly quick: boolean;
  /** Past this the metric's signal aborts and the run fails. */
  readonly timeLimitMs: number;
  /** How long to wait, after aborting, for the metric's own cleanup (servers, children, temp dirs). */
  readonly cleanupGraceMs: number;
  readonly progress: (fraction: number) => void;
}

/** A metric that ran past its time limit (it was aborted and given time to clean up). */
export class MetricTimeoutError extends Error {
  override readonly name = 'MetricTimeoutError';
}

/**
 * Runs one metric. When it overruns, its signal aborts, and this waits up to `cleanupGraceMs` for it
 * to settle (so nothing of it is left running when the next metric starts), then throws
 * MetricTimeoutError. A metric's own failure is rethrown as is.
 */
export async function runMetric(metric: Metric, limits: RunLimits): Promise<MetricResult> {
  const controller = new AbortController();
  const running = metric.run({ quick: limits.quick, progress: limits.progress, signal: controller.signal });
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<'overrun'>((resolve) => {
    timer = setTimeout(() => resolve('overrun'), limits.timeLimitMs);
  });
  try {
    const first = await Promise.race([running, overrun]);
    if (first !== 'overrun') return first;
  } finally {
    clearTimeout(timer);
  }
  const message = `exceeded its time limit of ${limits.timeLimitMs / 1000} s${limits.quick ? ' (quick mode)' : ''}`;
  controller.abort(new MetricTimeoutError(message));
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([
    running.catch(() => undefined),
    new Promise<void>((resolve) => {
      grace = setTimeout(resolve, limits.cleanupGraceMs);
    }),
  ]);
  clearTimeout(grace);
  throw new MetricTimeoutError(message);
}
