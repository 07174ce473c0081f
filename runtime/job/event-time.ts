import type { TimestampExtractor } from './job.ts';

/**
 * The event time a source's extractor gives `message`.
 * @throws TypeError when the extractor returns no number (the source dead-letters the message).
 */
export function eventTimeOf<T>(extractor: TimestampExtractor<T>, message: T): number {
  const timestamp = extractor(message);
  if (typeof timestamp !== 'number' || Number.isNaN(timestamp)) {
    throw new TypeError(`timestamp extractor returned ${String(timestamp)}, expected epoch millis`);
  }
  return timestamp;
}
