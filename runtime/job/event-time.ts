import { InvalidEventTimeError } from '../errors.ts';
import type { TimestampExtractor } from './job.ts';

/** Checks an event time or watermark a source was given; returns it. */
export function checkEventTime(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  throw new InvalidEventTimeError(what, value);
}

/**
 * The event time a source's extractor gives `message`.
 * @throws InvalidEventTimeError when it is not a safe integer (the source dead-letters the message).
 */
export function eventTimeOf<T>(extractor: TimestampExtractor<T>, message: T): number {
  return checkEventTime(extractor(message), 'the timestamp extractor');
}

/**
 * The watermark of an explicit watermark message, or undefined for a data message.
 * @throws InvalidEventTimeError when it is not a safe integer (the source dead-letters the message).
 */
export function watermarkOf<T>(recognize: (message: T) => number | undefined, message: T): number | undefined {
  const watermark = recognize(message);
  return watermark === undefined ? undefined : checkEventTime(watermark, 'the watermark recognizer');
}
