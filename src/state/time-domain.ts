/** The clock a timer follows (Beam's TimeDomain; synchronized processing time is not supported). */
export const TimeDomain = {
  /** Fires when the input watermark reaches the timer's timestamp. */
  EVENT_TIME: 'EVENT_TIME',
  /** Fires when processing (wall-clock) time reaches the timer's timestamp. */
  PROCESSING_TIME: 'PROCESSING_TIME',
} as const;
export type TimeDomain = (typeof TimeDomain)[keyof typeof TimeDomain];
