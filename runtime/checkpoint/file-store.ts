import { DEFAULT_STATE_DIR } from '../defaults.ts';
import {
  copyFile,
  link,
  open,
  readFile,
  readdir,
  rename,
  rm,
  mkdir,
  unlink,
  stat,
  type FileHandle,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CheckpointStore, StoredManifest } from '../../src/checkpoint/index.ts';
import {
  CheckpointConfigError,
  CheckpointPartMissingError,
  CheckpointStoreError,
  envelopeIsIntact,
  FencedError,
  PART_NAME_PATTERN,
} from '../../src/checkpoint/index.ts';

/** Options of the file checkpoint store (the embedded default). */
export interface FileCheckpointStoreOptions {
  /** Root of all state. @default './state' */
  readonly stateDir?: string;
  /** The job; its checkpoints live in `<stateDir>/<job>/<task>`. */
  readonly job: string;
  /** The task (process role) within the job. @default 'main' */
  readonly task?: string;
  /** fsync files and directories before reporting success. Off only for tests and benches. @default true */
  readonly fsync?: boolean;
  /** How long a commit waits for another process's commit lock before failing (retryably). @default 10000 */
  readonly lockTimeoutMs?: number;
}

/** A CheckpointStore on local files; `directory` is where it keeps them. */
export interface FileCheckpointStore extends CheckpointStore {
  readonly directory: string;
}

// Layout of <directory>:
//   MANIFEST        'STMF' + u32 format + u64 revision + manifest bytes, replaced by rename
//   MANIFEST.prev   the manifest MANIFEST replaced (a hard link to it), the fallback when MANIFEST is corrupt
//   LOCK            exists while one process commits: "<pid> <hostname> <token>"
//   parts/<name>    one immutable part per file
//   parts/.tmp-*    a part being written (or left by a crash; removed after STALE_TEMP_MS)
const MANIFEST_MAGIC = 0x53544d46; // 'STMF'
const MANIFEST_FORMAT = 1;
const MANIFEST_HEADER_BYTES = 16;
const TEMP_PREFIX = '.tmp-';
const STALE_TEMP_MS = 60 * 60 * 1000;
/** Modes of what the store creates (the umask can only narrow them further). */
const PRIVATE_DIR_MODE = 0o700;
const PRIVATE_FILE_MODE = 0o600;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Writes all of `bytes`: write(2) may write fewer bytes than asked (a nearly full disk writes what
 * fits, and only the next call fails with ENOSPC), so loop until every byte is written.
 */
async function writeFully(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    const { bytesWritten } = await handle.write(bytes, at, bytes.length - at);
    if (bytesWritten <= 0)
      throw Object.assign(new Error(`write returned ${bytesWritten} of ${bytes.length - at} bytes`), { code: 'EIO' });
    at += bytesWritten;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

class FileStore implements FileCheckpointStore {
  readonly directory: string;
  readonly description: string;
  private readonly partsDir: string;
  private readonly manifestPath: string;
  private readonly previousPath: string;
  private readonly lockPath: string;
  private readonly fsync: boolean;
  private readonly lockTimeoutMs: number;
  private readonly token = randomBytes(6).toString('hex');
  private ready: Promise<void> | undefined;
  /** Commits of this instance, one at a time (the lock file orders them across processes). */
  private commitTail: Promise<unknown> = Promise.resolve();

  constructor(options: FileCheckpointStoreOptions) {
    const task = options.task ?? 'main';
    for (const [what, name] of [
      ['job', options.job],
      ['task', task],
    ] as const) {
      if (!NAME_PATTERN.test(name)) {
        throw new CheckpointConfigError(
          `file checkpoint store: ${what} name ${JSON.stringify(name)} must match ${NAME_PATTERN}`,
        );
      }
    }
    this.directory = resolve(options.stateDir ?? DEFAULT_STATE_DIR, options.job, task);
    this.description = `file:${this.directory}`;
    this.partsDir = join(this.directory, 'parts');
    this.manifestPath = join(this.directory, 'MANIFEST');
    this.previousPath = join(this.directory, 'MANIFEST.prev');
    this.lockPath = join(this.directory, 'LOCK');
    this.fsync = options.fsync ?? true;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  }

  private ensureDirs(): Promise<void> {
    // Checkpoints hold the job's state (often derived from raw input): private to the user.
    this.ready ??= mkdir(this.partsDir, { recursive: true, mode: PRIVATE_DIR_MODE }).then(
      () => undefined,
      (error: unknown) => {
        this.ready = undefined;
        throw new CheckpointStoreError(this.description, 'create its directory', { cause: error });
      },
    );
    return this.ready;
  }

  private async syncDir(dir: string): Promise<void> {
    if (!this.fsync) return;
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Write to a temp file, fsync, rename over `target`, fsync the directory: all or nothing. */
  private async writeAtomically(dir: string, target: string, chunks: readonly Uint8Array[]): Promise<void> {
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    const handle = await open(temp, 'w', PRIVATE_FILE_MODE);
    try {
      for (const chunk of chunks) await writeFully(handle, chunk);
      if (this.fsync) await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    try {
      await handle.close();
      await rename(temp, target);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await this.syncDir(dir);
  }

  private checkName(name: string): void {
    if (!NAME_PATTERN.test(name) || !PART_NAME_PATTERN.test(name)) {
      throw new CheckpointConfigError(`checkpoint part name ${JSON.stringify(name)} must match ${PART_NAME_PATTERN}`);
    }
  }

  async putPart(name: string, bytes: Uint8Array): Promise<void> {
    this.checkName(name);
    await this.ensureDirs();
    try {
      await this.writeAtomically(this.partsDir, join(this.partsDir, name), [bytes]);
    } catch (error) {
      throw new CheckpointStoreError(this.description, `write part ${name}`, { cause: error });
    }
  }

  async getPart(name: string): Promise<Uint8Array> {
    this.checkName(name);
    try {
      return await readFile(join(this.partsDir, name));
    } catch (error) {
      if (errno(error) === 'ENOENT') throw new CheckpointPartMissingError(this.description, name, { cause: error });
      throw new CheckpointStoreError(this.description, `read part ${name}`, { cause: error });
    }
  }

  async getPartRange(name: string, offset: number, length: number): Promise<Uint8Array> {
    this.checkName(name);
    let handle: FileHandle | undefined;
    try {
      handle = await open(join(this.partsDir, name), 'r');
      const bytes = new Uint8Array(length);
      let read = 0;
      while (read < length) {
        const { bytesRead } = await handle.read(bytes, read, length - read, offset + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return read === length ? bytes : bytes.slice(0, read);
    } catch (error) {
      if (errno(error) === 'ENOENT') throw new CheckpointPartMissingError(this.description, name, { cause: error });
      throw new CheckpointStoreError(this.description, `read part ${name}`, { cause: error });
    } finally {
      await handle?.close();
    }
  }

  async listParts(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.partsDir);
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw new CheckpointStoreError(this.description, 'list parts', { cause: error });
    }
    // Temp files of a writer that crashed are never renamed: remove them once surely abandoned.
    const now = Date.now();
    for (const name of names.filter((n) => n.startsWith(TEMP_PREFIX))) {
      const path = join(this.partsDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info !== undefined && now - info.mtimeMs > STALE_TEMP_MS) await unlink(path).catch(() => undefined);
    }
    return names.filter((n) => !n.startsWith(TEMP_PREFIX)).sort();
  }

  async deletePart(name: string): Promise<void> {
    this.checkName(name);
    try {
      await unlink(join(this.partsDir, name));
    } catch (error) {
      if (errno(error) === 'ENOENT') return;
      throw new CheckpointStoreError(this.description, `delete part ${name}`, { cause: error });
    }
  }

  /**
   * Reads MANIFEST (or MANIFEST.prev). A header that is not ours cannot give a revision: such a file
   * reads as an empty manifest (which fails verification, so the reader falls back to MANIFEST.prev)
   * with a revision computed from what else is on disk, the same for every reader and the committer.
   */
  private async readManifestFile(path = this.manifestPath): Promise<StoredManifest | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if (errno(error) === 'ENOENT') return undefined;
      throw new CheckpointStoreError(this.description, `read the manifest ${path}`, { cause: error });
    }
    if (
      bytes.length < MANIFEST_HEADER_BYTES ||
      bytes.readUInt32BE(0) !== MANIFEST_MAGIC ||
      bytes.readUInt32BE(4) !== MANIFEST_FORMAT
    ) {
      if (path !== this.manifestPath) return { revision: 0, bytes: new Uint8Array(0) };
      const previous = (await this.readManifestFile(this.previousPath))?.revision ?? 0;
      return { revision: Math.max(previous, await this.readRevisionFloor()) + 1, bytes: new Uint8Array(0) };
    }
    return { revision: Number(bytes.readBigUInt64BE(8)), bytes: bytes.subarray(MANIFEST_HEADER_BYTES) };
  }

  readManifest(): Promise<StoredManifest | undefined> {
    return this.readManifestFile();
  }

  async readPreviousManifests(): Promise<StoredManifest[]> {
    const previous = await this.readManifestFile(this.previousPath);
    return previous === undefined ? [] : [previous];
  }

  /**
   * Makes MANIFEST.prev the current MANIFEST (a hard link, or a copy where links are not supported)
   * before it is replaced. A corrupt MANIFEST is not kept: the good MANIFEST.prev stays the fallback.
   */
  private async keepPrevious(current: StoredManifest | undefined): Promise<void> {
    if (current === undefined) {
      // A MANIFEST.prev from before a deleted MANIFEST belongs to an older history: never fall back to it.
      await rm(this.previousPath, { force: true });
      return;
    }
    if (!envelopeIsIntact(current.bytes)) return;
    const temp = join(this.directory, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      await link(this.manifestPath, temp).catch((error: unknown) => {
        if (errno(error) === 'EPERM' || errno(error) === 'ENOTSUP' || errno(error) === 'EOPNOTSUPP')
          return copyFile(this.manifestPath, temp);
        throw error;
      });
      await rename(temp, this.previousPath);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  commitManifest(bytes: Uint8Array, expectedRevision: number | undefined): Promise<number> {
    const run = this.commitTail.then(() =>
      this.withLock(async () => {
        const current = await this.readManifestFile();
        const actual = current?.revision;
        if (actual !== expectedRevision)
          throw new FencedError(this.description, { expectedRevision, actualRevision: actual });
        // Revisions keep growing across clear(): a writer fenced before a clear stays fenced after it.
        const revision = Math.max(actual ?? 0, await this.readRevisionFloor()) + 1;
        const header = Buffer.alloc(MANIFEST_HEADER_BYTES);
        header.writeUInt32BE(MANIFEST_MAGIC, 0);
        header.writeUInt32BE(MANIFEST_FORMAT, 4);
        header.writeBigUInt64BE(BigInt(revision), 8);
        try {
          // The directory fsync of writeAtomically covers MANIFEST.prev's rename too.
          await this.keepPrevious(current);
          await this.writeAtomically(this.directory, this.manifestPath, [header, bytes]);
        } catch (error) {
          throw new CheckpointStoreError(this.description, 'commit the manifest', { cause: error });
        }
        return revision;
      }),
    );
    this.commitTail = run.catch(() => undefined);
    return run;
  }

  /** The highest revision ever used here (kept in the LOCK-protected REVISION file across clear()). */
  private async readRevisionFloor(): Promise<number> {
    try {
      return Number((await readFile(join(this.directory, 'REVISION'), 'utf8')).trim()) || 0;
    } catch {
      return 0;
    }
  }

  /**
   * Runs `action` holding LOCK, created with O_EXCL. A lock left by a dead process on this host is
   * broken; one held by a live process is waited for, up to lockTimeoutMs.
   */
  private async withLock<T>(action: () => Promise<T>): Promise<T> {
    await this.ensureDirs();
    const mine = `${process.pid} ${hostname()} ${this.token}`;
    const deadline = Date.now() + this.lockTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(this.lockPath, 'wx', PRIVATE_FILE_MODE);
        try {
          await writeFully(handle, Buffer.from(mine));
        } catch (error) {
          // A LOCK we created but could not fill (full disk) would read as held by an unknown process.
          await handle.close().catch(() => undefined);
          await unlink(this.lockPath).catch(() => undefined);
          throw error;
        }
        await handle.close();
        break;
      } catch (error) {
        if (errno(error) !== 'EEXIST')
          throw new CheckpointStoreError(this.description, 'take the commit lock', { cause: error });
      }
      if (await this.breakStaleLock()) continue;
      if (Date.now() > deadline) {
        const holder = await readFile(this.lockPath, 'utf8').catch(() => '?');
        throw new CheckpointStoreError(
          this.description,
          `take the commit lock ${this.lockPath} within ${this.lockTimeoutMs} ms (held by ${holder})`,
        );
      }
      await sleep(Math.min(50, 2 + attempt * 2));
    }
    try {
      return await action();
    } finally {
      await unlink(this.lockPath).catch(() => undefined);
    }
  }

  private async breakStaleLock(): Promise<boolean> {
    let content: string;
    let mtimeMs: number;
    try {
      content = await readFile(this.lockPath, 'utf8');
      mtimeMs = (await stat(this.lockPath)).mtimeMs;
    } catch {
      return true; // released meanwhile: try again at once
    }
    const [pidText, host] = content.split(' ');
    const pid = Number(pidText);
    // An empty lock is a holder that died between create and write; give it a moment first.
    const stale =
      Number.isInteger(pid) && pid > 0 ? host === hostname() && !isAlive(pid) : Date.now() - mtimeMs > 5_000;
    if (!stale) return false;
    await unlink(this.lockPath).catch(() => undefined);
    return true;
  }

  async clear(): Promise<void> {
    await this.withLock(async () => {
      const last = Math.max(
        (await this.readManifestFile().catch(() => undefined))?.revision ?? 0,
        await this.readRevisionFloor(),
      );
      try {
        await this.writeAtomically(this.directory, join(this.directory, 'REVISION'), [Buffer.from(`${last}\n`)]);
        await rm(this.manifestPath, { force: true });
        await rm(this.previousPath, { force: true });
        await rm(this.partsDir, { recursive: true, force: true });
        await mkdir(this.partsDir, { recursive: true, mode: PRIVATE_DIR_MODE });
        await this.syncDir(this.directory);
      } catch (error) {
        throw new CheckpointStoreError(this.description, 'clear', { cause: error });
      }
    });
  }

  async close(): Promise<void> {
    await this.commitTail;
  }
}

/** Creates (lazily, on first write) a file store under `<stateDir>/<job>/<task>`. */
export function createFileCheckpointStore(options: FileCheckpointStoreOptions): FileCheckpointStore {
  return new FileStore(options);
}
