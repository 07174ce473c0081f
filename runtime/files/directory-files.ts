// Embedded mode's file area: plain files under `<state-dir>/<job>/files/`, each put written to a
// temp file in `files.tmp/` next to it, fsynced and renamed into place (then the folder fsynced),
// so a crash leaves the old version or the new one, never a partial file.
import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { StatorError } from '../../coders/index.ts';
import {
  checkFileName,
  FileDigestMismatchError,
  FileNameError,
  FileNotFoundError,
  FilesClosedError,
  FilesLimitExceededError,
  FilesUnavailableError,
  type FileData,
  type FileEntry,
  type FileInfo,
  type PutOptions,
} from '../../src/files/index.ts';
import { ConfigError } from '../errors.ts';
import type { ClosableJobFiles } from './closable-job-files.ts';
import { chunksOf } from './file-data.ts';
import { digestOfFile, digestString } from './file-digest.ts';
import { resolveMaxBytes } from './files-options.ts';

/** Options of {@link openDirectoryFiles}. */
export interface DirectoryFilesOptions {
  /** The area's folder, e.g. `<state-dir>/<job>/files`; created (private, 0700) when missing. */
  readonly dir: string;
  /** Size limit of the area in bytes. @default 10 GiB (DEFAULT_FILES_MAX_BYTES) */
  readonly maxBytes?: number | undefined;
  /** fsync files and folders before a put resolves. Off only for tests. @default true */
  readonly fsync?: boolean;
}

/** Opens (creating the folder) the file area in `options.dir`; leftovers of writes cut short are removed. */
export async function openDirectoryFiles(options: DirectoryFilesOptions): Promise<ClosableJobFiles> {
  const dir = resolve(options.dir);
  const maxBytes = resolveMaxBytes(options.maxBytes);
  const tempDir = `${dir}.tmp`;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await rm(tempDir, { recursive: true, force: true });
    await mkdir(tempDir, { mode: 0o700 });
  } catch (error) {
    throw new ConfigError(
      `cannot create the file area ${dir}: ${(error as Error).message}; check --state-dir and its permissions`,
      { cause: error },
    );
  }
  return new DirectoryFiles(dir, tempDir, maxBytes, options.fsync ?? true);
}

/** A digest computed for one version of a file (a put renames a new inode into place). */
interface KnownDigest {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly digest: string;
}

class DirectoryFiles implements ClosableJobFiles {
  readonly description: string;
  private state: 'open' | 'closed' = 'open';
  /** Writes (put, delete) one at a time, so an expected digest is checked and replaced atomically. */
  private writes: Promise<unknown> = Promise.resolve();
  private readonly digests = new Map<string, KnownDigest>();

  constructor(
    private readonly dir: string,
    private readonly tempDir: string,
    readonly maxBytes: number,
    private readonly fsync: boolean,
  ) {
    this.description = dir;
  }

  async put(name: string, data: FileData, options: PutOptions = {}): Promise<FileInfo> {
    this.checkOpen();
    checkFileName(name);
    return this.serialized(() => this.write(name, data, options));
  }

  async get(name: string): Promise<Uint8Array> {
    const path = await this.existing(name);
    return this.io(`read ${name}`, () => readFile(path));
  }

  async getStream(name: string): Promise<ReadableStream<Uint8Array>> {
    const path = await this.existing(name);
    return Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
  }

  async stat(name: string): Promise<FileInfo | undefined> {
    this.checkOpen();
    const path = this.pathOf(checkFileName(name));
    const info = await statFile(path);
    if (info === undefined) return undefined;
    return { name, size: info.size, modifiedMs: Math.floor(info.mtimeMs), digest: await this.digestOf(path, info) };
  }

  async list(prefix = ''): Promise<FileEntry[]> {
    this.checkOpen();
    if (typeof prefix !== 'string') throw new TypeError(`list() takes a string prefix, got ${typeof prefix}`);
    const entries: FileEntry[] = [];
    await this.io('list', () => this.walk(this.dir, '', prefix, entries));
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string): Promise<boolean> {
    this.checkOpen();
    checkFileName(name);
    return this.serialized(async () => {
      const path = this.pathOf(name);
      if ((await statFile(path)) === undefined) return false;
      await this.io(`delete ${name}`, async () => {
        await unlink(path);
        this.digests.delete(path);
        // Empty folders left by the delete go too, so list() and the directory agree.
        let folder = dirname(path);
        for (; folder !== this.dir; folder = dirname(folder)) {
          try {
            await rmdir(folder);
          } catch {
            break;
          }
        }
        await this.syncDir(folder);
      });
      return true;
    });
  }

  async path(name: string): Promise<string> {
    return this.existing(name);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await this.writes.catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- internals ------------------------------------------------------------------------------

  private async write(name: string, data: FileData, options: PutOptions): Promise<FileInfo> {
    const path = this.pathOf(name);
    await this.checkFolders(name);
    const current = await statFile(path);
    if (options.expectedDigest !== undefined) {
      const actual = current === undefined ? null : await this.digestOf(path, current);
      if (actual !== options.expectedDigest) throw new FileDigestMismatchError(name, options.expectedDigest, actual);
    }
    const used = await this.io('measure', () => this.usedBytes(this.dir));
    const allowance = this.maxBytes - (used - (current?.size ?? 0));
    const temp = join(this.tempDir, randomBytes(8).toString('hex'));
    const hash = createHash('sha256');
    let size = 0;
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        for await (const chunk of chunksOf(data)) {
          size += chunk.length;
          if (size > allowance) {
            throw new FilesLimitExceededError(
              name,
              this.dir,
              this.maxBytes,
              `the area holds ${used} bytes${current === undefined ? '' : ` (${current.size} of them this file's current version)`} and this file has more than ${size} bytes`,
            );
          }
          hash.update(chunk);
          await handle.write(chunk);
        }
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await rename(temp, path);
      await this.syncDir(dirname(path));
    } catch (error) {
      await unlink(temp).catch(() => {});
      if (error instanceof StatorError || error instanceof TypeError) throw error;
      throw unavailable(`write ${name}`, this.dir, error);
    }
    const written = await lstat(path);
    const digest = digestString(hash);
    this.digests.set(path, { ino: written.ino, size: written.size, mtimeMs: written.mtimeMs, digest });
    return { name, size, modifiedMs: Math.floor(written.mtimeMs), digest };
  }

  /** A file cannot also be a folder: `a` and `a/b` cannot both exist (as in the file system). */
  private async checkFolders(name: string): Promise<void> {
    const segments = name.split('/');
    for (let i = 1; i < segments.length; i++) {
      const folder = segments.slice(0, i).join('/');
      const info = await lstat(this.pathOf(folder)).catch(() => undefined);
      if (info === undefined) return;
      if (!info.isDirectory()) throw new FileNameError(name, `'${folder}' is a file, so it cannot be a folder too`);
    }
    const info = await lstat(this.pathOf(name)).catch(() => undefined);
    if (info !== undefined && !info.isFile()) throw new FileNameError(name, 'it is a folder of other files');
  }

  private async usedBytes(folder: string): Promise<number> {
    let total = 0;
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) total += await this.usedBytes(path);
      else if (entry.isFile()) total += (await lstat(path)).size;
    }
    return total;
  }

  private async walk(folder: string, base: string, prefix: string, into: FileEntry[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const name = base === '' ? entry.name : `${base}/${entry.name}`;
      // A folder is walked when names under it can still match the prefix.
      if (entry.isDirectory()) {
        if (name.startsWith(prefix) || prefix.startsWith(`${name}/`))
          await this.walk(join(folder, entry.name), name, prefix, into);
      } else if (entry.isFile() && name.startsWith(prefix)) {
        const info = await lstat(join(folder, entry.name));
        into.push({ name, size: info.size, modifiedMs: Math.floor(info.mtimeMs) });
      }
    }
  }

  private async digestOf(path: string, info: Stats): Promise<string> {
    const known = this.digests.get(path);
    if (known !== undefined && known.ino === info.ino && known.size === info.size && known.mtimeMs === info.mtimeMs)
      return known.digest;
    const digest = await this.io('read', () => digestOfFile(path));
    this.digests.set(path, { ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, digest });
    return digest;
  }

  private async existing(name: string): Promise<string> {
    this.checkOpen();
    const path = this.pathOf(checkFileName(name));
    if ((await statFile(path)) === undefined) throw new FileNotFoundError(name, this.dir);
    return path;
  }

  private pathOf(name: string): string {
    return join(this.dir, name);
  }

  private async syncDir(folder: string): Promise<void> {
    if (!this.fsync) return;
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.writes.then(work, work);
    this.writes = result.catch(() => {});
    return result;
  }

  private async io<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof StatorError) throw error;
      throw unavailable(what, this.dir, error);
    }
  }

  private checkOpen(): void {
    if (this.state === 'closed') throw new FilesClosedError(this.dir);
  }
}

/** The file's stats, or undefined when it does not exist or is not a regular file. */
async function statFile(path: string): Promise<Stats | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info : undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

function unavailable(what: string, dir: string, error: unknown): FilesUnavailableError {
  const reason = error instanceof Error ? error.message : String(error);
  return new FilesUnavailableError(
    `file area ${dir}: cannot ${what}: ${reason}; fix that (free disk space, permissions) and try again`,
    { cause: error },
  );
}
