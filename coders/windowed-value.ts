import type { BoundedWindow } from './bounded-window.ts';
import { GlobalWindow } from './global-window.ts';
import { checkInstant, normalizeInstant, type Instant } from './instant.ts';
import { PaneInfo } from './pane-info.ts';
import { CoderError } from './stator-error.ts';
import { valueEquals } from './value-equals.ts';

/**
 * A value with its event timestamp, the windows it belongs to and its pane (Beam's WindowedValue),
 * the element format of Beam's runners and of `beam:coder:windowed_value:v1`.
 */
export class WindowedValue<T> {
  private constructor(
    readonly value: T,
    readonly timestamp: Instant,
    readonly windows: readonly BoundedWindow[],
    readonly pane: PaneInfo,
  ) {}

  /**
   * Beam's WindowedValue.of.
   * @throws CoderError when the timestamp is not an integer millisecond or the pane is not a PaneInfo.
   */
  static of<T>(
    value: T,
    timestamp: Instant,
    windows: Iterable<BoundedWindow>,
    pane: PaneInfo = PaneInfo.NO_FIRING,
  ): WindowedValue<T> {
    checkInstant(timestamp, 'WindowedValue timestamp');
    if (!(pane instanceof PaneInfo)) throw new CoderError('WindowedValue: pane must be a PaneInfo');
    return new WindowedValue(value, normalizeInstant(timestamp), Object.freeze([...windows]), pane);
  }

  /** In the global window at `timestamp` with no firing (Beam's timestampedValueInGlobalWindow). */
  static timestampedValueInGlobalWindow<T>(value: T, timestamp: Instant): WindowedValue<T> {
    return WindowedValue.of(value, timestamp, [GlobalWindow.INSTANCE]);
  }

  /** The same timestamp, windows and pane with another value (Beam's withValue). */
  withValue<U>(value: U): WindowedValue<U> {
    return new WindowedValue(value, this.timestamp, this.windows, this.pane);
  }

  /** One WindowedValue per window (Beam's explodeWindows). */
  explodeWindows(): WindowedValue<T>[] {
    return this.windows.map((w) => new WindowedValue(this.value, this.timestamp, Object.freeze([w]), this.pane));
  }

  /** Same value (see valueEquals), timestamp, windows in order and pane. */
  equals(other: unknown): boolean {
    return (
      other instanceof WindowedValue &&
      valueEquals(this.value, other.value) &&
      valueEquals(this.timestamp, other.timestamp) &&
      valueEquals(this.windows, other.windows) &&
      this.pane.equals(other.pane)
    );
  }

  toString(): string {
    return `WindowedValue{value=${String(this.value)}, timestamp=${this.timestamp}, windows=[${this.windows.map(String).join(', ')}], pane=${this.pane}}`;
  }
}
