// CONTRACT: where checkpoints are kept. Implementations: memory (src/checkpoint), file and NATS
// JetStream (runtime/checkpoint). The checkpoint writer/reader (src/checkpoint) decides the format;
// a store only keeps named immutable parts and one atomically swapped manifest per job+task.
// The errors named below (FencedError, CheckpointPartMissingError, CheckpointStoreError) live in
// ./errors.ts.

/** What every part name matches (checked by the checkpoint writer, relied on by stores). */
export const PART_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The manifest: the document that says which checkpoints exist and which parts each uses. It is the
 * only mutable thing in a store, replaced as a whole by `commit`, so a checkpoint exists exactly when
 * a committed manifest lists it. Its content is encoded by the checkpoint layer (msgpackr, versioned);
 * the store treats it as bytes.
 */
export interface StoredManifest {
  readonly bytes: Uint8Array;
  /** Opaque revision of this manifest in the store (KV revision, file generation). */
  readonly revision: number;
}

/**
 * Keeps checkpoint parts and the manifest of one job+task.
 *
 * Durability: when `putPart` or `commit` resolves, the bytes survive a crash of this process.
 * Atomicity: a reader sees either the old or the new manifest, never a mix; parts are written
 * before the manifest that references them, so a committed manifest never points at a missing part
 * (a crash in between leaves orphan parts, which `prune` removes).
 * Fencing: `commit` is compare-and-set on the revision the writer last saw. When another writer
 * committed in between, it throws FencedError and writes nothing: the caller must stop.
 */
export interface CheckpointStore {
  /** A description for logs, e.g. `file:/var/lib/app/state/wordcount` or `jetstream:KV_stator_wordcount`. */
  readonly description: string;

  /**
   * Writes an immutable part under `name` (unique; never rewritten with other bytes). Names match
   * `/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/` (PART_NAME_PATTERN), so a store may use them directly as
   * file or object names. A failed put throws (preferably a retryable CheckpointStoreError) and
   * leaves the part absent or complete, never partial under its name.
   */
  putPart(name: string, bytes: Uint8Array): Promise<void>;
  /**
   * Reads a part. The returned bytes belong to the caller: the store keeps no reference to them
   * (compaction transfers their buffer to a worker thread, which detaches it here).
   * @throws CheckpointPartMissingError when no such part exists.
   */
  getPart(name: string): Promise<Uint8Array>;
  /**
   * Reads `length` bytes of a part from `offset` (a segment, for compaction), when the store can
   * read less than a whole part; the bytes belong to the caller, as with getPart. Optional: without
   * it a compaction reads whole parts.
   * A part shorter than the range gives the bytes it has (the envelope check then reports it).
   * @throws CheckpointPartMissingError when no such part exists.
   */
  getPartRange?(name: string, offset: number, length: number): Promise<Uint8Array>;
  /** Names of all parts present, referenced or not. */
  listParts(): Promise<string[]>;
  /** Deletes a part; deleting a missing part is not an error. */
  deletePart(name: string): Promise<void>;

  /** The current manifest, or undefined when nothing was ever committed (or after clear). */
  readManifest(): Promise<StoredManifest | undefined>;
  /**
   * Manifests committed before the current one that the store still keeps, newest first (the file
   * store keeps one, JetStream the KV history): the fallback when the current one is corrupt. None
   * from before a `clear()` or a deletion of the manifest. Commits stay fenced on the current revision.
   */
  readPreviousManifests(): Promise<StoredManifest[]>;
  /**
   * Atomically replaces the manifest when its current revision is `expectedRevision` (undefined: no
   * manifest yet). Returns the new revision.
   * @throws FencedError when the revision differs (another writer committed): nothing is written.
   */
  commitManifest(bytes: Uint8Array, expectedRevision: number | undefined): Promise<number>;

  /** Removes every part and the manifest. The caller checks the job is not running. */
  clear(): Promise<void>;

  /** Releases connections/handles; idempotent. */
  close(): Promise<void>;
}
