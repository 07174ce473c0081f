import type { Outlet } from '../engine/outlet.ts';
import { WATERMARK_MIN } from '../engine/watermark-tracker.ts';
import { eventTimeOf, watermarkOf } from './event-time.ts';
import type { SourceDefinition } from './job.ts';

/**
 * A source's event time and watermark, shared by every source binding (file, NATS stream) so that the
 * same input gives the same times and watermarks whatever it is read from: Flink's bounded
 * out-of-orderness generator (the watermark is the greatest time seen minus the allowed
 * out-of-orderness) plus the job's explicit watermark messages. Without a timestamp extractor the time
 * of a message is its ingestion time, given by the binding, and the allowed out-of-orderness is 0.
 * Watermarks sent never move back. When to send a marker is the binding's business (it knows its
 * positions); what the watermark is, is decided here.
 */
export class SourceWatermarks<T> {
  private greatest = WATERMARK_MIN;
  private lastSent = WATERMARK_MIN;
  private readonly lateness: number;

  constructor(
    private readonly definition: SourceDefinition<T>,
    private readonly outlet: Outlet,
  ) {
    this.lateness = definition.timestamp === undefined ? 0 : definition.maxOutOfOrdernessMs;
  }

  /** True when times come from the job's timestamp extractor, false for ingestion time. */
  get eventTime(): boolean {
    return this.definition.timestamp !== undefined;
  }

  /** True once a data message was timed. */
  get seen(): boolean {
    return this.greatest > WATERMARK_MIN;
  }

  /** The greatest time seen minus the allowed out-of-orderness (WATERMARK_MIN before any message). */
  get bound(): number {
    return this.seen ? this.greatest - this.lateness : WATERMARK_MIN;
  }

  /**
   * The time of data message `message` (received at `ingestionTime`), or undefined when it is an
   * explicit watermark message, which is then sent at `position` and is not data.
   * @throws InvalidEventTimeError when the extractor or recognizer gives no safe integer (the
   * binding dead-letters the message).
   */
  timeOf(message: T, ingestionTime: number, position: number): number | undefined {
    const definition = this.definition;
    if (definition.watermark !== undefined) {
      const watermark = watermarkOf(definition.watermark, message);
      if (watermark !== undefined) {
        this.send(watermark, position);
        return undefined;
      }
    }
    const time = definition.timestamp === undefined ? ingestionTime : eventTimeOf(definition.timestamp, message);
    if (time > this.greatest) this.greatest = time;
    return time;
  }

  /** Sends the bound if it passed the last watermark sent (event time follows every message that moves it). */
  advance(position: number): void {
    if (this.bound > this.lastSent) this.send(this.bound, position);
  }

  /**
   * Sends a marker at `position`: `watermark` (default: the bound), or the last watermark sent when
   * that is later. Always sends, so downstream also learns the position.
   */
  mark(position: number, watermark = this.bound): void {
    this.send(watermark, position);
  }

  /**
   * No input for a while. Ingestion time: no message can come with a time before `now`, so the
   * watermark moves there. Event time: the input reports itself idle (once per quiet spell: the
   * binding decides), so it stops holding back downstream watermarks.
   */
  idle(position: number, now: number): void {
    if (this.eventTime) this.outlet.idle(0);
    else this.send(now, position);
  }

  /** The end of a bounded input: `final`, which fires every event-time timer. */
  finish(final: number, position: number): void {
    this.lastSent = final;
    this.outlet.watermark(0, final, position);
  }

  private send(watermark: number, position: number): void {
    if (watermark > this.lastSent) this.lastSent = watermark;
    this.outlet.watermark(0, this.lastSent, position);
  }
}
