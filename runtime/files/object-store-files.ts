// NATS mode's file area: the job's JetStream Object Store bucket `stator-<job>-files`, in the Object
// Store's own layout (ADR-20: chunks on `$O.<bucket>.C.<nuid>`, the metadata of a name on
// `$O.<bucket>.M.<base64url(name)>`, one message per name kept by a rollup), so `nats object` reads it.
//
// Writes do not use nats.js's put: it reads the current version, uploads, publishes the metadata and
// purges the version it read, so two concurrent puts of one name leave one upload's chunks behind
// for good, and it cannot check a digest. Here every metadata publish carries
// `Nats-Expected-Last-Subject-Sequence` = the sequence of the version it replaces: the server checks
// it and stores the message in one step, under the stream's lock (on a cluster, in the leader's
// proposal order), so exactly one writer replaces a given version and the others get "wrong last
// sequence" (10071) and look again. That is the compare-and-set of `expectedDigest`, and it makes
// the purge of the replaced chunks exact.
import { createHash } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { StatorError } from '../../coders/index.ts';
import {
  checkFileName,
  FileCorruptError,
  FileDigestMismatchError,
  FileNotFoundError,
  FilesClosedError,
  FilesLimitExceededError,
  FilesUnavailableError,
  type FileData,
  type FileEntry,
  type FileInfo,
  type PutOptions,
} from '../../src/files/index.ts';
import { jetStreamBucketName } from '../checkpoint/jetstream-bucket-name.ts';
import { ConfigError } from '../errors.ts';
import { DEFAULT_RETRY_POLICY, isTransientNatsError, retryTransient, type RetryPolicy } from '../nats/retry.ts';
import type { ClosableJobFiles } from './closable-job-files.ts';
import { chunksOf } from './file-data.ts';
import { digestOfFile, digestString } from './file-digest.ts';
import { resolveMaxBytes } from './files-options.ts';
import { natsCore, natsJetStream, natsObj } from '../deferred-packages.ts';

/** Options of {@link openObjectStoreFiles}. */
export interface ObjectStoreFilesOptions {
  /** The connection to use; the caller keeps it (close() does not close it). */
  readonly connection: NatsConnection;
  /** The job's name: its bucket is `stator-<job>-files` (filesBucketName). */
  readonly job: string;
  /** The local cache of `path()`, e.g. `<state-dir>/<job>/files-cache` (created private, 0700). */
  readonly cacheDir: string;
  /** Size limit of the area in bytes. @default 10 GiB (DEFAULT_FILES_MAX_BYTES) */
  readonly maxBytes?: number | undefined;
  /** Replicas of the bucket's stream when this call creates it (a cluster: 3). @default 1 */
  readonly replicas?: number | undefined;
  /** Create the bucket when missing; `false` (tools reading an area) fails with FilesUnavailableError instead. */
  readonly create?: boolean;
  /** Timeout of each JetStream request, and the longest wait for the next chunk of a read. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** Size of the chunks a file is cut into, clamped to the server's max payload. @default 131072 */
  readonly chunkBytes?: number;
}

/** The Object Store bucket of a job's file area: `stator-<job>-files` (escaped as checkpoint buckets are). */
export function filesBucketName(job: string): string {
  return jetStreamBucketName(job, 'files');
}

/** The metadata the Object Store keeps per name (ADR-20's ObjectInfo, as nats.js and the nats CLI write it). */
interface ObjectMeta {
  readonly name: string;
  readonly description?: string;
  readonly options?: { readonly max_chunk_size?: number };
  readonly bucket: string;
  readonly nuid: string;
  readonly size: number;
  readonly chunks: number;
  readonly mtime: string;
  readonly digest: string;
  readonly deleted?: boolean;
}

/** A name's metadata message as stored: `revision` is its stream sequence (what a replacement expects). */
interface StoredMeta {
  readonly meta: ObjectMeta;
  readonly revision: number;
}

const WRONG_LAST_SEQUENCE = 10071;
const STREAM_NOT_FOUND = 10059;
/** Chunks of one put in flight at once (each acked before the metadata is published). */
const CHUNKS_IN_FLIGHT = 8;
/** Rounds of "someone else replaced it first" before a put or delete gives up (FilesUnavailableError). */
const MAX_COMMIT_ROUNDS = 50;
const RETRY: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 5 };

/**
 * Opens the job's file area in its Object Store bucket (created when missing unless `create:
 * false`), with `path()`'s cache in `options.cacheDir`.
 * @throws ConfigError for bad options or a cache folder that cannot be created.
 * @throws FilesUnavailableError when NATS cannot be reached, or the bucket is missing and `create` is false.
 */
export async function openObjectStoreFiles(options: ObjectStoreFilesOptions): Promise<ClosableJobFiles> {
  const maxBytes = resolveMaxBytes(options.maxBytes);
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)
    throw new ConfigError(`the file area's replicas must be an integer from 1 to 5, got ${replicas}`);
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const bucket = filesBucketName(options.job);
  const cacheDir = resolve(options.cacheDir);
  const tempDir = `${cacheDir}.tmp`;
  try {
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    await mkdir(tempDir, { recursive: true, mode: 0o700 });
    await removeAbandonedTemps(tempDir);
  } catch (error) {
    throw new ConfigError(
      `cannot create the file area's cache ${cacheDir}: ${(error as Error).message}; check --state-dir and its permissions`,
      { cause: error },
    );
  }
  const nc = options.connection;
  const js = natsJetStream().jetstream(nc, { timeout: requestTimeoutMs });
  const never = new AbortController().signal;
  try {
    const jsm = await retryTransient(
      () => natsJetStream().jetstreamManager(nc, { timeout: requestTimeoutMs }),
      RETRY,
      never,
    );
    if (options.create ?? true) {
      await retryTransient(
        () => new (natsObj().Objm)(js).create(bucket, { storage: natsJetStream().StorageType.File, replicas }),
        DEFAULT_RETRY_POLICY,
        never,
      );
    } else {
      const exists = await retryTransient(
        () =>
          jsm.streams.info(`OBJ_${bucket}`).then(
            () => true,
            (error: unknown) => {
              if (error instanceof natsJetStream().JetStreamApiError && error.code === STREAM_NOT_FOUND) return false;
              throw error;
            },
          ),
        RETRY,
        never,
      );
      if (!exists) {
        throw new FilesUnavailableError(
          `no file area for job ${options.job} on this NATS server (its bucket ${bucket} does not exist): ` +
            'has the job run in NATS mode here? (check --nats and --job)',
          { retryable: false },
        );
      }
    }
    const chunkBytes = Math.min(options.chunkBytes ?? 128 * 1024, nc.info?.max_payload ?? 1024 * 1024);
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1)
      throw new ConfigError(`the file area's chunkBytes must be a positive integer, got ${options.chunkBytes}`);
    return new ObjectStoreFiles(js, jsm, bucket, cacheDir, tempDir, maxBytes, chunkBytes, requestTimeoutMs);
  } catch (error) {
    if (error instanceof StatorError) throw error;
    throw new FilesUnavailableError(
      `cannot open the file area nats:${bucket}: ${(error as Error).message}; check the NATS server (JetStream enabled?) and try again`,
      { cause: error },
    );
  }
}

/** A version the cache verified: the local file with this inode, size and time holds `digest`. */
interface VerifiedCopy {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly digest: string;
}

/** The chunks of a version were purged while it was read: a newer version replaced it. */
class VersionReplaced extends Error {}

class ObjectStoreFiles implements ClosableJobFiles {
  readonly description: string;
  private readonly stream: string;
  private state: 'open' | 'closed' = 'open';
  private readonly pending = new Set<Promise<unknown>>();
  private readonly verified = new Map<string, VerifiedCopy>();
  /** path() downloads in progress by name, so concurrent calls share one download. */
  private readonly downloads = new Map<string, Promise<string>>();

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly bucket: string,
    private readonly cacheDir: string,
    private readonly tempDir: string,
    readonly maxBytes: number,
    private readonly chunkBytes: number,
    private readonly requestTimeoutMs: number,
  ) {
    this.description = `nats:${bucket}`;
    this.stream = `OBJ_${bucket}`;
  }

  async put(name: string, data: FileData, options: PutOptions = {}): Promise<FileInfo> {
    this.checkOpen();
    checkFileName(name);
    return this.track(this.write(name, data, options));
  }

  async get(name: string): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    await this.readCurrent(name, (chunk) => void parts.push(chunk));
    return Buffer.concat(parts);
  }

  async getStream(name: string): Promise<ReadableStream<Uint8Array>> {
    const stored = await this.live(name);
    const chunks = this.readChunks(stored.meta);
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          controller.error(
            error instanceof VersionReplaced
              ? new FilesUnavailableError(
                  `file ${JSON.stringify(name)} in ${this.description} was replaced while it was read: read it again`,
                )
              : error,
          );
        }
      },
      cancel: async () => {
        await chunks.return(undefined);
      },
    });
  }

  async stat(name: string): Promise<FileInfo | undefined> {
    this.checkOpen();
    const stored = await this.readMeta(checkFileName(name));
    return stored === undefined || stored.meta.deleted === true ? undefined : infoOf(stored.meta);
  }

  async list(prefix = ''): Promise<FileEntry[]> {
    this.checkOpen();
    if (typeof prefix !== 'string') throw new TypeError(`list() takes a string prefix, got ${typeof prefix}`);
    const entries = (await this.liveMetas())
      .filter((meta) => meta.name.startsWith(prefix))
      .map((meta) => ({ name: meta.name, size: meta.size, modifiedMs: Date.parse(meta.mtime) }));
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string): Promise<boolean> {
    this.checkOpen();
    checkFileName(name);
    return this.track(this.remove(name));
  }

  async path(name: string): Promise<string> {
    this.checkOpen();
    checkFileName(name);
    const running = this.downloads.get(name);
    if (running !== undefined) return running;
    const download = this.track(this.cached(name)).finally(() => this.downloads.delete(name));
    this.downloads.set(name, download);
    return download;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await Promise.allSettled([...this.pending]);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- writes ---------------------------------------------------------------------------------

  private async write(name: string, data: FileData, options: PutOptions): Promise<FileInfo> {
    const current = await this.readMeta(name);
    if (options.expectedDigest !== undefined) this.checkExpected(name, options.expectedDigest, current);
    const used = (await this.liveMetas()).reduce((sum, meta) => sum + meta.size, 0);
    const currentSize = isLive(current) ? current.meta.size : 0;
    const allowance = this.maxBytes - (used - currentSize);
    const id = natsCore().nuid.next();
    const chunkSubject = `$O.${this.bucket}.C.${id}`;
    let uploaded: { size: number; chunks: number; digest: string };
    try {
      uploaded = await this.upload(chunkSubject, data, (size) => {
        if (size > allowance) {
          throw new FilesLimitExceededError(
            name,
            this.description,
            this.maxBytes,
            `the area holds ${used} bytes${currentSize > 0 ? ` (${currentSize} of them this file's current version)` : ''} and this file has more than ${size - 1} bytes`,
          );
        }
      });
    } catch (error) {
      await this.purge(chunkSubject).catch(() => {});
      throw this.failure(`write ${name}`, error);
    }
    const meta: ObjectMeta = {
      name,
      description: '',
      options: { max_chunk_size: this.chunkBytes },
      bucket: this.bucket,
      nuid: id,
      size: uploaded.size,
      chunks: uploaded.chunks,
      mtime: new Date().toISOString(),
      digest: uploaded.digest,
      deleted: false,
    };
    let replaced: StoredMeta | undefined;
    try {
      replaced = await this.commit(name, meta, current, (latest) => {
        if (options.expectedDigest !== undefined) this.checkExpected(name, options.expectedDigest, latest);
      });
    } catch (error) {
      await this.purge(chunkSubject).catch(() => {});
      throw this.failure(`write ${name}`, error);
    }
    // Not fatal when it fails: the new version is live; the old chunks stay until the next purge of that name.
    if (isLive(replaced)) await this.purge(`$O.${this.bucket}.C.${replaced.meta.nuid}`).catch(() => {});
    return infoOf(meta);
  }

  /** Publishes `data` as chunks on `subject` (a few acks in flight), checking the running size with `check`. */
  private async upload(
    subject: string,
    data: FileData,
    check: (size: number) => void,
  ): Promise<{ size: number; chunks: number; digest: string }> {
    const hash = createHash('sha256');
    const inFlight: Promise<unknown>[] = [];
    let buffer = Buffer.alloc(0);
    let size = 0;
    let chunks = 0;
    const send = async (chunk: Buffer): Promise<void> => {
      hash.update(chunk);
      chunks++;
      inFlight.push(this.js.publish(subject, chunk, { timeout: this.requestTimeoutMs }));
      if (inFlight.length >= CHUNKS_IN_FLIGHT) await inFlight.shift();
    };
    try {
      for await (const piece of chunksOf(data)) {
        size += piece.length;
        check(size);
        buffer = buffer.length === 0 ? Buffer.from(piece) : Buffer.concat([buffer, piece]);
        while (buffer.length >= this.chunkBytes) {
          await send(buffer.subarray(0, this.chunkBytes));
          buffer = buffer.subarray(this.chunkBytes);
        }
      }
      if (buffer.length > 0) await send(buffer);
      await Promise.all(inFlight);
    } finally {
      // Settle every publish before the caller purges (a late chunk would outlive the purge).
      await Promise.allSettled(inFlight);
    }
    return { size, chunks, digest: digestString(hash) };
  }

  /**
   * Publishes `meta` as the name's new version if nobody replaced `expected` meanwhile; otherwise
   * reads the latest version, lets `recheck` refuse it (throwing), and tries again over it.
   * Resolves with the version replaced.
   */
  private async commit(
    name: string,
    meta: ObjectMeta,
    expected: StoredMeta | undefined,
    recheck: (latest: StoredMeta | undefined) => void,
  ): Promise<StoredMeta | undefined> {
    const subject = this.metaSubject(name);
    const body = JSON.stringify(meta);
    for (let round = 0; round < MAX_COMMIT_ROUNDS; round++) {
      const h = natsCore().headers();
      h.set('Nats-Expected-Last-Subject-Sequence', String(expected?.revision ?? 0));
      h.set('Nats-Rollup', 'sub');
      try {
        await this.js.publish(subject, body, { headers: h, timeout: this.requestTimeoutMs });
        return expected;
      } catch (error) {
        const conflict = error instanceof natsJetStream().JetStreamApiError && error.code === WRONG_LAST_SEQUENCE;
        if (!conflict && !isTransientNatsError(error)) throw error;
        // Another writer replaced the version first (or the publish timed out): look again.
        const latest = await this.readMeta(name);
        // A publish that timed out may have been stored: then the latest version is this one.
        if (latest?.meta.nuid === meta.nuid && latest.meta.deleted === meta.deleted) return expected;
        if (latest?.revision !== expected?.revision) recheck(latest);
        expected = latest;
      }
    }
    throw new FilesUnavailableError(
      `file ${JSON.stringify(name)} in ${this.description}: other writers replaced it ${MAX_COMMIT_ROUNDS} times while this write tried to commit; try again`,
    );
  }

  private checkExpected(name: string, expected: string | null, current: StoredMeta | undefined): void {
    const actual = isLive(current) ? current.meta.digest : null;
    if (actual !== expected) throw new FileDigestMismatchError(name, expected, actual);
  }

  private async remove(name: string): Promise<boolean> {
    const current = await this.readMeta(name);
    if (!isLive(current)) return false;
    // A deleted-marker version, as nats.js and the nats CLI write it (watchers see the delete).
    const marker = (of: StoredMeta): ObjectMeta => ({ ...of.meta, size: 0, chunks: 0, digest: '', deleted: true });
    let gone: StoredMeta | undefined;
    try {
      gone = await this.commit(name, marker(current), current, (latest) => {
        if (!isLive(latest)) throw new AlreadyGone();
      });
    } catch (error) {
      if (error instanceof AlreadyGone) return false;
      throw this.failure(`delete ${name}`, error);
    }
    if (isLive(gone)) await this.purge(`$O.${this.bucket}.C.${gone.meta.nuid}`).catch(() => {});
    this.verified.delete(name);
    await rm(this.cachePath(name), { force: true }).catch(() => {});
    return true;
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** The name's metadata message (live or a delete marker); undefined when the name was never written. */
  private async readMeta(name: string): Promise<StoredMeta | undefined> {
    return this.io(`read ${name}`, async () => {
      // A plain (not direct) get: the stream leader answers, so it sees every acknowledged write.
      const message = await this.jsm.streams.getMessage(this.stream, { last_by_subj: this.metaSubject(name) });
      return message === null ? undefined : { meta: message.json<ObjectMeta>(), revision: message.seq };
    });
  }

  private async live(name: string): Promise<StoredMeta> {
    this.checkOpen();
    const stored = await this.readMeta(checkFileName(name));
    if (!isLive(stored)) throw new FileNotFoundError(name, this.description);
    return stored;
  }

  /** The live files' metadata: the stream's metadata subjects, then the last message of each. */
  private async liveMetas(): Promise<ObjectMeta[]> {
    return this.io('list', async () => {
      const prefix = `$O.${this.bucket}.M.`;
      const info = await this.jsm.streams.info(this.stream, { subjects_filter: `${prefix}>` });
      const subjects = Object.keys(info.state.subjects ?? {});
      const metas = await Promise.all(
        subjects.map((subject) =>
          this.jsm.streams
            .getMessage(this.stream, { last_by_subj: subject })
            .then((message) => message?.json<ObjectMeta>()),
        ),
      );
      return metas.filter((meta): meta is ObjectMeta => meta !== undefined && meta.deleted !== true);
    });
  }

  /** Reads the current version into `sink`, starting over when a newer version replaces it meanwhile. */
  private async readCurrent(name: string, sink: (chunk: Uint8Array) => void): Promise<ObjectMeta> {
    for (let round = 0; ; round++) {
      const stored = await this.live(name);
      try {
        for await (const chunk of this.readChunks(stored.meta)) sink(chunk);
        return stored.meta;
      } catch (error) {
        if (!(error instanceof VersionReplaced) || round >= MAX_COMMIT_ROUNDS)
          throw this.failure(`read ${name}`, error);
      }
    }
  }

  /**
   * The chunks of one version, in order, then the digest check (FileCorruptError on a mismatch).
   * Throws VersionReplaced when its chunks stop coming and a newer version replaced it.
   */
  private async *readChunks(meta: ObjectMeta): AsyncGenerator<Uint8Array> {
    if (meta.chunks === 0) {
      if (meta.digest !== digestString(createHash('sha256')))
        throw new FileCorruptError(meta.name, `it is empty, but its digest is ${meta.digest}`);
      return;
    }
    const consumer = await this.io(`read ${meta.name}`, () =>
      this.js.consumers.getPushConsumer(this.stream, { filter_subjects: `$O.${this.bucket}.C.${meta.nuid}` }),
    );
    const messages = await this.io(`read ${meta.name}`, () => consumer.consume());
    const iterator = messages[Symbol.asyncIterator]();
    const hash = createHash('sha256');
    let size = 0;
    try {
      for (let received = 0; received < meta.chunks; received++) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<'idle'>((done) => {
          timer = setTimeout(() => done('idle'), this.requestTimeoutMs);
        });
        const next = await Promise.race([iterator.next(), idle]).finally(() => clearTimeout(timer));
        if (next === 'idle' || next.done === true) {
          const latest = await this.readMeta(meta.name);
          if (latest?.meta.nuid !== meta.nuid) throw new VersionReplaced();
          throw new FilesUnavailableError(
            `file ${JSON.stringify(meta.name)} in ${this.description}: chunk ${received + 1} of ${meta.chunks} did not arrive within ${this.requestTimeoutMs} ms; check the NATS server and try again`,
          );
        }
        const data = next.value.data;
        hash.update(data);
        size += data.length;
        yield data;
      }
    } finally {
      // stop() ends the subscription (close() waits for a drain that never comes on 2.9); the
      // consumer is deleted rather than left until its inactivity threshold.
      messages.stop();
      const consumerName = (await consumer.info(true).catch(() => undefined))?.name;
      if (consumerName !== undefined) await this.jsm.consumers.delete(this.stream, consumerName).catch(() => {});
    }
    const digest = digestString(hash);
    if (size !== meta.size || digest !== meta.digest) {
      throw new FileCorruptError(
        meta.name,
        `read ${size} bytes with digest ${digest} from ${this.description}, but it was stored as ${meta.size} bytes with digest ${meta.digest}`,
      );
    }
  }

  // ---- the local cache of path() --------------------------------------------------------------

  private async cached(name: string): Promise<string> {
    const stored = await this.live(name);
    const local = this.cachePath(name);
    const info = await lstat(local).catch(() => undefined);
    if (info?.isFile() === true && info.size === stored.meta.size) {
      // Re-hashed once per process and whenever the copy's inode, size or time changed: a copy
      // damaged on disk or edited by a library is caught here and downloaded again.
      const known = this.verified.get(name);
      const digest =
        known !== undefined && sameFile(known, info)
          ? known.digest
          : await this.io(`check the cached copy of ${name}`, () => digestOfFile(local));
      this.verified.set(name, { ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, digest });
      if (digest === stored.meta.digest) return local;
    }
    const temp = join(this.tempDir, `${process.pid}-${natsCore().nuid.next()}`);
    try {
      const handle = await open(temp, 'wx', 0o600);
      let meta: ObjectMeta;
      try {
        // Each chunk at its own offset: writes at the file's position may run in any order on
        // libuv's threads, and a chunk overtaking the one before it scrambles the copy.
        const writes: Promise<unknown>[] = [];
        let offset = 0;
        meta = await this.readCurrent(name, (chunk) => {
          writes.push(handle.write(chunk, 0, chunk.length, offset));
          offset += chunk.length;
        });
        await Promise.all(writes);
      } finally {
        await handle.close();
      }
      await this.makeRoom(local);
      await rename(temp, local);
      const written = await lstat(local);
      this.verified.set(name, { ino: written.ino, size: written.size, mtimeMs: written.mtimeMs, digest: meta.digest });
      return local;
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw this.failure(`download ${name} into ${this.cacheDir}`, error);
    }
  }

  /**
   * Creates the folders of `local`. The Object Store allows both `a` and `a/b`; the cache, a file
   * system, cannot hold both, so whichever copy is in the way goes (it is downloaded again when needed).
   */
  private async makeRoom(local: string): Promise<void> {
    const relative = local.slice(this.cacheDir.length + 1).split('/');
    let folder = this.cacheDir;
    for (const segment of relative.slice(0, -1)) {
      folder = join(folder, segment);
      const info = await lstat(folder).catch(() => undefined);
      if (info !== undefined && !info.isDirectory()) await rm(folder, { force: true });
    }
    await mkdir(dirname(local), { recursive: true, mode: 0o700 });
    const info = await lstat(local).catch(() => undefined);
    if (info?.isDirectory() === true) await rm(local, { recursive: true, force: true });
  }

  private cachePath(name: string): string {
    return join(this.cacheDir, name);
  }

  // ---- internals ------------------------------------------------------------------------------

  private metaSubject(name: string): string {
    // Go's base64.URLEncoding of the UTF-8 bytes, as the nats CLI and ADR-20 name it (padded).
    const encoded = Buffer.from(name, 'utf8').toString('base64url');
    return `$O.${this.bucket}.M.${encoded}${'='.repeat((4 - (encoded.length % 4)) % 4)}`;
  }

  private async purge(filter: string): Promise<void> {
    await retryTransient(() => this.jsm.streams.purge(this.stream, { filter }), RETRY, new AbortController().signal);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    void work.then(
      () => this.pending.delete(work),
      () => this.pending.delete(work),
    );
    return work;
  }

  private async io<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await retryTransient(work, RETRY, new AbortController().signal);
    } catch (error) {
      throw this.failure(what, error);
    }
  }

  private failure(what: string, error: unknown): unknown {
    if (error instanceof StatorError || error instanceof TypeError || error instanceof VersionReplaced) return error;
    const reason = error instanceof Error ? error.message : String(error);
    return new FilesUnavailableError(
      `file area ${this.description}: cannot ${what}: ${reason}; check the NATS server (and the disk of the cache) and try again`,
      { cause: error },
    );
  }

  private checkOpen(): void {
    if (this.state === 'closed') throw new FilesClosedError(this.description);
  }
}

/** Thrown inside a delete's commit when another writer deleted the file first. */
class AlreadyGone extends Error {}

function isLive(stored: StoredMeta | undefined): stored is StoredMeta {
  return stored !== undefined && stored.meta.deleted !== true;
}

function infoOf(meta: ObjectMeta): FileInfo {
  return { name: meta.name, size: meta.size, modifiedMs: Date.parse(meta.mtime), digest: meta.digest };
}

function sameFile(known: VerifiedCopy, info: Stats): boolean {
  return known.ino === info.ino && known.size === info.size && known.mtimeMs === info.mtimeMs;
}

/** Removes temp files of downloads whose process is gone (several processes may share a state directory). */
async function removeAbandonedTemps(tempDir: string): Promise<void> {
  for (const entry of await readdir(tempDir)) {
    const pid = Number(entry.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
    await rm(join(tempDir, entry), { force: true, recursive: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
