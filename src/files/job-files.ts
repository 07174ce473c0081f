// CONTRACT: the job's file area as tasks (`ctx.files`) and job code (`openJobFiles` in
// stator/runtime) see it. Implemented by runtime/files: a directory in embedded mode, a JetStream
// Object Store bucket in NATS mode. Signatures may grow, not change.

/** What `put` stores: bytes, text (UTF-8), or a stream of bytes (a web ReadableStream or a Node Readable). */
export type FileData = Uint8Array | string | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** A file as `list` reports it: cheap to produce for many files. */
export interface FileEntry {
  /** The file's name in the area: a relative path with `/` separators, e.g. `models/en.bin`. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** When the current version was written, epoch milliseconds. */
  readonly modifiedMs: number;
}

/** A file's current version, as `stat` and `put` report it. */
export interface FileInfo extends FileEntry {
  /**
   * SHA-256 of the contents as the NATS Object Store writes it: `SHA-256=` + padded base64url
   * (the same format in both modes). Pass it as `expectedDigest` to replace exactly this version.
   */
  readonly digest: string;
}

/** Options of `put`. */
export interface PutOptions {
  /**
   * Replace only this version (an ETag): the put fails with FileDigestMismatchError, writing
   * nothing, unless the file's current digest is this one. `null`: only when the file does not
   * exist (the first writer wins). Omitted: the last writer wins.
   */
  readonly expectedDigest?: string | null;
}

/**
 * A durable, job-scoped area of files (Quix's `state` folder): model files, lookup tables, trained
 * artefacts. Every worker of the job sees the same files; other jobs do not. Files survive restarts.
 *
 * Names are relative paths with `/` separators (`tables/zip.json`): each segment non-empty, not
 * `.` or `..`, without `\`, NUL or control characters; no leading `/`. Anything else is refused
 * with FileNameError before anything is touched.
 *
 * Files are NOT part of keyed checkpoints: a file is durable once `put` resolves, whatever happens
 * to the checkpoint. After a crash the job replays its input from the last checkpoint, so a put made
 * while processing that input is made again: keep puts idempotent (same name, same bytes). When a
 * file and keyed state must change together, write the file under a new name (e.g. with a version
 * or its digest in it), then store that name in keyed state: the checkpoint then commits the switch,
 * and a replay re-writes the same new file. Delete old versions once no checkpoint can name them.
 *
 * In NATS mode, writes are atomic per file: readers see the old version or the new one, never a
 * mix. Two writers of one name: the last `put` to finish wins, unless `expectedDigest` is passed.
 *
 * Every method rejects with FileNameError for a bad name, FilesClosedError after the area closed,
 * and (NATS mode) FilesUnavailableError when the server cannot be reached (retryable).
 */
export interface JobFiles {
  /** Where the files are, for messages: a directory or `nats:<bucket>`. */
  readonly description: string;
  /** The size limit of the whole area, in bytes. */
  readonly maxBytes: number;

  /**
   * Stores `data` as `name`, replacing the current version atomically. Resolves once the file is
   * durable (embedded: written, fsynced and renamed; NATS: every chunk and the metadata acked).
   * @throws FilesLimitExceededError when the area would exceed `maxBytes` (nothing is written).
   * @throws FileDigestMismatchError when `options.expectedDigest` does not match (nothing is written).
   */
  put(name: string, data: FileData, options?: PutOptions): Promise<FileInfo>;

  /**
   * The whole contents, checked against the stored digest.
   * @throws FileNotFoundError when there is no such file.
   * @throws FileCorruptError when the bytes read do not match the digest.
   */
  get(name: string): Promise<Uint8Array>;

  /**
   * The contents as a stream, for large files. In NATS mode the digest is checked at the end: the
   * stream errors with FileCorruptError instead of closing when the bytes do not match.
   * @throws FileNotFoundError when there is no such file.
   */
  getStream(name: string): Promise<ReadableStream<Uint8Array>>;

  /** The current version's size, time and digest; undefined when there is no such file. */
  stat(name: string): Promise<FileInfo | undefined>;

  /**
   * The files whose names start with `prefix` (all files without one), sorted by name. The prefix
   * is a plain string prefix: `list('models/')` lists a folder, `list('mo')` also matches `more.txt`.
   */
  list(prefix?: string): Promise<FileEntry[]>;

  /** Deletes `name`; resolves true when it existed. */
  delete(name: string): Promise<boolean>;

  /**
   * A local file path holding the current version, for libraries that want a path. Embedded mode:
   * the file itself. NATS mode: a copy in the local cache under the state directory, downloaded
   * once and re-used while its digest matches the stored one (a copy changed on disk is detected
   * and downloaded again). Treat it as read-only, and call `path` again after the file changed:
   * the cache drops older versions.
   * @throws FileNotFoundError when there is no such file.
   */
  path(name: string): Promise<string>;
}
