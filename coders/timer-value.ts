import type { BoundedWindow } from './bounded-window.ts';
import { checkInstant, normalizeInstant, type Instant } from './instant.ts';
import { PaneInfo } from './pane-info.ts';
import { CoderError } from './stator-error.ts';
import { valueEquals } from './value-equals.ts';

/**
 * A timer as Beam's runners exchange it (Beam Java's construction `Timer`, Python's
 * `userstate.Timer`), the value of `beam:coder:timer:v1`: the user key, the dynamic timer tag, the
 * windows, and either a clear bit or the fire and hold timestamps and the pane. Named TimerValue
 * here because `Timer` is the task author's timer handle in stator.
 */
export class TimerValue<K> {
  private constructor(
    readonly userKey: K,
    readonly dynamicTimerTag: string,
    readonly windows: readonly BoundedWindow[],
    readonly clearBit: boolean,
    readonly fireTimestamp: Instant | null,
    readonly holdTimestamp: Instant | null,
    readonly pane: PaneInfo | null,
  ) {}

  /** A set timer (Beam's Timer.of). @throws CoderError on a bad tag, timestamp or pane. */
  static of<K>(
    userKey: K,
    dynamicTimerTag: string,
    windows: Iterable<BoundedWindow>,
    fireTimestamp: Instant,
    holdTimestamp: Instant,
    pane: PaneInfo,
  ): TimerValue<K> {
    checkTag(dynamicTimerTag);
    checkInstant(fireTimestamp, 'Timer fire timestamp');
    checkInstant(holdTimestamp, 'Timer hold timestamp');
    if (!(pane instanceof PaneInfo)) throw new CoderError('Timer: pane must be a PaneInfo');
    return new TimerValue(
      userKey,
      dynamicTimerTag,
      Object.freeze([...windows]),
      false,
      normalizeInstant(fireTimestamp),
      normalizeInstant(holdTimestamp),
      pane,
    );
  }

  /** A cleared timer: no timestamps, no pane (Beam's Timer.cleared). */
  static cleared<K>(userKey: K, dynamicTimerTag: string, windows: Iterable<BoundedWindow>): TimerValue<K> {
    checkTag(dynamicTimerTag);
    return new TimerValue(userKey, dynamicTimerTag, Object.freeze([...windows]), true, null, null, null);
  }

  /** Same key (see valueEquals), tag, windows, clear bit, timestamps and pane. */
  equals(other: unknown): boolean {
    return (
      other instanceof TimerValue &&
      valueEquals(this.userKey, other.userKey) &&
      this.dynamicTimerTag === other.dynamicTimerTag &&
      valueEquals(this.windows, other.windows) &&
      this.clearBit === other.clearBit &&
      valueEquals(this.fireTimestamp, other.fireTimestamp) &&
      valueEquals(this.holdTimestamp, other.holdTimestamp) &&
      (this.pane === null ? other.pane === null : this.pane.equals(other.pane))
    );
  }
}

function checkTag(tag: unknown): void {
  if (typeof tag !== 'string')
    throw new CoderError('Timer: the dynamic timer tag must be a string ("" for a timer without one)');
}
