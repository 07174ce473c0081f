// The job's source in NATS mode: one subject of a stream, read with StreamSource from the
// checkpointed sequence + 1, decoded and pushed into the pipeline like the file source does with
// lines. Positions are stream sequences, so a checkpoint's position is exactly where to resume.
import type { DeadLetterReceiver, Outlet } from '../engine/outlet.ts';
import { InputNotUtf8Error } from '../errors.ts';
import type { SourceDefinition } from '../job/job.ts';
import { SourceWatermarks } from '../job/source-watermarks.ts';
import type { NatsLink } from './connection.ts';
import type { NatsDeadLetter } from './nats-sink-binding.ts';
import { StreamReaderBinding, type StreamRecordHandler } from './stream-reader-binding.ts';
import type { SourceRecord } from './stream-source.ts';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../defaults.ts';

export interface NatsSourceOptions {
  readonly stream: string;
  readonly subject: string;
  /**
   * With ingestion time (no timestamp extractor), the watermark also advances while no message
   * arrives, after this long: to now minus this (a margin for the server's clock against ours).
   * With event time the source reports itself idle instead.
   * @default 5000
   */
  readonly idleTimeoutMs?: number;
  /** Records per batch taken from the stream. @default 512 */
  readonly maxBatch?: number;
}

/**
 * Watermark markers go out whenever the sequence enters a new block of this many messages: at the
 * same messages in every run, whatever the batches and restore points, so timers fire at the same
 * place in the output and the ordered merge sees quiet partitions progress.
 */
const MARKER_BLOCK = 1024;

/** Decodes the job's input messages: data, explicit watermarks, event times, dead letters. */
class InputDecoder<T> implements StreamRecordHandler {
  private position = 0;
  private readonly watermarks: SourceWatermarks<T>;
  // Fatal: input that is not UTF-8 is a dead letter (with its original bytes), not text with U+FFFD.
  // ignoreBOM keeps a leading U+FEFF as text, as the file source does: same input, same messages.
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(
    private readonly definition: SourceDefinition<T>,
    private readonly subject: string,
    private readonly idleTimeoutMs: number,
    private readonly outlet: Outlet,
    private readonly deadLetter: DeadLetterReceiver,
  ) {
    this.watermarks = new SourceWatermarks(definition, outlet);
  }

  record(record: SourceRecord, previous: number): void {
    // A watermark message's marker carries the position before it, as the file source's do.
    this.position = previous;
    this.emit(record);
    this.position = record.seq;
    if (Math.floor(record.seq / MARKER_BLOCK) !== Math.floor(previous / MARKER_BLOCK)) this.sendMarker();
  }

  /** Caught up with the stream: let timers and the ordered merge catch up too. */
  caughtUp(): void {
    this.sendMarker();
  }

  /**
   * With ingestion time the watermark keeps advancing while nothing arrives; with event time the
   * input reports itself idle once, so it stops holding back downstream watermarks.
   */
  idle(first: boolean): void {
    // Ingestion time: the margin is for the server's clock against ours.
    if (first || !this.watermarks.eventTime) this.watermarks.idle(this.position, Date.now() - this.idleTimeoutMs);
  }

  private emit(record: SourceRecord): void {
    const definition = this.definition;
    let raw: string;
    let message: T;
    let timestamp: number | undefined;
    try {
      raw = this.decoder.decode(record.data);
    } catch {
      const letter: NatsDeadLetter = {
        stage: definition.name,
        position: record.seq,
        error: new InputNotUtf8Error(`message ${record.seq} of ${this.subject}`),
        attempts: 1,
        bytes: record.data,
        originalSubject: record.subject,
      };
      this.deadLetter(letter);
      return;
    }
    try {
      message = definition.codec.decode(raw);
      // Ingestion time is the time the stream stored the message: the same on every replay.
      timestamp = this.watermarks.timeOf(message, record.timestampMs, this.position);
    } catch (error) {
      const letter: NatsDeadLetter = {
        stage: definition.name,
        position: record.seq,
        error,
        attempts: 1,
        raw,
        bytes: record.data,
        originalSubject: record.subject,
      };
      this.deadLetter(letter);
      return;
    }
    if (timestamp === undefined) return; // a watermark message, sent
    this.outlet.data(message, timestamp, record.seq);
  }

  private sendMarker(): void {
    if (this.watermarks.seen) this.watermarks.mark(this.position);
  }
}

/** Binds a job's source to one subject of a JetStream stream (NATS mode). */
export function natsSourceBinding<T>(
  link: NatsLink,
  definition: SourceDefinition<T>,
  options: NatsSourceOptions,
  entry: Outlet,
  deadLetter: DeadLetterReceiver,
): StreamReaderBinding {
  const decoder = new InputDecoder(
    definition,
    options.subject,
    options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    entry,
    deadLetter,
  );
  return new StreamReaderBinding(definition.name, link, options, entry, decoder);
}
