import type { BoundedWindow } from '../../coders/index.ts';
import type { WindowFn } from './window-fn.ts';
import { checkDurationMs } from './window-time.ts';

/**
 * How a WindowedTask windows its input (the part of Beam's WindowingStrategy stator implements):
 * the WindowFn and the allowed lateness. The trigger is Beam's default (fire when the watermark
 * passes the end of the window, and once per late element), panes are discarding.
 */
export class WindowingStrategy<W extends BoundedWindow> {
  private constructor(
    readonly windowFn: WindowFn<W>,
    /** How long after the end of a window late elements are still processed (Beam's allowed lateness). */
    readonly allowedLatenessMs: number,
  ) {}

  /** `windowFn` with no allowed lateness. */
  static of<W extends BoundedWindow>(windowFn: WindowFn<W>): WindowingStrategy<W> {
    return new WindowingStrategy(windowFn, 0);
  }

  /**
   * The same WindowFn with `allowedLatenessMs` of allowed lateness. @throws WindowingError unless a non-negative
   * integer.
   */
  withAllowedLateness(allowedLatenessMs: number): WindowingStrategy<W> {
    return new WindowingStrategy(this.windowFn, checkDurationMs(allowedLatenessMs, 'allowed lateness', true));
  }

  toString(): string {
    return `WindowingStrategy(${this.windowFn}, allowedLateness=${this.allowedLatenessMs}ms)`;
  }
}
