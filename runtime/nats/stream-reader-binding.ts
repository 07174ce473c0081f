// The reading loop every JetStream-backed source binding shares: open an ordered reader at the
// checkpointed sequence + 1, hand each record to a decoder, stop at message boundaries for
// checkpoints, respect downstream backpressure. What a record means (an input message, or a keyed
// exchange message with its watermark markers) is the decoder's business.
import type { SourceBinding } from '../bindings.ts';
import type { InputLag } from '../job-view.ts';
import type { Outlet } from '../engine/outlet.ts';
import { SourceControl } from '../engine/source-control.ts';
import type { NatsLink } from './connection.ts';
import { openStreamSource, type SourceRecord, type StreamSource } from './stream-source.ts';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../defaults.ts';

/** What a stream reader binding does with the records it reads. */
export interface StreamRecordHandler {
  /** One record, in stream order; `previous` is the sequence of the record before it (or the start position). */
  record(record: SourceRecord, previous: number): void;
  /** Every record up to the end of the subject has been handed over (the reader caught up). */
  caughtUp?(): void;
  /**
   * No record arrived for the idle timeout; `first` is true on the first timeout of a quiet spell.
   * Without this, waiting never times out.
   */
  idle?(first: boolean): void;
}

export interface StreamReaderOptions {
  readonly stream: string;
  readonly subject: string;
  /** Records per batch taken from the stream. @default 512 */
  readonly maxBatch?: number;
  /** How long without a record before `handler.idle` is called. @default 5000 */
  readonly idleTimeoutMs?: number;
}

/** A SourceBinding over one subject of one stream, positions being stream sequences. */
export class StreamReaderBinding implements SourceBinding {
  private source: StreamSource | undefined;
  private position = 0;
  private messages = 0;
  private wake: (() => void) | undefined;
  private readonly control = new SourceControl(() => this.wake?.());
  private pending: Promise<readonly SourceRecord[] | undefined> | undefined;
  /** Records of the batch taken from the source that are not handed to the handler yet. */
  private unhandled = 0;

  constructor(
    readonly name: string,
    private readonly link: NatsLink,
    private readonly options: StreamReaderOptions,
    private readonly outlet: Outlet,
    private readonly handler: StreamRecordHandler,
  ) {}

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
    if (source === undefined) throw new Error(`source ${this.name}: run() before open()`);
    const { handler } = this;
    const idleTimeoutMs =
      handler.idle === undefined ? undefined : (this.options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    let quiet = false;
    for (;;) {
      if (await this.control.holdOrStop(this.position)) return false;
      this.pending ??= source.nextBatch().then((batch) => {
        this.unhandled = batch?.length ?? 0;
        return batch;
      });
      const batch = await this.nextOrWake(this.pending, idleTimeoutMs);
      if (batch === 'woken') continue;
      if (batch === 'idle') {
        handler.idle?.(!quiet);
        quiet = true;
        continue;
      }
      this.pending = undefined;
      if (batch === undefined) return false;
      quiet = false;
      for (let i = 0; i < batch.length; i++) {
        // A checkpoint or a stop waits for a message boundary; the rest of the batch is kept.
        if (this.control.interrupted) {
          if (await this.control.holdOrStop(this.position)) return false;
        }
        const record = batch[i]!;
        this.messages++;
        const previous = this.position;
        this.position = record.seq;
        this.unhandled--;
        handler.record(record, previous);
        if (this.outlet.congested) await this.control.whenWritableOrInterrupted(this.outlet.whenUncongested());
      }
      if (source.lag === 0) handler.caughtUp?.();
    }
  }

  /** The pending batch, or 'woken' by pause/stop, or 'idle' after the timeout; the batch is never dropped. */
  private nextOrWake(
    pending: Promise<readonly SourceRecord[] | undefined>,
    idleTimeoutMs: number | undefined,
  ): Promise<readonly SourceRecord[] | undefined | 'woken' | 'idle'> {
    return new Promise((resolve, reject) => {
      const timer = idleTimeoutMs === undefined ? undefined : setTimeout(() => finish('idle'), idleTimeoutMs);
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

  /**
   * Messages on the subject after the last one handed to the handler (`lastPosition`): those taken
   * from the stream and not handled yet, plus those the server reports pending. Undefined before
   * open and after close.
   */
  get pendingMessages(): number | undefined {
    const source = this.source;
    return source === undefined ? undefined : source.lag + this.unhandled;
  }

  /** Messages on the subject not yet read (undefined before open and after close). */
  inputLag(): Promise<InputLag | undefined> {
    const pending = this.pendingMessages;
    return Promise.resolve(pending === undefined ? undefined : { messages: pending });
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
}
