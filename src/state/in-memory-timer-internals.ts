import { BoundedWindow, type Instant } from '../../coders/index.ts';
import { StateError } from './state-errors.ts';
import type { StateNamespace } from './state-namespace.ts';
import { TimeDomain } from './time-domain.ts';
import type { TimerData } from './timer-data.ts';
import { checkTimestamp } from './timestamps.ts';

const DOMAIN_ORDINAL: Record<TimeDomain, number> = {
  [TimeDomain.EVENT_TIME]: 0,
  [TimeDomain.PROCESSING_TIME]: 1,
  [TimeDomain.SYNCHRONIZED_PROCESSING_TIME]: 2,
};

function compareInstants(a: Instant, b: Instant): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Beam's TimerData.compareTo: by timestamp, then output timestamp, domain, timer id, timer family
 * id, and namespace string key.
 */
export function compareTimerData(a: TimerData, b: TimerData): number {
  return (
    compareInstants(a.timestamp, b.timestamp) ||
    compareInstants(a.outputTimestamp, b.outputTimestamp) ||
    DOMAIN_ORDINAL[a.domain] - DOMAIN_ORDINAL[b.domain] ||
    compareStrings(a.timerId, b.timerId) ||
    compareStrings(a.timerFamilyId ?? '', b.timerFamilyId ?? '') ||
    compareStrings(a.namespace.stringKey(), b.namespace.stringKey())
  );
}

/** The key of a timer in `existing`: Beam's (namespace, timerId + '+' + timerFamilyId). */
function timerKeyOf(namespace: StateNamespace, timerId: string, timerFamilyId: string): string {
  return `${namespace.stringKey()}\u0000${timerId}+${timerFamilyId}`;
}

/**
 * Beam runners-core's InMemoryTimerInternals: timers of one key with every clock simulated, for
 * tests and tools. The clocks (input watermark, processing time, synchronized processing time) start
 * at TIMESTAMP_MIN_VALUE and only move forward; the output watermark starts unset (null) and is
 * clipped to the input watermark. A timer is due once its domain's clock is strictly after its
 * timestamp; due timers come out in Beam's TimerData order (timestamp, output timestamp, domain,
 * timer id, family id, namespace).
 *
 * A timer is identified by (namespace, timerId, timerFamilyId), whatever its domain: setting it in
 * another domain than the one it is set in throws, and setting it again at the same timestamp keeps
 * the first setting (Beam's rules). The runtime's own timers differ; see docs/beam-compat.md.
 */
export class InMemoryTimerInternals {
  private readonly existing = new Map<string, TimerData>();
  private readonly pending: Record<TimeDomain, TimerData[]> = {
    [TimeDomain.EVENT_TIME]: [],
    [TimeDomain.PROCESSING_TIME]: [],
    [TimeDomain.SYNCHRONIZED_PROCESSING_TIME]: [],
  };
  private inputWatermarkTime: Instant = BoundedWindow.TIMESTAMP_MIN_VALUE;
  private outputWatermarkTime: Instant | null = null;
  private processingTime: Instant = BoundedWindow.TIMESTAMP_MIN_VALUE;
  private synchronizedProcessingTime: Instant = BoundedWindow.TIMESTAMP_MIN_VALUE;

  /**
   * Sets a timer: `setTimer(timerData)`, or Beam's
   * `setTimer(namespace, timerId, timerFamilyId, target, outputTimestamp, timeDomain)`.
   * @throws StateError when the timer is set in another domain already, or on a bad timestamp or domain.
   */
  setTimer(timer: TimerData): void;
  setTimer(
    namespace: StateNamespace,
    timerId: string,
    timerFamilyId: string,
    target: Instant,
    outputTimestamp: Instant,
    timeDomain: TimeDomain,
  ): void;
  setTimer(
    a: TimerData | StateNamespace,
    timerId?: string,
    timerFamilyId?: string,
    target?: Instant,
    outputTimestamp?: Instant,
    timeDomain?: TimeDomain,
  ): void {
    const given: TimerData =
      timerId === undefined
        ? (a as TimerData)
        : {
            namespace: a as StateNamespace,
            timerId,
            timerFamilyId: timerFamilyId ?? '',
            timestamp: target!,
            outputTimestamp: outputTimestamp!,
            domain: timeDomain!,
          };
    if (!(given.domain in DOMAIN_ORDINAL))
      throw new StateError(`timer '${given.timerId}': unknown time domain '${String(given.domain)}'`);
    const timestamp = checkTimestamp(given.timestamp, `timer '${given.timerId}'`);
    const timer: TimerData = {
      ...given,
      timerFamilyId: given.timerFamilyId ?? '',
      timestamp,
      outputTimestamp: checkTimestamp(given.outputTimestamp ?? timestamp, `timer '${given.timerId}' output timestamp`),
    };
    const key = timerKeyOf(timer.namespace, timer.timerId, timer.timerFamilyId!);
    const existing = this.existing.get(key);
    if (existing === undefined) {
      this.existing.set(key, timer);
      this.insert(timer);
      return;
    }
    if (existing.domain !== timer.domain) {
      throw new StateError(
        `Attempt to set ${timer.timerId} for time domain ${timer.domain}, but it is already set for time domain ${existing.domain}`,
      );
    }
    if (existing.timestamp !== timer.timestamp) {
      this.remove(existing);
      this.insert(timer);
      this.existing.set(key, timer);
    }
  }

  /**
   * Deletes a timer: `deleteTimer(timerData)`, or by `(namespace, timerId, timerFamilyId)` in any
   * domain, or by `(namespace, timerId, timerFamilyId, timeDomain)` in that domain. Deleting a timer
   * that is not set does nothing.
   */
  deleteTimer(timer: TimerData): void;
  deleteTimer(namespace: StateNamespace, timerId: string, timerFamilyId: string, timeDomain?: TimeDomain): void;
  deleteTimer(a: TimerData | StateNamespace, timerId?: string, timerFamilyId?: string, timeDomain?: TimeDomain): void {
    const namespace = timerId === undefined ? (a as TimerData).namespace : (a as StateNamespace);
    const id = timerId ?? (a as TimerData).timerId;
    const family = timerId === undefined ? ((a as TimerData).timerFamilyId ?? '') : (timerFamilyId ?? '');
    const key = timerKeyOf(namespace, id, family);
    const existing = this.existing.get(key);
    if (existing === undefined) return;
    if (timeDomain !== undefined && existing.domain !== timeDomain) return;
    this.existing.delete(key);
    this.remove(existing);
  }

  currentInputWatermarkTime(): Instant {
    return this.inputWatermarkTime;
  }
  /** null until advanceOutputWatermark is first called. */
  currentOutputWatermarkTime(): Instant | null {
    return this.outputWatermarkTime;
  }
  currentProcessingTime(): Instant {
    return this.processingTime;
  }
  currentSynchronizedProcessingTime(): Instant {
    return this.synchronizedProcessingTime;
  }

  /** When the next timer of `domain` is due, or null when none is set in it. */
  getNextTimer(domain: TimeDomain): Instant | null {
    return this.timers(domain)[0]?.timestamp ?? null;
  }

  /** @throws StateError when it would move the input watermark backwards. */
  advanceInputWatermark(newInputWatermark: Instant): void {
    this.inputWatermarkTime = this.advance('input watermark', this.inputWatermarkTime, newInputWatermark);
  }

  /**
   * Advances the output watermark, clipped to the input watermark.
   * @throws StateError when it would move the output watermark backwards.
   */
  advanceOutputWatermark(newOutputWatermark: Instant): void {
    let adjusted = checkTimestamp(newOutputWatermark, 'output watermark');
    if (adjusted > this.inputWatermarkTime) adjusted = this.inputWatermarkTime;
    if (this.outputWatermarkTime !== null && adjusted < this.outputWatermarkTime) {
      throw new StateError(
        `Cannot move output watermark time backwards from ${this.outputWatermarkTime} to ${adjusted}`,
      );
    }
    this.outputWatermarkTime = adjusted;
  }

  /** @throws StateError when it would move processing time backwards. */
  advanceProcessingTime(newProcessingTime: Instant): void {
    this.processingTime = this.advance('processing time', this.processingTime, newProcessingTime);
  }

  /** @throws StateError when it would move synchronized processing time backwards. */
  advanceSynchronizedProcessingTime(newSynchronizedProcessingTime: Instant): void {
    this.synchronizedProcessingTime = this.advance(
      'synchronized processing time',
      this.synchronizedProcessingTime,
      newSynchronizedProcessingTime,
    );
  }

  /** The next event-time timer the input watermark has passed, removed; null when none. */
  removeNextEventTimer(): TimerData | null {
    return this.removeNextTimer(this.inputWatermarkTime, TimeDomain.EVENT_TIME);
  }
  /** The next processing-time timer processing time has passed, removed; null when none. */
  removeNextProcessingTimer(): TimerData | null {
    return this.removeNextTimer(this.processingTime, TimeDomain.PROCESSING_TIME);
  }
  /** The next synchronized-processing-time timer its clock has passed, removed; null when none. */
  removeNextSynchronizedProcessingTimer(): TimerData | null {
    return this.removeNextTimer(this.synchronizedProcessingTime, TimeDomain.SYNCHRONIZED_PROCESSING_TIME);
  }

  toString(): string {
    return (
      `InMemoryTimerInternals{eventTimers=${this.pending.EVENT_TIME.length}, processingTimers=${this.pending.PROCESSING_TIME.length}, ` +
      `synchronizedProcessingTimers=${this.pending.SYNCHRONIZED_PROCESSING_TIME.length}, inputWatermarkTime=${this.inputWatermarkTime}, ` +
      `outputWatermarkTime=${this.outputWatermarkTime}, processingTime=${this.processingTime}}`
    );
  }

  private advance(clock: string, current: Instant, next: Instant): Instant {
    const t = checkTimestamp(next, clock);
    if (t < current) throw new StateError(`Cannot move ${clock} time backwards from ${current} to ${t}`);
    return t;
  }

  private removeNextTimer(currentTime: Instant, domain: TimeDomain): TimerData | null {
    const timers = this.timers(domain);
    const first = timers[0];
    if (first === undefined || !(currentTime > first.timestamp)) return null;
    timers.shift();
    this.existing.delete(timerKeyOf(first.namespace, first.timerId, first.timerFamilyId ?? ''));
    return first;
  }

  private timers(domain: TimeDomain): TimerData[] {
    const timers = this.pending[domain];
    if (timers === undefined) throw new StateError(`unknown time domain '${String(domain)}'`);
    return timers;
  }

  /** Binary insertion in TimerData order (a tool's volumes: arrays beat a tree here). */
  private insert(timer: TimerData): void {
    const timers = this.timers(timer.domain);
    let lo = 0;
    let hi = timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareTimerData(timers[mid]!, timer) < 0) lo = mid + 1;
      else hi = mid;
    }
    timers.splice(lo, 0, timer);
  }

  private remove(timer: TimerData): void {
    const timers = this.timers(timer.domain);
    const i = timers.indexOf(timer);
    if (i >= 0) timers.splice(i, 1);
  }
}
