import { checkInstant, normalizeInstant, type Instant } from './instant.ts';

/** A value with an event timestamp in epoch milliseconds (Beam's TimestampedValue). */
export class TimestampedValue<V> {
  private constructor(
    readonly value: V,
    readonly timestamp: Instant,
  ) {}

  /** @throws CoderError when `timestamp` is not an integer millisecond (see Instant). */
  static of<V>(value: V, timestamp: Instant): TimestampedValue<V> {
    checkInstant(timestamp, 'TimestampedValue timestamp');
    return new TimestampedValue(value, normalizeInstant(timestamp));
  }

  toString(): string {
    return `TimestampedValue(${String(this.value)}, ${this.timestamp})`;
  }
}
