import { mkdir, open, readFile, rename, rm, truncate } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { AppendDone, LoggedCommand, StateCommandLog, StateCommandRecord } from './state-command.ts';

/**
 * The embedded mode's command log: one JSON record per line in a private file, appended and
 * fdatasync'ed before an append resolves. Appends that arrive while a sync runs are written and
 * synced together (group commit), so concurrent writers share the cost of one sync. A trim rewrites
 * the file without its head (a copy renamed over it) between two such writes, so appends never race
 * it.
 */
export class FileCommandLog implements StateCommandLog {
  private handle: FileHandle | undefined;
  private queue: { readonly line: string; readonly position: number; readonly done: AppendDone }[] = [];
  private writing: Promise<void> | undefined;
  /** The greatest position a trim asked for and its callers, until the write loop has done it. */
  private trim: { through: number; done: { resolve: () => void; reject: (error: unknown) => void }[] } | undefined;
  private failure: unknown;
  private closed = false;

  constructor(readonly path: string) {}

  get description(): string {
    return `file:${this.path}`;
  }

  /** Positions in this log are the records' `seq`. */
  async readAfter(seq: number): Promise<LoggedCommand[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const records: LoggedCommand[] = [];
    const lines = text.split('\n');
    // The last element is '' after a complete last line, or a torn record of an append that never
    // completed (never acknowledged): it is dropped, and cut off so the next append starts a line.
    const torn = lines.pop()!;
    if (torn.length > 0) await truncate(this.path, Buffer.byteLength(text) - Buffer.byteLength(torn));
    lines.forEach((line, i) => {
      let record: StateCommandRecord;
      try {
        record = JSON.parse(line) as StateCommandRecord;
      } catch (error) {
        throw new Error(
          `state command log ${this.path} line ${i + 1} is not a record (${(error as Error).message}): the file was changed by hand; restore it or move it away`,
          { cause: error },
        );
      }
      if (record.seq > seq) records.push({ position: record.seq, record });
    });
    return records;
  }

  /** One process appends (the job's lease): a record is never a retry of another here. */
  append(record: StateCommandRecord, json: string | undefined, done: AppendDone): void {
    if (this.closed) done.failed(new Error(`state command log ${this.path} is closed`));
    else if (this.failure !== undefined) done.failed(this.failure);
    else {
      this.queue.push({ line: `${json ?? JSON.stringify(record)}\n`, position: record.seq, done });
      this.writing ??= this.writeLoop();
    }
  }

  /**
   * Drops the records at positions up to `through` (no restore reads them again): the remaining
   * records are copied to `<path>.trim`, synced, and renamed over the log. A crash before the rename
   * leaves the log whole. A failed trim changes nothing and leaves appends working.
   */
  trimThrough(through: number): Promise<void> {
    if (this.closed || this.failure !== undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.trim ??= { through, done: [] };
      this.trim.through = Math.max(this.trim.through, through);
      this.trim.done.push({ resolve, reject });
      this.writing ??= this.writeLoop();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.writing !== undefined) await this.writing;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.queue.length > 0 || this.trim !== undefined) {
        if (this.trim !== undefined) {
          const trim = this.trim;
          this.trim = undefined;
          try {
            await this.rewriteAfter(trim.through);
            for (const done of trim.done) done.resolve();
          } catch (error) {
            for (const done of trim.done) done.reject(error);
          }
          continue;
        }
        const batch = this.queue;
        this.queue = [];
        try {
          if (this.failure !== undefined) throw this.failure;
          if (this.handle === undefined) {
            await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
            this.handle = await open(this.path, 'a', 0o600);
          }
          await this.handle.write(batch.map((b) => b.line).join(''));
          await this.handle.datasync();
          for (const b of batch) b.done.durable({ position: b.position, duplicate: false });
        } catch (error) {
          // A failed append may have written part of a line: nothing more goes after it.
          this.failure ??= new Error(
            `cannot append to the state command log ${this.path}: ${(error as Error).message}`,
            { cause: error },
          );
          for (const b of batch) b.done.failed(this.failure);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async rewriteAfter(through: number): Promise<void> {
    const kept = (await this.readAfter(through)).map((c) => `${JSON.stringify(c.record)}\n`).join('');
    const copy = `${this.path}.trim`;
    try {
      const handle = await open(copy, 'w', 0o600);
      try {
        await handle.write(kept);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      // The next append opens the new file.
      await this.handle?.close();
      this.handle = undefined;
      await rename(copy, this.path);
      const dir = await open(dirname(this.path), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (error) {
      await rm(copy, { force: true });
      throw new Error(`cannot trim the state command log ${this.path}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** Where embedded mode logs a job's state commands: `<stateDir>/<job>/state-commands.jsonl`, beside its checkpoints. */
export function stateCommandLogPath(stateDir: string, job: string): string {
  return resolve(stateDir, job, 'state-commands.jsonl');
}
