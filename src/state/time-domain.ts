/** The clock a timer follows (Beam's TimeDomain). */
export const TimeDomain = {
  /** Fires when the input watermark passes the timer's timestamp. */
  EVENT_TIME: 'EVENT_TIME',
  /** Fires when processing (wall-clock) time passes the timer's timestamp. */
  PROCESSING_TIME: 'PROCESSING_TIME',
  /**
   * Beam's synchronized processing time (processing time agreed by all upstream workers). Only
   * InMemoryTimerInternals simulates it; the runtime's timers refuse it.
   */
  SYNCHRONIZED_PROCESSING_TIME: 'SYNCHRONIZED_PROCESSING_TIME',
} as const;
export type TimeDomain = (typeof TimeDomain)[keyof typeof TimeDomain];
