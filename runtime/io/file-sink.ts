import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { ConfigError, FileWriteError, LifecycleError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { MessageCodec } from '../job/codecs.ts';
import type { DeadLetterReceiver, Outlet } from '../engine/outlet.ts';

export interface FileSinkOptions {
  /** The logical output's name (for dead letters and checkpoint records). */
  readonly name: string;
  readonly path: string;
  /** Bytes buffered before a write starts. @default 256 KiB */
  readonly writeThresholdBytes?: number;
  /** Bytes buffered + being written above which producers are told to wait. @default 8 MiB */
  readonly maxBufferedBytes?: number;
  /** Called once when a write fails (the job must fail: output would be lost otherwise). */
  readonly onError?: (error: unknown) => void;
  /** Permission bits of the file when it is created (the umask applies). @default 0o666 */
  readonly mode?: number;
  /** Where `open` says what it removed from an existing file. */
  readonly logger?: Logger;
}

/**
 * Appends one line per message to a file. Output is buffered and written in large writes; a
 * checkpoint calls `flush()`, which writes everything buffered and fsyncs, and records the returned
 * length as committed. On restore, `open(committedLength)` truncates the file back to it, so output
 * written after the checkpoint (and replayed after a crash) is never duplicated.
 */
export class FileSink<T> implements Outlet {
  private handle: FileHandle | undefined;
  private buffered = '';
  private bufferedChars = 0;
  private length = 0;
  private writing: Promise<void> | undefined;
  private writingBytes = 0;
  private failure: unknown;
  /** Producers waiting for the backlog to shrink (whenUncongested). */
  private waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private readonly writeThreshold: number;
  private readonly maxBuffered: number;

  constructor(
    private readonly options: FileSinkOptions,
    private readonly codec: MessageCodec<T>,
    private readonly deadLetter: DeadLetterReceiver,
  ) {
    this.writeThreshold = options.writeThresholdBytes ?? 256 * 1024;
    this.maxBuffered = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  }

  get path(): string {
    return this.options.path;
  }

  /** Bytes in the file, flushed or being written (not counting the buffer). */
  get writtenBytes(): number {
    return this.length;
  }

  /**
   * Opens (creating when missing) and truncates the file to `committedLength`: the length the
   * restored checkpoint committed, or 0 on a fresh start (no checkpoint covers any of its lines, so
   * keeping them would duplicate what the run writes again).
   * @throws ConfigError when the file is missing (it is not created then) or shorter than
   * `committedLength`: output the checkpoint covers is gone (the file was deleted, replaced or
   * truncated by someone else).
   */
  async open(committedLength = 0, fresh = committedLength === 0): Promise<void> {
    const path = this.options.path;
    const missing =
      committedLength > 0 &&
      (await stat(path).then(
        () => false,
        (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT',
      ));
    if (missing) {
      // Not created here: an empty file would only stand for the output that is gone.
      throw new ConfigError(
        `${path} does not exist, but the checkpoint covers ${committedLength} bytes of it: it was deleted or moved, ` +
          `or the earlier runs wrote it elsewhere; restore it, or start over with ` +
          `\`stator checkpoints clear\` and a fresh output file`,
      );
    }
    let handle: FileHandle;
    try {
      // 'a+' creates the file; reopen with r+ so writes go at explicit positions after a truncate.
      await (await open(path, 'a+', this.options.mode ?? 0o666)).close();
      handle = await open(path, 'r+');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EISDIR')
        throw new ConfigError(`${path} is a directory; pass a file path for the ${this.options.name} file`, {
          cause: error,
        });
      throw new FileWriteError(path, error);
    }
    const { size } = await handle.stat();
    if (size < committedLength) {
      await handle.close();
      throw new ConfigError(
        `${this.options.path} has ${size} bytes but the checkpoint covers ${committedLength}: the output was truncated or replaced ` +
          `since; restore the file, or start over with \`stator checkpoints clear\` and a fresh output file`,
      );
    }
    if (size > committedLength) {
      if (fresh) {
        this.options.logger?.warn(
          `${path} exists with ${size} bytes that no checkpoint covers (a first run, or the job's checkpoints were cleared): emptying it; ` +
            'the job writes it again from its input',
        );
      } else {
        this.options.logger?.info(
          `${path}: removed ${size - committedLength} bytes written after the restored checkpoint; they are written again`,
        );
      }
      await handle.truncate(committedLength);
    }
    this.handle = handle;
    this.length = committedLength;
  }

  data(value: unknown, _timestamp: number, position: number): void {
    let line: string;
    try {
      line = this.codec.encode(value as T);
    } catch (error) {
      this.deadLetter({ stage: this.options.name, position, error, attempts: 1, value });
      return;
    }
    this.append(line);
  }

  /**
   * Appends one line (used directly by the dead-letter sink). Once a write failed the sink is failed
   * for good: the line is refused (not buffered, never written), and flush, durableTo, close and
   * whenUncongested reject with that write's error; the next run truncates the file to its committed
   * length and writes the lines again.
   */
  append(line: string): void {
    if (this.failure !== undefined) return;
    this.buffered += line + '\n';
    this.bufferedChars += line.length + 1;
    if (this.writing !== undefined) return;
    if (this.bufferedChars >= this.writeThreshold) this.startWrite();
    else if (!this.writeScheduled) {
      // Written at the end of this turn of the event loop: everything appended synchronously
      // meanwhile goes in one write, and a quiet stream's output still appears promptly.
      this.writeScheduled = true;
      setImmediate(this.writeIfIdle);
    }
  }

  private writeScheduled = false;
  private readonly writeIfIdle = (): void => {
    this.writeScheduled = false;
    if (this.writing === undefined && this.bufferedChars > 0 && this.handle !== undefined) this.startWrite();
  };

  watermark(): void {}
  idle(): void {}

  /** Also once a write failed: producers stop, and whenUncongested tells them why. */
  get congested(): boolean {
    return this.failure !== undefined || this.bufferedChars + this.writingBytes >= this.maxBuffered;
  }

  /** Rejects with the write error (as durableTo and flush throw it) once a write failed. */
  whenUncongested(): Promise<void> {
    if (this.failure === undefined) {
      if (!this.congested) return Promise.resolve();
      if (this.writing === undefined) this.startWrite();
    }
    // Also when startWrite failed at once (the file is not open).
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Bytes appended so far, written or still buffered: the length a checkpoint's cut records. */
  get appendedLength(): number {
    return this.length + (this.bufferedChars === 0 ? 0 : Buffer.byteLength(this.buffered, 'utf8'));
  }

  /**
   * Resolves once the first `length` bytes are written and fsynced (a checkpoint's cut); what is
   * appended meanwhile is written too but not waited for, so a busy sink cannot keep it waiting.
   */
  async durableTo(length: number): Promise<void> {
    while (this.length - this.writingBytes < length) {
      this.throwIfFailed();
      if (this.writing === undefined) {
        if (this.bufferedChars === 0)
          throw new Error(`${this.options.path}: ${length} bytes to make durable, only ${this.length} appended`);
        this.startWrite();
      }
      await this.writing;
    }
    this.throwIfFailed();
    if (this.handle === undefined) return;
    try {
      await this.handle.sync();
    } catch (error) {
      throw new FileWriteError(this.options.path, error);
    }
  }

  /**
   * Writes everything buffered, fsyncs when `durable`, and returns the file's length: the length a
   * checkpoint may record as committed.
   */
  async flush(durable: boolean): Promise<number> {
    while (this.writing !== undefined || this.bufferedChars > 0) {
      this.throwIfFailed();
      if (this.writing === undefined) this.startWrite();
      await this.writing;
    }
    this.throwIfFailed();
    if (durable && this.handle !== undefined) {
      try {
        await this.handle.sync();
      } catch (error) {
        throw new FileWriteError(this.options.path, error);
      }
    }
    return this.length;
  }

  async close(): Promise<void> {
    if (this.handle === undefined) return;
    try {
      await this.flush(true);
    } finally {
      const handle = this.handle;
      this.handle = undefined;
      await handle?.close();
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Writes the buffer at the file's end; never once a write failed (nothing goes past a failure). */
  private startWrite(): void {
    if (this.failure !== undefined) return;
    const handle = this.handle;
    if (handle === undefined) {
      this.failure ??= new LifecycleError(
        `output ${this.options.path} is not open: a line was written before open() or after close(); ` +
          'open the sink before the job produces into it, and close it only once the job has stopped',
      );
      return;
    }
    const bytes = Buffer.from(this.buffered, 'utf8');
    this.buffered = '';
    this.bufferedChars = 0;
    this.writingBytes = bytes.length;
    const position = this.length;
    this.length += bytes.length;
    this.writing = writeFully(handle, bytes, position).then(
      () => {
        this.writing = undefined;
        this.writingBytes = 0;
        if (this.bufferedChars > 0) this.startWrite();
        this.wake();
      },
      (error: unknown) => {
        this.writing = undefined;
        this.writingBytes = 0;
        if (this.failure === undefined) {
          this.failure = new FileWriteError(this.options.path, error);
          this.options.onError?.(this.failure);
        }
        // The backlog will not be worked off (nor written: it would land past the failed bytes):
        // nobody may wait for it.
        this.buffered = '';
        this.bufferedChars = 0;
        const waiters = this.waiters;
        this.waiters = [];
        for (const waiter of waiters) waiter.reject(this.failure);
      },
    );
  }

  private wake(): void {
    if (this.waiters.length === 0 || this.congested) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }
}

async function writeFully(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, position + offset);
    offset += bytesWritten;
  }
}
