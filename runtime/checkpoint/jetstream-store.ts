// CheckpointStore on NATS JetStream: parts in an Object Store bucket (chunked, so snapshots larger
// than the 1 MiB max payload are fine), the manifest under one key of a KV bucket, replaced with
// compare-and-set on its revision. Both buckets are named by jetStreamBucketName(job, task).
import { createHash, randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager, StorageType, StoredMsg } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import type { ObjectStore } from '@nats-io/obj';
import { StatorError } from '../../coders/index.ts';
import { PART_NAME_PATTERN, type CheckpointStore, type StoredManifest } from '../../src/checkpoint/checkpoint-store.ts';
import {
  CheckpointConfigError,
  CheckpointPartMissingError,
  CheckpointStoreError,
  FencedError,
} from '../../src/checkpoint/errors.ts';
import { LifecycleError } from '../errors.ts';
import { connectNats, type NatsLink } from '../nats/connection.ts';
import { DEFAULT_RETRY_POLICY, isTransientNatsError, retryTransient, type RetryPolicy } from '../nats/retry.ts';
import { leaderKvGet } from '../nats/kv-leader-get.ts';
import { jetStreamBucketName } from './jetstream-bucket-name.ts';
import { natsJetStream, natsKv, natsObj } from '../deferred-packages.ts';

/** Options of {@link openJetStreamCheckpointStore}. Give exactly one of `connection` and `servers`. */
export interface JetStreamCheckpointStoreOptions {
  readonly job: string;
  readonly task: string;
  /** A connection owned by the caller: the store uses it and never closes it. */
  readonly connection?: NatsConnection;
  /** Servers to connect to; the store owns that connection and closes it in `close()`. */
  readonly servers?: string | readonly string[];
  /** First part of the bucket names. @default 'stator' */
  readonly bucketPrefix?: string;
  /** Stream storage of both buckets. @default 'file' */
  readonly storage?: 'file' | 'memory';
  /** Stream replicas of both buckets (clustered servers only). @default 1 */
  readonly replicas?: number;
  /**
   * Timeout of each JetStream request (each chunk published, each read); a read of a part also
   * fails when no chunk arrives for this long.
   * @default 5000
   */
  readonly requestTimeoutMs?: number;
  /** Retries of transient failures (timeouts, server restarting). @default 10 attempts, 100 ms doubling to 2 s */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Size of the Object Store chunks a part is cut into; clamped to the server's max payload.
   * @default 131072 (nats.js's default; 1 MiB chunks measured no faster, see bench/jetstream-store.ts)
   */
  readonly chunkBytes?: number;
  /**
   * Create the buckets when they are missing. `false` opens existing buckets only, for readers such
   * as `stator checkpoints` that must not leave buckets behind for a job that never ran: missing
   * buckets reject with NoCheckpointBucketsError.
   * @default true
   */
  readonly create?: boolean;
}

/** The job's checkpoint buckets do not exist (the job never ran in NATS mode on this server, or they were deleted). */
export class NoCheckpointBucketsError extends StatorError {
  override name = 'NoCheckpointBucketsError';
  readonly job: string;
  readonly bucket: string;
  constructor(job: string, bucket: string, missing: readonly string[]) {
    super(
      'CHECKPOINT_BUCKETS_MISSING',
      `no checkpoints for job ${job}: its buckets (${missing.join(', ')}) do not exist on this NATS server; ` +
        'has the job run in NATS mode here? (check --nats and the job name)',
    );
    this.job = job;
    this.bucket = bucket;
  }
}

interface ResolvedOptions {
  readonly job: string;
  readonly task: string;
  readonly bucket: string;
  readonly storage: StorageType;
  readonly replicas: number;
  readonly requestTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly chunkBytes: number;
  readonly create: boolean;
}

function resolveOptions(options: JetStreamCheckpointStoreOptions): ResolvedOptions {
  if ((options.connection === undefined) === (options.servers === undefined)) {
    throw new CheckpointConfigError(
      'JetStream checkpoint store: pass either `connection` (yours) or `servers` (the store connects), exactly one',
    );
  }
  const positive = (value: number | undefined, fallback: number, name: string): number => {
    const resolved = value ?? fallback;
    if (!Number.isInteger(resolved) || resolved < 1)
      throw new CheckpointConfigError(`JetStream checkpoint store: ${name} must be a positive integer, got ${value}`);
    return resolved;
  };
  const retry: RetryPolicy = {
    maxAttempts: positive(options.retry?.maxAttempts, DEFAULT_RETRY_POLICY.maxAttempts, 'retry.maxAttempts'),
    initialDelayMs: positive(
      options.retry?.initialDelayMs,
      DEFAULT_RETRY_POLICY.initialDelayMs,
      'retry.initialDelayMs',
    ),
    maxDelayMs: positive(options.retry?.maxDelayMs, DEFAULT_RETRY_POLICY.maxDelayMs, 'retry.maxDelayMs'),
  };
  return {
    job: options.job,
    task: options.task,
    bucket: jetStreamBucketName(options.job, options.task, options.bucketPrefix),
    storage:
      (options.storage ?? 'file') === 'file' ? natsJetStream().StorageType.File : natsJetStream().StorageType.Memory,
    replicas: positive(options.replicas, 1, 'replicas'),
    requestTimeoutMs: positive(options.requestTimeoutMs, 5_000, 'requestTimeoutMs'),
    retry,
    chunkBytes: positive(options.chunkBytes, 128 * 1024, 'chunkBytes'),
    create: options.create ?? true,
  };
}

const MANIFEST_KEY = 'manifest';
/**
 * Manifests the KV bucket keeps (its history): the current one and earlier ones to fall back to
 * when the current is corrupt. Lease renewals are commits too, so these are recent.
 */
const MANIFEST_HISTORY = 4;
const WRONG_LAST_SEQUENCE = 10071;
const STREAM_NOT_FOUND = 10059;

/** The digest the Object Store records for bytes (ADR-20: "SHA-256=" + padded base64url). */
function objectDigest(bytes: Uint8Array): string {
  return `SHA-256=${createHash('sha256').update(bytes).digest('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
}

/** A retryable failure of our own making (e.g. a stalled read); transient like a timeout. */
class TransientStoreFailure extends StatorError {
  override name = 'TransientStoreFailure';
  constructor(message: string) {
    super('CHECKPOINT_STORE_UNAVAILABLE', message, { retryable: true });
  }
}

function isTransient(error: unknown): boolean {
  return error instanceof TransientStoreFailure || isTransientNatsError(error);
}

/** A CheckpointStore on JetStream; also disposable (`await using`). */
export interface JetStreamCheckpointStore extends CheckpointStore, AsyncDisposable {
  /** The name of both buckets (KV_<bucket> holds the manifest, OBJ_<bucket> the parts). */
  readonly bucket: string;
}

class JetStreamStore implements JetStreamCheckpointStore {
  readonly description: string;
  readonly bucket: string;
  private state: 'open' | 'closed' = 'open';
  private closing: Promise<void> | undefined;
  private readonly abort = new AbortController();
  // Identifies this store instance in Nats-Msg-Id, so a commit retried after a lost ack is
  // deduplicated by the server instead of failing its own compare-and-set.
  private readonly writerId = randomUUID();
  private commits = 0;

  constructor(
    /** The link the store opened itself (closed by `close()`); undefined when the caller's connection is used. */
    private readonly ownLink: NatsLink | undefined,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    private readonly os: ObjectStore,
    private readonly options: ResolvedOptions,
  ) {
    this.bucket = options.bucket;
    this.description = `jetstream:${options.bucket}`;
  }

  async putPart(name: string, bytes: Uint8Array): Promise<void> {
    this.checkPartName(name);
    const digest = objectDigest(bytes);
    await this.retrying(`put part ${name}`, async () => {
      // The Object Store writes every chunk (each acked) before the object's metadata: an upload cut
      // short leaves the name absent or at its previous complete version, never partial.
      await this.os.putBlob({ name, options: { max_chunk_size: this.options.chunkBytes } }, bytes, {
        timeout: this.options.requestTimeoutMs,
      });
      // Verify before resolving, so the manifest the caller commits next never names a part the
      // server does not hold in full: the stored metadata must describe exactly these bytes.
      const info = await this.os.info(name);
      if (info === null || info.deleted || info.size !== bytes.length || info.digest !== digest) {
        throw new TransientStoreFailure(
          `part ${name} did not read back as written (size ${info?.size}, expected ${bytes.length})`,
        );
      }
    });
  }

  async getPart(name: string): Promise<Uint8Array> {
    this.checkPartName(name);
    return this.retrying(`get part ${name}`, async () => {
      const result = await this.os.get(name);
      if (result === null) throw new CheckpointPartMissingError(this.description, name);
      return this.readAll(result.data, result.error, name);
    });
  }

  async listParts(): Promise<string[]> {
    return this.retrying('list parts', async () => {
      // One request: the stream's metadata subjects ($O.<bucket>.M.<base64url(name)>, ADR-20). A
      // deleted part has no metadata subject left (deletePart purges it), so every subject is a part.
      const prefix = `$O.${this.options.bucket}.M.`;
      const info = await this.jsm.streams.info(`OBJ_${this.options.bucket}`, { subjects_filter: `${prefix}>` });
      return Object.keys(info.state.subjects ?? {})
        .map((subject) => natsObj().Base64UrlPaddedCodec.decode(subject.slice(prefix.length), false) as string)
        .sort();
    });
  }

  async deletePart(name: string): Promise<void> {
    this.checkPartName(name);
    const stream = `OBJ_${this.options.bucket}`;
    // Purge the metadata first (the part disappears at once), then its chunks by the nuid read
    // before, so a retry after a failure in between still finds the chunks to remove.
    let nuid: string | undefined;
    await this.retrying(`delete part ${name}`, async () => {
      if (nuid === undefined) {
        const info = await this.os.info(name);
        if (info === null) return;
        nuid = info.nuid;
      }
      await this.jsm.streams.purge(stream, { filter: this.metaSubject(name) });
      await this.jsm.streams.purge(stream, { filter: `$O.${this.options.bucket}.C.${nuid}` });
    });
  }

  async readManifest(): Promise<StoredManifest | undefined> {
    return this.retrying('read manifest', async () => {
      // From the stream's leader, not kv.get (leaderKvGet): the revision read here fences the next
      // commit, so a stale one would fence this process by its own earlier write.
      const stored = await leaderKvGet(this.jsm, this.options.bucket, MANIFEST_KEY);
      if (stored === null || stored.operation !== 'PUT') return undefined;
      return { bytes: stored.value, revision: stored.revision };
    });
  }

  async readPreviousManifests(): Promise<StoredManifest[]> {
    return this.retrying('read previous manifests', async () => {
      const entries: KvEntry[] = [];
      for await (const entry of await this.kv.history({ key: MANIFEST_KEY })) entries.push(entry);
      const previous: StoredManifest[] = [];
      // Newest first, after the current one; a delete or purge marker ends the job's history.
      for (const entry of entries.reverse().slice(1)) {
        if (entry.operation !== 'PUT') break;
        previous.push({ bytes: entry.value, revision: entry.revision });
      }
      return previous;
    });
  }

  async commitManifest(bytes: Uint8Array, expectedRevision: number | undefined): Promise<number> {
    const msgID = `${this.writerId}.${++this.commits}`;
    const subject = `$KV.${this.options.bucket}.${MANIFEST_KEY}`;
    const publish = (lastSubjectSequence: number) =>
      // What kv.create (expected 0) / kv.update(key, value, revision) send, plus a Nats-Msg-Id. A
      // single server checks duplicates before the expected sequence, so a retry after an attempt
      // whose ack was lost gets that attempt's ack; a clustered stream (2.9.10) checks the expected
      // sequence first and refuses the retry: see whether the key's last write is that attempt.
      this.js.publish(subject, bytes, {
        msgID,
        expect: { lastSubjectSequence },
        timeout: this.options.requestTimeoutMs,
      });
    return this.retrying('commit manifest', async () => {
      try {
        return (await publish(expectedRevision ?? 0)).seq;
      } catch (error) {
        if (!(error instanceof natsJetStream().JetStreamApiError && error.code === WRONG_LAST_SEQUENCE)) throw error;
        const stored = await this.lastWriteOf(subject);
        if (stored?.header.get('Nats-Msg-Id') === msgID) return stored.seq;
        const current = await leaderKvGet(this.jsm, this.options.bucket, MANIFEST_KEY).catch(() => null);
        // "No manifest" is also a key whose last entry is a delete or purge marker (kv delete/purge
        // outside stator): replace the marker, compare-and-set on its revision as kv.create does.
        if (expectedRevision === undefined && current !== null && current.operation !== 'PUT') {
          try {
            return (await publish(current.revision)).seq;
          } catch (retryError) {
            if (!(retryError instanceof natsJetStream().JetStreamApiError && retryError.code === WRONG_LAST_SEQUENCE))
              throw retryError;
          }
        }
        const latest = await leaderKvGet(this.jsm, this.options.bucket, MANIFEST_KEY).catch(() => null);
        throw new FencedError(this.description, {
          expectedRevision,
          actualRevision: latest?.operation === 'PUT' ? latest.revision : undefined,
          cause: error,
        });
      }
    });
  }

  /** The last message on a subject of the manifest's stream, or undefined when there is none (or it cannot be read). */
  private async lastWriteOf(subject: string): Promise<StoredMsg | undefined> {
    try {
      return (await this.jsm.streams.getMessage(`KV_${this.options.bucket}`, { last_by_subj: subject })) ?? undefined;
    } catch {
      return undefined;
    }
  }

  async clear(): Promise<void> {
    await this.retrying('clear', async () => {
      // Purging whole streams leaves no delete markers: afterwards the store reads as never used.
      await this.jsm.streams.purge(`OBJ_${this.options.bucket}`);
      await this.jsm.streams.purge(`KV_${this.options.bucket}`);
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'closed';
      this.abort.abort(new LifecycleError(`${this.description} was closed`));
      await this.ownLink?.close();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private metaSubject(name: string): string {
    // The Object Store client's own encoding of names in subjects (padded base64url).
    return `$O.${this.options.bucket}.M.${natsObj().Base64UrlPaddedCodec.encode(name)}`;
  }

  private checkPartName(name: string): void {
    if (!PART_NAME_PATTERN.test(name)) {
      throw new CheckpointConfigError(`part name ${JSON.stringify(name)} does not match ${PART_NAME_PATTERN}`);
    }
  }

  /** Reads a part's chunks; a read that makes no progress for requestTimeoutMs is abandoned (and retried). */
  private async readAll(
    data: ReadableStream<Uint8Array>,
    error: Promise<Error | null>,
    name: string,
  ): Promise<Uint8Array> {
    const reader = data.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    let timer: NodeJS.Timeout | undefined;
    const stalled = (): Promise<never> =>
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new TransientStoreFailure(`reading part ${name} stalled for ${this.options.requestTimeoutMs} ms`)),
          this.options.requestTimeoutMs,
        );
      });
    try {
      for (;;) {
        const next = await Promise.race([reader.read(), stalled()]);
        clearTimeout(timer);
        if (next.done) break;
        chunks.push(next.value);
        total += next.value.length;
      }
    } catch (failure) {
      clearTimeout(timer);
      await reader.cancel().catch(() => {});
      await error.catch(() => null);
      throw failure;
    }
    const failed = await error;
    if (failed !== null && failed !== undefined) throw failed;
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  }

  /** Runs one store operation with retries of transient failures; maps what escapes to stator errors. */
  private async retrying<T>(operation: string, attempt: () => Promise<T>): Promise<T> {
    if (this.state !== 'open') throw new LifecycleError(`cannot ${operation}: ${this.description} is closed`);
    try {
      return await retryTransient(attempt, this.options.retry, this.abort.signal, isTransient);
    } catch (error) {
      if (error instanceof StatorError && !(error instanceof TransientStoreFailure)) throw error;
      throw new CheckpointStoreError(this.description, operation, { cause: error });
    }
  }
}

/**
 * Opens (creating when missing, unless `create: false`) the KV and Object Store buckets of a job+task and returns a
 * CheckpointStore on them. Bucket names: see jetstream-bucket-name.ts (`stator-<job>-<task>`).
 * Works with nats-server 2.9+ (uses KV compare-and-set, Object Store, publish dedupe only).
 * @throws CheckpointConfigError for bad options; CheckpointStoreError when NATS cannot be reached.
 */
export async function openJetStreamCheckpointStore(
  options: JetStreamCheckpointStoreOptions,
): Promise<JetStreamCheckpointStore> {
  const resolved = resolveOptions(options);
  const description = `jetstream:${resolved.bucket}`;
  let ownLink: NatsLink | undefined;
  if (options.servers !== undefined) {
    const servers = typeof options.servers === 'string' ? options.servers : options.servers.join(',');
    // connectNats throws a retryable NatsConnectError (a StatorError) that says what to check.
    ownLink = await connectNats({ nats: servers, name: `stator ${resolved.job}/${resolved.task} checkpoints` });
  }
  const nc = ownLink?.nc ?? options.connection!;
  const abort = new AbortController(); // never aborted: opening is bounded by the retry policy alone
  try {
    const js = natsJetStream().jetstream(nc, { timeout: resolved.requestTimeoutMs });
    const jsm = await retryTransient(
      () => natsJetStream().jetstreamManager(nc, { timeout: resolved.requestTimeoutMs }),
      resolved.retry,
      abort.signal,
    );
    const bucketOptions = { storage: resolved.storage, replicas: resolved.replicas };
    let kv: KV;
    let os: ObjectStore;
    if (resolved.create) {
      kv = await retryTransient(
        () => new (natsKv().Kvm)(js).create(resolved.bucket, { ...bucketOptions, history: MANIFEST_HISTORY }),
        resolved.retry,
        abort.signal,
      );
      // Buckets made by older versions kept one manifest: keep the history from now on.
      const kvStream = `KV_${resolved.bucket}`;
      const config = (await retryTransient(() => jsm.streams.info(kvStream), resolved.retry, abort.signal)).config;
      if (config.max_msgs_per_subject < MANIFEST_HISTORY) {
        await retryTransient(
          () => jsm.streams.update(kvStream, { max_msgs_per_subject: MANIFEST_HISTORY }),
          resolved.retry,
          abort.signal,
        );
      }
      os = await retryTransient(
        () => new (natsObj().Objm)(js).create(resolved.bucket, bucketOptions),
        resolved.retry,
        abort.signal,
      );
    } else {
      // Look before binding: the clients' open() would not tell a missing bucket from an empty one.
      const missing: string[] = [];
      for (const stream of [`KV_${resolved.bucket}`, `OBJ_${resolved.bucket}`]) {
        const exists = await retryTransient(
          () =>
            jsm.streams.info(stream).then(
              () => true,
              (error: unknown) => {
                if (error instanceof natsJetStream().JetStreamApiError && error.code === STREAM_NOT_FOUND) return false;
                throw error;
              },
            ),
          resolved.retry,
          abort.signal,
        );
        if (!exists) missing.push(stream);
      }
      if (missing.length > 0) throw new NoCheckpointBucketsError(resolved.job, resolved.bucket, missing);
      kv = await retryTransient(() => new (natsKv().Kvm)(js).open(resolved.bucket), resolved.retry, abort.signal);
      os = await retryTransient(() => new (natsObj().Objm)(js).open(resolved.bucket), resolved.retry, abort.signal);
    }
    const maxPayload = nc.info?.max_payload ?? resolved.chunkBytes;
    return new JetStreamStore(ownLink, js, jsm, kv, os, {
      ...resolved,
      chunkBytes: Math.min(resolved.chunkBytes, maxPayload),
    });
  } catch (error) {
    await ownLink?.close().catch(() => {});
    if (error instanceof StatorError) throw error;
    throw new CheckpointStoreError(description, 'open its KV and Object Store buckets', { cause: error });
  }
}
