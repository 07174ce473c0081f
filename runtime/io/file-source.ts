import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { ConfigError, InputLineTooLongError, InputNotUtf8Error } from '../errors.ts';
import type { SourceDefinition } from '../job/job.ts';
import { SourceWatermarks } from '../job/source-watermarks.ts';
import type { SourceBinding } from '../bindings.ts';
import type { InputLag } from '../job-view.ts';
import type { DeadLetterReceiver, Outlet } from '../engine/outlet.ts';
import { SourceControl } from '../engine/source-control.ts';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../defaults.ts';

/**
 * The watermark of a finished bounded input. Runners take any number at or above Beam's
 * TIMESTAMP_MAX_VALUE as that value: the end of input, which fires every event-time timer.
 */
export const FINAL_WATERMARK = Number.MAX_VALUE;

export interface FileSourceOptions {
  readonly path: string;
  /** Keep reading as the file grows, instead of ending at its end. */
  readonly follow: boolean;
  /** Bytes per read. @default 1 MiB */
  readonly chunkBytes?: number;
  /** Follow mode: poll interval (fs.watch wakes it earlier where it works). @default 250 */
  readonly pollIntervalMs?: number;
  /** Follow mode: after this long without input the source reports itself idle. @default 5000 */
  readonly idleTimeoutMs?: number;
  /**
   * The longest line read as a message, in bytes (without its `\n`). A longer line is
   * dead-lettered by position and skipped to its end, holding at most this many bytes of it in
   * memory. @default DEFAULT_MAX_LINE_BYTES
   */
  readonly maxLineBytes?: number;
}

/** 64 MiB: 64 times NATS's default max_payload, and a bound on what one line holds in memory. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

const NEWLINE = 0x0a;
/** Watermark markers are sent when a line ends in a new block of this many bytes. */
const MARKER_BLOCK_BYTES = 64 * 1024;

/**
 * Reads a file of one message per line, from a byte offset, and pushes each decoded message into
 * the job's first outlet, synchronously, a whole read chunk at a time; it awaits only for I/O, for
 * downstream capacity (backpressure) and while paused for a checkpoint.
 *
 * Position: the byte offset of the last processed line's `\n` (the "last processed position" of a
 * checkpoint; -1 before any line); reading resumes at position + 1. A final line without `\n` is
 * read at the end of a bounded input, after the final checkpoint (see finishInput), and waits for
 * its `\n` in follow mode.
 *
 * Event time: the source's timestamp extractor, or else ingestion time (the wall clock at the
 * read). With an extractor the watermark is the greatest event time seen minus the allowed
 * out-of-orderness, sent after every message that advances it; with ingestion time it is sent at
 * each 64 KiB block of the file. A bounded file ends with FINAL_WATERMARK (sent by finishInput).
 */
export class FileSource<T> implements SourceBinding {
  private handle: FileHandle | undefined;
  private position = -1;
  private readonly watermarks: SourceWatermarks<T>;
  private wakeFollower: (() => void) | undefined;
  private readonly control = new SourceControl(() => this.wakeFollower?.());
  private watcher: FSWatcher | undefined;
  private linesRead = 0;
  private lastMarkerPosition = -1;
  /** Bounded input read to its end: finishInput() may send the end. */
  private ended = false;
  /**
   * A last line without `\n` (bounded input), held for finishInput(): its bytes, or only its
   * length when it is over the line limit.
   */
  private tail:
    | { readonly bytes: Buffer; readonly offset: number }
    | { readonly tooLong: number; readonly offset: number }
    | undefined = undefined;

  /** options.maxLineBytes, or its default. */
  private readonly maxLineBytes: number;

  constructor(
    private readonly definition: SourceDefinition<T>,
    private readonly options: FileSourceOptions,
    private readonly outlet: Outlet,
    private readonly deadLetter: DeadLetterReceiver,
  ) {
    const { maxLineBytes } = options;
    if (maxLineBytes !== undefined && !(Number.isSafeInteger(maxLineBytes) && maxLineBytes >= 1))
      throw new ConfigError(`the file source's maxLineBytes must be a positive integer of bytes, got ${maxLineBytes}`);
    this.maxLineBytes = maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.watermarks = new SourceWatermarks(definition, outlet);
  }

  get name(): string {
    return this.definition.name;
  }

  /** Last processed position (see the class comment). */
  get lastPosition(): number {
    return this.position;
  }

  /** Messages read by this process. */
  get messagesRead(): number {
    return this.linesRead;
  }

  /**
   * Opens the file to resume after `position`.
   * @throws ConfigError when the file is missing, shorter than the checkpoint's position, or has no
   * line end at it (it was replaced, truncated or rewritten: the checkpoint no longer describes it).
   */
  async open(position = -1): Promise<void> {
    let size: number;
    try {
      const info = await stat(this.options.path);
      if (info.isDirectory())
        throw new ConfigError(`input ${this.options.path} is a directory; pass a file with --input`);
      size = info.size;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConfigError(
        `cannot read input ${this.options.path}: ${(error as Error).message}; pass an existing file with --input`,
        { cause: error },
      );
    }
    if (size < position + 1) {
      throw new ConfigError(
        `input ${this.options.path} has ${size} bytes but the checkpoint has processed ${position + 1}: the file was truncated or replaced; ` +
          `restore it, or start over with \`stator checkpoints clear\``,
      );
    }
    const handle = await open(this.options.path, 'r');
    if (position >= 0) {
      // A checkpoint's position is the `\n` of the last line it processed. Another byte there: this
      // is not the file the checkpoint read (another --input, or the file rewritten), and resuming
      // would skip that many bytes of it, cutting a line in two.
      const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, position);
      if (buffer[0] !== NEWLINE) {
        await handle.close();
        throw new ConfigError(
          `input ${this.options.path} is not the file the checkpoint read: it processed ${position + 1} bytes, ` +
            `up to a line end, and this file has no line end there (another file, or one rewritten since); ` +
            `pass the input the job read, or start over with \`stator checkpoints clear\``,
        );
      }
    }
    this.handle = handle;
    this.position = position;
  }

  /**
   * Reads until the end (bounded) or until `stop()` (follow). Resolves true when a bounded input
   * was read to its end (the final watermark was sent), false when stopped.
   */
  async run(): Promise<boolean> {
    const handle = this.handle;
    if (handle === undefined) throw new Error('FileSource.run before open');
    const chunkBytes = this.options.chunkBytes ?? 1024 * 1024;
    const maxLineBytes = this.maxLineBytes;
    let buffer = Buffer.allocUnsafe(chunkBytes);
    let carry = 0; // bytes of an incomplete line kept at the start of `buffer`
    // The file offset of a line found longer than maxLineBytes: read on to its `\n` without keeping it.
    let skipFrom: number | undefined;
    let readOffset = this.position + 1;
    let idleSince = Date.now();
    let idleReported = false;
    const outlet = this.outlet;
    for (;;) {
      if (await this.control.holdOrStop(this.position)) return false;
      if (carry === buffer.length) {
        // A line longer than the buffer: grow it, to room for one more read past the line limit.
        const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, maxLineBytes + chunkBytes));
        buffer.copy(bigger, 0, 0, carry);
        buffer = bigger;
      }
      const { bytesRead } = await handle.read(buffer, carry, buffer.length - carry, readOffset);
      if (bytesRead === 0) {
        if (!this.options.follow) {
          // A checkpoint that asked for a pause during this last read is answered here (else it
          // would wait for a boundary that never comes, and the run with it).
          if (await this.control.holdOrStop(this.position)) return false;
          // The end of the input waits for finishInput(), after the final checkpoint.
          this.tail =
            skipFrom !== undefined
              ? { tooLong: readOffset - skipFrom, offset: skipFrom }
              : carry > 0
                ? { bytes: Buffer.from(buffer.subarray(0, carry)), offset: readOffset - carry }
                : undefined;
          this.ended = true;
          return true;
        }
        const idleTimeout = this.options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
        if (!idleReported && Date.now() - idleSince >= idleTimeout) {
          idleReported = true;
          this.watermarks.idle(this.position, Date.now());
        } else if (idleReported && !this.watermarks.eventTime) {
          this.watermarks.mark(this.position, Date.now());
        }
        if ((await handle.stat()).size < readOffset) {
          throw new ConfigError(
            `input ${this.options.path} was truncated while being followed (it had ${readOffset} bytes): an input is append-only; ` +
              `start over with \`stator checkpoints clear\` to read it anew`,
          );
        }
        if (this.position !== this.lastMarkerPosition) {
          // Caught up with a growing file: let timers and the ordered merge catch up too.
          this.lastMarkerPosition = this.position;
          this.sendMarker(Date.now());
        }
        await this.waitForGrowth();
        continue;
      }
      idleSince = Date.now();
      idleReported = false;
      readOffset += bytesRead;
      const end = carry + bytesRead;
      const now = this.ingestionTime();
      let start = 0;
      // Byte offset in the file of buffer[0].
      const base = readOffset - end;
      for (;;) {
        const newline = buffer.indexOf(NEWLINE, start);
        if (newline === -1 || newline >= end) break;
        if (skipFrom !== undefined) {
          this.deadLetterLongLine(skipFrom, base + newline - skipFrom);
          skipFrom = undefined;
        } else if (newline - start > maxLineBytes) {
          this.deadLetterLongLine(base + start, newline - start);
        } else {
          this.emitLine(buffer, start, newline, base + start, now);
        }
        const position = base + newline;
        // A watermark marker at every MARKER_BLOCK_BYTES boundary of the file: at the same lines
        // in every run, whatever the read chunks and restore points, so timers fire at the same
        // place in the output (and quiet partitions report progress to the ordered merge).
        if (Math.floor(position / MARKER_BLOCK_BYTES) !== Math.floor(this.position / MARKER_BLOCK_BYTES)) {
          this.position = position;
          this.sendMarker(now);
        }
        this.position = position;
        start = newline + 1;
        if (outlet.congested) await this.control.whenWritableOrInterrupted(outlet.whenUncongested());
        if (this.control.interrupted) {
          // Stop at this line boundary: keep the rest of the buffer as the carry for after the pause.
          break;
        }
      }
      carry = end - start;
      if (skipFrom === undefined && carry > maxLineBytes) skipFrom = base + start;
      if (skipFrom !== undefined) carry = 0;
      if (carry > 0 && start > 0) buffer.copy(buffer, 0, start, end);
      if (this.control.interrupted) {
        // Re-read from after the last processed line once resumed (simpler than keeping a partial buffer).
        readOffset = this.position + 1;
        carry = 0;
        skipFrom = undefined;
      }
    }
  }

  /**
   * The end of a bounded input, after run() resolved true (see SourceBinding.finishInput): a last
   * line without `\n`, read as a message all the same, then the final watermark. Neither is in a
   * checkpoint: the final checkpoint is at the last `\n`, before the final watermark. So a rerun
   * after the file grew reads the line whole (`gam` + `ma delta\n` is `gamma delta`), and its
   * event-time timers still fire; the outputs written after that checkpoint are cut back on restore
   * and written again, as after a crash.
   */
  finishInput(): void {
    if (!this.ended) throw new Error('FileSource.finishInput before run() read the input to its end');
    this.ended = false;
    const tail = this.tail;
    this.tail = undefined;
    if (tail !== undefined && 'tooLong' in tail) {
      this.deadLetterLongLine(tail.offset, tail.tooLong);
      this.position += tail.tooLong;
    } else if (tail !== undefined) {
      this.emitLine(tail.bytes, 0, tail.bytes.length, tail.offset, this.ingestionTime());
      this.position += tail.bytes.length;
    }
    this.watermarks.finish(FINAL_WATERMARK, this.position);
  }

  /**
   * Stops reading at the next line boundary and resolves with the last processed position; reading
   * stays paused until `resume()`.
   */
  pause(): Promise<number> {
    return this.control.pause();
  }

  resume(): void {
    this.control.resume();
  }

  /** Makes `run()` return at the next line boundary. */
  stop(): void {
    this.control.stop();
  }

  /** Bytes after the last processed line (undefined once closed). */
  async inputLag(): Promise<InputLag | undefined> {
    const handle = this.handle;
    if (handle === undefined) return undefined;
    try {
      const { size } = await handle.stat();
      return { bytes: Math.max(0, size - (this.position + 1)) };
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.stop();
    this.watcher?.close();
    this.watcher = undefined;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private ingestionTime(): number {
    return this.definition.timestamp === undefined ? Date.now() : 0;
  }

  private emitLine(buffer: Buffer, start: number, end: number, offset: number, now: number): void {
    this.linesRead++;
    const definition = this.definition;
    let raw: string;
    try {
      raw = buffer.toString('utf8', start, end);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_STRING_TOO_LONG') throw error;
      // Only with a line limit raised past V8's string length.
      this.deadLetter({
        stage: definition.name,
        position: offset,
        error: new InputLineTooLongError(`the line at byte ${offset} of ${this.options.path}`, end - start, 'string', {
          cause: error,
        }),
        attempts: 1,
      });
      return;
    }
    // toString puts U+FFFD in place of bytes that are not UTF-8; only then is the line checked
    // (a U+FFFD in the text itself is valid UTF-8), so valid lines pay one string scan.
    if (raw.includes('\uFFFD') && !isUtf8(buffer.subarray(start, end))) {
      const error = new InputNotUtf8Error(`the line at byte ${offset} of ${this.options.path}`);
      this.deadLetter({
        stage: definition.name,
        position: offset,
        error,
        attempts: 1,
        bytes: Uint8Array.from(buffer.subarray(start, end)),
      });
      return;
    }
    let message: T;
    let timestamp: number | undefined;
    try {
      message = definition.codec.decode(raw);
      timestamp = this.watermarks.timeOf(message, now, this.position);
    } catch (error) {
      // The position of a message is the offset of its first byte.
      this.deadLetter({ stage: definition.name, position: offset, error, attempts: 1, raw });
      return;
    }
    if (timestamp === undefined) return; // a watermark message, sent
    this.outlet.data(message, timestamp, offset);
    // Event time: the watermark follows every message that moves it, so event-time timers fire
    // between the same messages in every run (and as early as the data allows).
    if (this.watermarks.eventTime) this.watermarks.advance(this.position);
  }

  /** Dead-letters a line over the line limit by position (its bytes stay in the input), counted as read. */
  private deadLetterLongLine(offset: number, bytes: number): void {
    this.linesRead++;
    this.deadLetter({
      stage: this.definition.name,
      position: offset,
      error: new InputLineTooLongError(`the line at byte ${offset} of ${this.options.path}`, bytes, this.maxLineBytes),
      attempts: 1,
    });
  }

  /** Sends the current watermark (ingestion time: `now`; else greatest event time − out-of-orderness). */
  private sendMarker(now: number): void {
    if (this.watermarks.eventTime) this.watermarks.mark(this.position);
    else this.watermarks.mark(this.position, now);
  }

  private waitForGrowth(): Promise<void> {
    if (this.watcher === undefined) {
      try {
        this.watcher = watch(this.options.path, { persistent: false }, () => this.wakeFollower?.());
        this.watcher.on('error', () => {
          // Polling still works; fs.watch is only the fast path.
          this.watcher?.close();
        });
      } catch {
        // Some filesystems do not support fs.watch: polling alone.
      }
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(wake, this.options.pollIntervalMs ?? 250);
      function wake(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeFollower = () => {
        this.wakeFollower = undefined;
        wake();
      };
    });
  }
}
