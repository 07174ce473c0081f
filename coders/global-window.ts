import type { BoundedWindow } from './bounded-window.ts';
import type { Instant } from './instant.ts';

/**
 * The single window that spans all of time (Beam's GlobalWindow). Use GlobalWindow.INSTANCE.
 * Its max timestamp is one day before BoundedWindow.TIMESTAMP_MAX_VALUE, as in Beam, so that timers
 * set at the end of the global window still fire before the final watermark.
 */
export class GlobalWindow implements BoundedWindow {
  static readonly INSTANCE = new GlobalWindow();
  /** 9223372036854775 ms - 1 day, exactly Beam's GlobalWindow.INSTANCE.maxTimestamp(). */
  static readonly MAX_TIMESTAMP: Instant = 9223372036854775n - 86_400_000n;

  private constructor() {}

  maxTimestamp(): Instant {
    return GlobalWindow.MAX_TIMESTAMP;
  }

  equals(other: unknown): boolean {
    return other instanceof GlobalWindow;
  }

  toString(): string {
    return 'GlobalWindow';
  }
}
