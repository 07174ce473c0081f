import { StatorError } from '../../coders/index.ts';

/**
 * A task runner was used out of order: a turn started while an asynchronous turn was still running,
 * a method was called before `open()` or after `close()`, a restore came after `open()`.
 * This is a bug in the driver (your test or the runtime), not in the task: not retryable.
 */
export class TaskLifecycleError extends StatorError {
  override name = 'TaskLifecycleError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('TASK_LIFECYCLE', message, options);
  }
}

/**
 * The reason `ctx.signal` carries when a runner is abandoned: the job failed or stopped without
 * draining, or the runner closed. Work a task awaits with that signal rejects with it (or with the
 * AbortError its library makes of it); the turn's result is not used.
 */
export class TaskAbandonedError extends StatorError {
  override name = 'TaskAbandonedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('TASK_ABANDONED', message, options);
  }
}

/**
 * A stateful stage's task factory (the function given to `process()`) threw, or returned something
 * that is not a StatefulTask. The factory's error is `cause`. The job's code is at fault, not the
 * input: the run fails (it is not retried or dead-lettered).
 */
export class TaskFactoryError extends StatorError {
  override name = 'TaskFactoryError';
  readonly stage: string;
  constructor(stage: string, problem: string, options?: { cause?: unknown }) {
    super('TASK_FACTORY_FAILED', `the task factory of stage ${stage} ${problem}`, options);
    this.stage = stage;
  }
}

/** The input watermark was moved backwards. Watermarks only advance; pass the same or a later time. */
export class WatermarkRegressionError extends StatorError {
  override name = 'WatermarkRegressionError';
  constructor(current: unknown, requested: unknown) {
    super(
      'WATERMARK_REGRESSION',
      `the input watermark is ${String(current)} and cannot move back to ${String(requested)}: ` +
        'watermarks only advance; compute the new watermark as a minimum over inputs that never decreases',
    );
  }
}

/**
 * An output or a timer's output timestamp lies outside what the current turn may produce: earlier
 * than the element's (or firing timer's) timestamp minus the task's allowed timestamp skew, or later
 * than BoundedWindow.TIMESTAMP_MAX_VALUE, or (in onWatermark) behind the output watermark already
 * published. Such outputs would be late downstream, silently.
 */
export class OutputTimestampError extends StatorError {
  override name = 'OutputTimestampError';
  constructor(message: string) {
    super('OUTPUT_TIMESTAMP', message);
  }
}

/**
 * A timer was used in a way stator (or Beam) does not allow: no key in scope, a bad period, a time beyond its window.
 */
export class TimerError extends StatorError {
  override name = 'TimerError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('TIMER_ERROR', message, options);
  }
}

/**
 * A task callback (open, invoke, onTimer, onWatermark, close) threw or its promise rejected. The
 * task's error is `cause`. The runner stays usable after a failed invoke or onTimer, so the driver
 * may retry: marked retryable.
 */
export class TaskCallbackError extends StatorError {
  override name = 'TaskCallbackError';
  readonly callback: 'open' | 'invoke' | 'onTimer' | 'onWatermark' | 'close';
  constructor(task: string, callback: TaskCallbackError['callback'], detail: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('TASK_CALLBACK_FAILED', `${task}.${callback}() failed${detail}: ${reason}`, { cause, retryable: true });
    this.callback = callback;
  }
}
