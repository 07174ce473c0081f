import { BoundedWindow, GlobalWindow, instantPlus, normalizeInstant, type Instant } from '../../coders/index.ts';
import type { StateNamespace } from '../state/state-namespace.ts';
import { TimeDomain } from '../state/time-domain.ts';
import { OutputTimestampError, TimerError } from './task-errors.ts';

/**
 * A timer of the key in scope (Beam's `org.apache.beam.sdk.state.Timer`), obtained with
 * `this.timer(id, domain)` in a StatefulTask. Each key + namespace + timer id has at most one firing
 * time: setting it again replaces the previous time, `clear()` removes it. A fired timer is
 * delivered to `onTimer(timer, ctx)` with its key in scope.
 *
 * Times are epoch milliseconds; durations are milliseconds. `offset`, `align` and
 * `withOutputTimestamp` configure the next `set`/`setRelative` of the same turn (as in Beam, where a
 * Timer object lives for one invocation): they are forgotten when the turn ends.
 */
export interface Timer {
  /**
   * Sets the timer to fire at `absoluteTime`: an event-time timer when the input watermark passes it,
   * a processing-time timer when processing time passes it.
   * @throws TimerError when no key is in scope or an event-time target lies beyond the namespace's
   *   window (GlobalWindow.MAX_TIMESTAMP for the global namespace).
   * @throws OutputTimestampError when `withOutputTimestamp` gave a time out of range.
   */
  set(absoluteTime: Instant): void;
  /**
   * Sets the timer relative to the current time of its domain (the input watermark for event time,
   * processing time otherwise), shifted by `offset` and rounded up to `align`'s period:
   * target = now + offset, or with a period p the first t >= now with (t + offset) mod p == 0.
   */
  setRelative(): void;
  /** Removes the timer's firing time, if any. */
  clear(): void;
  /** Offsets the target of `setRelative()` by `durationMs`. Returns this. */
  offset(durationMs: number): Timer;
  /** Aligns the target of `setRelative()` to the next multiple of `periodMs` (see setRelative). Returns this. */
  align(periodMs: number): Timer;
  /**
   * The timestamp outputs of `onTimer` get by default, and the watermark hold the timer keeps while
   * pending. Defaults: the firing time for event-time timers, the current element's (or firing
   * timer's) timestamp for processing-time timers. Must not be earlier than that element timestamp
   * minus the task's allowed timestamp skew. Returns this.
   */
  withOutputTimestamp(outputTimestamp: Instant): Timer;
  /** The timer holds no watermark and its outputs need an explicit timestamp. Returns this. */
  withNoOutputTimestamp(): Timer;
  /** The time `setRelative()` counts from: the input watermark or processing time. */
  getCurrentRelativeTime(): Instant;
}

/** Beam's TimerSpec: the time domain of a declared timer. */
export interface TimerSpec {
  readonly timeDomain: TimeDomain;
}

/** Factories for timer specs, as Beam's TimerSpecs. */
export const TimerSpecs = {
  timer(timeDomain: TimeDomain): TimerSpec {
    if (timeDomain !== TimeDomain.EVENT_TIME && timeDomain !== TimeDomain.PROCESSING_TIME) {
      throw new TimerError(
        `unknown time domain '${String(timeDomain)}': use TimeDomain.EVENT_TIME or TimeDomain.PROCESSING_TIME`,
      );
    }
    return Object.freeze({ timeDomain });
  },
};

/** A timer delivered to `onTimer`: which timer fired, for which key, at what time. */
export interface FiredTimer<K> {
  readonly key: K;
  readonly namespace: StateNamespace;
  readonly timerId: string;
  /** The timer family, '' for timers made with `timer()`. */
  readonly timerFamilyId: string;
  readonly domain: TimeDomain;
  /** When the timer was set to fire. */
  readonly timestamp: Instant;
  /** The default timestamp of outputs from onTimer (BoundedWindow.TIMESTAMP_MAX_VALUE + 1 when none). */
  readonly outputTimestamp: Instant;
}

/** The timer that holds no output watermark, as Beam: one past the end of time. */
export const NO_OUTPUT_TIMESTAMP: Instant = normalizeInstant(BigInt(BoundedWindow.TIMESTAMP_MAX_VALUE) + 1n);

/**
 * What a bound timer needs from the runner driving it. Internal: implemented by the task runner.
 */
export interface TimerHost {
  /** Increments on every turn: builder settings made in an earlier turn are stale. */
  readonly turn: number;
  readonly allowedTimestampSkewMs: number;
  currentTime(domain: TimeDomain): Instant;
  /** The element's timestamp, or the firing timer's output timestamp; throws TimerError when neither is in scope. */
  inputTimestampForTimer(): Instant;
  setTimer(
    namespace: StateNamespace,
    timerId: string,
    timerFamilyId: string,
    target: Instant,
    outputTimestamp: Instant,
    domain: TimeDomain,
  ): void;
  deleteTimer(namespace: StateNamespace, timerId: string, timerFamilyId: string, domain: TimeDomain): void;
}

/** The Timer implementation: a handle acting on the key in scope at each call. */
export class BoundTimer implements Timer {
  // Builder settings of the turn `settingsTurn`; reset lazily when a later turn uses the handle.
  private settingsTurn = -1;
  private offsetMs = 0;
  private periodMs = 0;
  private outputTimestamp: Instant | undefined = undefined;
  private noOutputTimestamp = false;

  constructor(
    private readonly host: TimerHost,
    readonly namespace: StateNamespace,
    readonly timerId: string,
    readonly timerFamilyId: string,
    readonly domain: TimeDomain,
  ) {}

  set(absoluteTime: Instant): void {
    this.freshSettings();
    const target = normalizeInstant(absoluteTime);
    if (this.domain === TimeDomain.EVENT_TIME && target > this.expiry()) {
      throw new TimerError(
        `event-time timer '${this.timerId}' set to ${target}, after the end of ${this.namespace.toString()} (${this.expiry()}): ` +
          'it could never fire; set it at or before the window end',
      );
    }
    this.setUnderlying(target);
  }

  setRelative(): void {
    this.freshSettings();
    const now = this.host.currentTime(this.domain);
    let target = alignedTarget(now, this.offsetMs, this.periodMs);
    // Beam clamps relative event-time targets to the window's end rather than failing.
    if (this.domain === TimeDomain.EVENT_TIME && target > this.expiry()) target = this.expiry();
    this.setUnderlying(target);
  }

  clear(): void {
    this.host.deleteTimer(this.namespace, this.timerId, this.timerFamilyId, this.domain);
  }

  offset(durationMs: number): Timer {
    checkMillis(durationMs, 'offset');
    this.freshSettings();
    this.offsetMs = durationMs;
    return this;
  }

  align(periodMs: number): Timer {
    checkMillis(periodMs, 'align period');
    if (periodMs < 0)
      throw new TimerError(`align period ${periodMs} ms is negative: pass a positive period, or 0 for none`);
    this.freshSettings();
    this.periodMs = periodMs;
    return this;
  }

  withOutputTimestamp(outputTimestamp: Instant): Timer {
    this.freshSettings();
    this.outputTimestamp = normalizeInstant(outputTimestamp);
    this.noOutputTimestamp = false;
    return this;
  }

  withNoOutputTimestamp(): Timer {
    this.freshSettings();
    this.outputTimestamp = undefined;
    this.noOutputTimestamp = true;
    return this;
  }

  getCurrentRelativeTime(): Instant {
    return this.host.currentTime(this.domain);
  }

  private freshSettings(): void {
    if (this.settingsTurn === this.host.turn) return;
    this.settingsTurn = this.host.turn;
    this.offsetMs = 0;
    this.periodMs = 0;
    this.outputTimestamp = undefined;
    this.noOutputTimestamp = false;
  }

  private expiry(): Instant {
    return this.namespace.window?.maxTimestamp() ?? GlobalWindow.MAX_TIMESTAMP;
  }

  // Beam's setAndVerifyOutputTimestamp: explicit output timestamps are bounded below by the input
  // timestamp minus the allowed skew; defaults are the firing time (event time) or the input
  // timestamp (processing time).
  private setUnderlying(target: Instant): void {
    let output: Instant;
    if (this.outputTimestamp !== undefined) {
      const input = this.host.inputTimestampForTimer();
      const lowerBound = skewedLowerBound(input, this.host.allowedTimestampSkewMs);
      if (this.outputTimestamp < lowerBound || this.outputTimestamp > BoundedWindow.TIMESTAMP_MAX_VALUE) {
        throw new OutputTimestampError(
          `timer '${this.timerId}' output timestamp ${this.outputTimestamp} must be no earlier than the current input's ` +
            `timestamp ${input} minus the allowed skew (${this.host.allowedTimestampSkewMs} ms) and no later than ` +
            `${BoundedWindow.TIMESTAMP_MAX_VALUE}: raise allowedTimestampSkewMs on the task if you need earlier outputs`,
        );
      }
      output = this.outputTimestamp;
    } else if (this.noOutputTimestamp) {
      output = NO_OUTPUT_TIMESTAMP;
    } else if (this.domain === TimeDomain.EVENT_TIME) {
      output = target;
    } else {
      output = this.host.inputTimestampForTimer();
    }
    if (output !== NO_OUTPUT_TIMESTAMP && output > this.expiry()) {
      throw new TimerError(
        `timer '${this.timerId}' output timestamp ${output} is after the end of ${this.namespace.toString()} (${this.expiry()}): ` +
          'give it an earlier output timestamp',
      );
    }
    this.host.setTimer(this.namespace, this.timerId, this.timerFamilyId, target, output, this.domain);
  }
}

/**
 * A family of timers with dynamic ids (Beam's TimerMap, for `@TimerFamily`): `set(id, time)` sets
 * the family's timer `id`, `get(id)` gives its Timer. Fired timers carry `timerFamilyId`.
 */
export interface TimerMap {
  set(timerId: string, absoluteTime: Instant): void;
  get(timerId: string): Timer;
}

export class BoundTimerMap implements TimerMap {
  private readonly timers = new Map<string, BoundTimer>();
  constructor(
    private readonly host: TimerHost,
    private readonly namespace: StateNamespace,
    private readonly timerFamilyId: string,
    private readonly domain: TimeDomain,
  ) {}

  set(timerId: string, absoluteTime: Instant): void {
    this.get(timerId).set(absoluteTime);
  }

  get(timerId: string): Timer {
    let timer = this.timers.get(timerId);
    if (timer === undefined) {
      timer = new BoundTimer(this.host, this.namespace, timerId, this.timerFamilyId, this.domain);
      this.timers.set(timerId, timer);
    }
    return timer;
  }
}

/** `input - skewMs`, saturating at BoundedWindow.TIMESTAMP_MIN_VALUE (skew may be Infinity). */
export function skewedLowerBound(input: Instant, skewMs: number): Instant {
  if (skewMs === 0) return input;
  if (!Number.isFinite(skewMs)) return BoundedWindow.TIMESTAMP_MIN_VALUE;
  const bound = instantPlus(input, -skewMs);
  return bound < BoundedWindow.TIMESTAMP_MIN_VALUE ? BoundedWindow.TIMESTAMP_MIN_VALUE : bound;
}

/**
 * `now + offset`, or with a period the first t >= now with (t + offset) ≡ 0 (mod period).
 * Beam computes the remainder with Java's `%`, which is negative for times before 1970 and then
 * lands a period late; stator uses the floor remainder, so alignment is the same on both sides of 0.
 */
export function alignedTarget(now: Instant, offsetMs: number, periodMs: number): Instant {
  if (periodMs === 0) return instantPlus(now, offsetMs);
  if (typeof now === 'number' && Number.isSafeInteger(now + offsetMs)) {
    const rem = (((now + offsetMs) % periodMs) + periodMs) % periodMs;
    return rem === 0 ? now : instantPlus(now, periodMs - rem);
  }
  const p = BigInt(periodMs);
  const rem = (((BigInt(now) + BigInt(offsetMs)) % p) + p) % p;
  return rem === 0n ? normalizeInstant(now) : instantPlus(now, normalizeInstant(p - rem));
}

function checkMillis(ms: number, what: string): void {
  if (!Number.isSafeInteger(ms)) throw new TimerError(`${what} ${ms} is not a whole number of milliseconds`);
}
