// The job's source in NATS mode: one subject of a stream, read with StreamSource from the
// checkpointed sequence + 1, decoded and pushed into the pipeline like the file source does with
// lines. Positions are stream sequences, so a checkpoint's position is exactly where to resume.
import type { SourceBinding } from '../bindings.ts';
import type { InputLag } from '../job-view.ts';
import type { DeadLetterReceiver, Outlet } from '../engine/outlet.ts';
import { SourceControl } from '../engine/source-control.ts';
import { InputNotUtf8Error } from '../errors.ts';
import { eventTimeOf, watermarkOf } from '../job/event-time.ts';
import type { SourceDefinition } from '../job/job.ts';
import type { NatsLink } from './connection.ts';
import type { NatsDeadLetter } from './nats-sink-binding.ts';
import { openStreamSource, type SourceRecord, type StreamSource } from './stream-source.ts';

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

class NatsSource<T> implements SourceBinding {
  private source: StreamSource | undefined;
  private position = 0;
  private maxEventTime = -Number.MAX_VALUE;
  private lastWatermark = -Number.MAX_VALUE;
  private messages = 0;
  private wake: (() => void) | undefined;
  private readonly control = new SourceControl(() => this.wake?.());
  private pending: Promise<readonly SourceRecord[] | undefined> | undefined;
  // Fatal: input that is not UTF-8 is a dead letter (with its original bytes), not text with U+FFFD.
  // ignoreBOM keeps a leading U+FEFF as text, as the file source does: same input, same messages.
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(
    private readonly link: NatsLink,
    private readonly definition: SourceDefinition<T>,
    private readonly options: NatsSourceOptions,
    private readonly outlet: Outlet,
    private readonly deadLetter: DeadLetterReceiver,
  ) {}

  get name(): string {
    return this.definition.name;
  }

  get lastPosition(): number {
    return this.position;
  }

  get messagesRead(): number {
    return this.messages;
  }

  async open(position: number | undefined): Promise<void> {
    this.position = Math.max(0, position ?? 0);
    this.source = await openStreamSource(this.link, {
      stream: this.options.stream,
      filterSubject: this.options.subject,
      startSeq: this.position + 1,
      maxBatch: this.options.maxBatch ?? 512,
    });
  }

  /** Reads until stop(); never ends by itself (a stream has no end). Rejects when reading fails. */
  async run(): Promise<boolean> {
    const source = this.source;
    if (source === undefined) throw new Error('NatsSource.run before open');
    const idleTimeoutMs = this.options.idleTimeoutMs ?? 5000;
    let idleReported = false;
    for (;;) {
      if (await this.control.holdOrStop(this.position)) return false;
      this.pending ??= source.nextBatch();
      const batch = await this.nextOrWake(this.pending, idleTimeoutMs);
      if (batch === 'woken') continue;
      if (batch === 'idle') {
        if (!idleReported) {
          idleReported = true;
          this.reportIdle(idleTimeoutMs);
        } else if (this.definition.timestamp === undefined) {
          this.emitWatermark(Date.now() - idleTimeoutMs);
        }
        continue;
      }
      this.pending = undefined;
      if (batch === undefined) return false;
      idleReported = false;
      for (let i = 0; i < batch.length; i++) {
        // A checkpoint or a stop waits for a message boundary; the rest of the batch is kept.
        if (this.control.interrupted) {
          if (await this.control.holdOrStop(this.position)) return false;
        }
        const record = batch[i]!;
        this.emit(record);
        const previous = this.position;
        this.position = record.seq;
        if (Math.floor(record.seq / MARKER_BLOCK) !== Math.floor(previous / MARKER_BLOCK)) this.sendMarker();
        if (this.outlet.congested) await this.outlet.whenUncongested();
      }
      // Caught up with the stream: let timers and the ordered merge catch up too.
      if (source.lag === 0) this.sendMarker();
    }
  }

  /** The pending batch, or 'woken' by pause/stop, or 'idle' after the timeout; the batch is never dropped. */
  private nextOrWake(
    pending: Promise<readonly SourceRecord[] | undefined>,
    idleTimeoutMs: number,
  ): Promise<readonly SourceRecord[] | undefined | 'woken' | 'idle'> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish('idle'), idleTimeoutMs);
      const finish = (value: readonly SourceRecord[] | undefined | 'woken' | 'idle'): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(value);
      };
      this.wake = () => finish('woken');
      pending.then(finish, (error: unknown) => {
        clearTimeout(timer);
        this.wake = undefined;
        reject(error);
      });
    });
  }

  /** Messages on the subject not yet read (undefined before open and after close). */
  inputLag(): Promise<InputLag | undefined> {
    const source = this.source;
    return Promise.resolve(source === undefined ? undefined : { messages: source.lag });
  }

  /** A stream has no end: nothing is held back. */
  finishInput(): void {}

  pause(): Promise<number> {
    return this.control.pause();
  }

  resume(): void {
    this.control.resume();
  }

  stop(): void {
    this.control.stop();
  }

  async close(): Promise<void> {
    this.stop();
    await this.source?.close();
    this.source = undefined;
  }

  private emit(record: SourceRecord): void {
    this.messages++;
    const definition = this.definition;
    let raw: string;
    let message: T;
    // Ingestion time is the time the stream stored the message: the same on every replay.
    let timestamp = record.timestampMs;
    try {
      raw = this.decoder.decode(record.data);
    } catch {
      const letter: NatsDeadLetter = {
        stage: definition.name,
        position: record.seq,
        error: new InputNotUtf8Error(`message ${record.seq} of ${this.options.subject}`),
        attempts: 1,
        bytes: record.data,
        originalSubject: record.subject,
      };
      this.deadLetter(letter);
      return;
    }
    try {
      message = definition.codec.decode(raw);
      if (definition.watermark !== undefined) {
        const watermark = watermarkOf(definition.watermark, message);
        if (watermark !== undefined) {
          this.emitWatermark(watermark);
          return;
        }
      }
      if (definition.timestamp !== undefined) {
        timestamp = eventTimeOf(definition.timestamp, message);
      }
    } catch (error) {
      const letter: NatsDeadLetter = { stage: definition.name, position: record.seq, error, attempts: 1, raw, bytes: record.data, originalSubject: record.subject };
      this.deadLetter(letter);
      return;
    }
    if (timestamp > this.maxEventTime) this.maxEventTime = timestamp;
    this.outlet.data(message, timestamp, record.seq);
  }

  private emitWatermark(watermark: number): void {
    if (watermark > this.lastWatermark) this.lastWatermark = watermark;
    this.outlet.watermark(0, this.lastWatermark, this.position);
  }

  /** The greatest event time seen minus the allowed out-of-orderness (0 for ingestion time). */
  private sendMarker(): void {
    const lateness = this.definition.timestamp === undefined ? 0 : this.definition.maxOutOfOrdernessMs;
    if (this.maxEventTime > -Number.MAX_VALUE) this.emitWatermark(this.maxEventTime - lateness);
  }

  private reportIdle(idleTimeoutMs: number): void {
    if (this.definition.timestamp === undefined) this.emitWatermark(Date.now() - idleTimeoutMs);
    else this.outlet.idle(0);
  }
}

/** Binds a job's source to one subject of a JetStream stream (NATS mode). */
export function natsSourceBinding<T>(
  link: NatsLink,
  definition: SourceDefinition<T>,
  options: NatsSourceOptions,
  entry: Outlet,
  deadLetter: DeadLetterReceiver,
): SourceBinding {
  return new NatsSource(link, definition, options, entry, deadLetter);
}
