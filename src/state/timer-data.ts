import type { Instant } from '../../coders/index.ts';
import type { StateNamespace } from './state-namespace.ts';
import type { TimeDomain } from './time-domain.ts';

/**
 * A timer (Beam runners-core's TimerData): it fires for `key` in `namespace` when the clock of its
 * `domain` reaches `timestamp`. A key has at most one timer per (namespace, timerId, domain):
 * setting it again replaces the firing time.
 */
export interface TimerData<K = unknown> {
  /** The key the timer belongs to. On set: the backend's current key when omitted. Always present on fired timers. */
  readonly key?: K;
  readonly namespace: StateNamespace;
  readonly timerId: string;
  /** The timer family (Beam's timerFamilyId; '' or absent for a timer outside a family). */
  readonly timerFamilyId?: string;
  readonly domain: TimeDomain;
  /** When it fires (epoch millis). */
  readonly timestamp: Instant;
  /**
   * The event time of what the firing emits; until it fires, the timer holds the output watermark
   * at this time. Usually equal to `timestamp` for event-time timers.
   */
  readonly outputTimestamp: Instant;
}
