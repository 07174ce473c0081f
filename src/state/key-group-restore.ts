import { CoderUtils, StringUtf8Coder, type Coder } from '../../coders/index.ts';
import { decodeCellsAt, decodeEager, KeyEntry, type StoredTimer } from './key-entry.ts';
import {
  FLAG_STATE,
  FLAG_STATE_EAGER,
  FLAG_TOMBSTONE,
  keyId,
  PartCursor,
  readPartSections,
  readRecords,
  type PartRecord,
  type PartSections,
} from './key-group-part.ts';
import { StatePartCorruptError } from './state-errors.ts';
import type { HoldListener } from './cell.ts';

/** What restoring keys needs from the backend. */
export interface RestoreHost<K> {
  readonly keyCoder: Coder<K>;
  /** Keys are their own identity in the key map (the key coder is consistent with equals). */
  readonly identityKeys: boolean;
  readonly holds: HoldListener;
  /** Takes a restored key's entry (and its timers) into the key map. */
  adopt(entry: KeyEntry<K>, timers: readonly StoredTimer[]): void;
}

/**
 * One restored key group of a heap backend (a tiered one's: StoredKeyGroup): its keys with timers or
 * holds are restored when the group is handed over;
 * the others stay as the part's bytes until `materialize()` (the first use of one of its keys, or
 * keys()). The base part's lazy records are not even scanned before then; newer parts of the chain
 * (increments, small next to their base) are read in full at once, since their records override the
 * base's.
 */
export class RestoredKeyGroup<K> {
  private constructor(
    private readonly host: RestoreHost<K>,
    readonly keyGroup: number,
    private readonly base: PartSections,
    /** Keys the newer parts hold (their record wins over the base's), or undefined for a chain of one. */
    private readonly skip: ReadonlyMap<string, PartRecord> | undefined,
    /** The newer parts' records without timers or holds, restored after the base's. */
    private readonly extra: readonly PartRecord[],
  ) {}

  /**
   * Verifies every part of `chain` (checksums, key group) before restoring anything, so a damaged
   * part fails the restore here, never later at a first use; then restores the eager keys.
   * Returns the group still to materialize, or undefined when nothing is left.
   * @throws StatePartCorruptError (StatePartVersionError for another format version)
   */
  static restore<K>(
    host: RestoreHost<K>,
    keyGroup: number,
    chain: readonly Uint8Array[],
  ): RestoredKeyGroup<K> | undefined {
    if (chain.length === 0) return undefined;
    const parts = chain.map((bytes) => readPartSections(bytes, keyGroup));
    let overrides: Map<string, PartRecord> | undefined;
    if (parts.length > 1) {
      overrides = new Map();
      for (let p = 1; p < parts.length; p++) {
        const s = parts[p]!;
        const records = readRecords(s.bytes, s.eagerStart, s.eagerEnd, s.eagerCount);
        readRecords(s.bytes, s.lazyStart, s.lazyEnd, s.lazyCount, records);
        for (const r of records) overrides.set(keyId(r.keyBytes), r);
      }
    }
    const base = parts[0]!;
    // Keys with timers or holds are decoded now: timers must fire in order and holds bound the watermark.
    for (const record of readRecords(base.bytes, base.eagerStart, base.eagerEnd, base.eagerCount)) {
      if (overrides === undefined || !overrides.has(keyId(record.keyBytes))) restoreRecord(host, record, keyGroup);
    }
    const extra: PartRecord[] = [];
    if (overrides !== undefined) {
      for (const record of overrides.values()) {
        if (record.tombstone) continue;
        if (record.eager.length > 0) restoreRecord(host, record, keyGroup);
        else extra.push(record);
      }
    }
    if (base.lazyCount === 0 && extra.length === 0) return undefined;
    return new RestoredKeyGroup(host, keyGroup, base, overrides, extra);
  }

  /** Keys still held as bytes (tombstones and overridden records included: an estimate). */
  get pendingKeys(): number {
    return this.base.lazyCount + this.extra.length;
  }

  /**
   * Restores every remaining key of the group. One pass over the lazy records with no view or
   * record object per key: string keys are decoded straight from the part, cells stay as offsets
   * into it (RawCell).
   */
  materialize(): void {
    const { host, base, skip, keyGroup } = this;
    const bytes = base.bytes;
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const stringKeys = host.keyCoder instanceof StringUtf8Coder;
    const cursor = new PartCursor(bytes, base.lazyStart, base.lazyEnd);
    const none: readonly StoredTimer[] = [];
    try {
      for (let i = 0; i < base.lazyCount; i++) {
        const keyLength = cursor.length();
        const keyStart = cursor.skip(keyLength);
        const flag = cursor.byte();
        if (flag === FLAG_TOMBSTONE) continue;
        let eager: Uint8Array | undefined;
        if (flag === FLAG_STATE_EAGER) {
          const at = cursor.skip(cursor.length());
          eager = bytes.subarray(at, cursor.pos);
        } else if (flag !== FLAG_STATE) {
          throw new StatePartCorruptError(`unknown record flag ${flag}`);
        }
        if (skip !== undefined && skip.has(text.toString('latin1', keyStart, keyStart + keyLength))) {
          cursor.skipCells();
          continue;
        }
        const key =
          stringKeys && isAscii(bytes, keyStart, keyLength)
            ? (text.toString('latin1', keyStart, keyStart + keyLength) as K)
            : CoderUtils.decodeFromByteArray(host.keyCoder, bytes.subarray(keyStart, keyStart + keyLength));
        const entry = newEntry(host, key, keyGroup);
        decodeCellsAt(cursor, entry.table);
        host.adopt(entry, eager === undefined ? none : decodeEager(eager, entry.table, host.holds));
      }
    } catch (cause) {
      if (cause instanceof StatePartCorruptError) throw cause;
      throw new StatePartCorruptError(`the records of key group ${keyGroup} are malformed`, { cause });
    }
    if (!cursor.atEnd())
      throw new StatePartCorruptError(
        `${base.lazyEnd - cursor.pos} unexpected bytes after the records of key group ${keyGroup}`,
      );
    for (const record of this.extra) restoreRecord(host, record, keyGroup);
  }
}

/**
 * Where a tiered backend's restored keys go: its local store, as bytes (see StoredKeyGroup). The
 * views passed are valid during the call only.
 */
export interface RestoreStore {
  /** Whether the store takes a key of this many bytes (a key it does not take is restored in memory). */
  accepts(keyLength: number): boolean;
  /** Stores a key's cells section, replacing what the store holds for it. */
  put(keyBytes: Uint8Array, cells: Uint8Array): void;
  /** Removes a key (its newest record is a tombstone). */
  delete(keyBytes: Uint8Array): void;
}

/**
 * One restored key group of a tiered backend: its records go to the local store as bytes
 * (copyStoredGroups, with the other groups pending), each key's newest record over its older ones,
 * and nothing per key is held on the heap, however large the increments are (RestoredKeyGroup
 * resolves the increments in a Map of every key they hold: after a crash mid-run they can hold most
 * of the state). Only keys with timers or holds, restored in memory when the group is handed over,
 * and keys too long for the store are resolved on the heap.
 */
export class StoredKeyGroup<K> {
  private constructor(
    private readonly host: RestoreHost<K>,
    readonly keyGroup: number,
    /** The chain's parts, oldest first. */
    readonly parts: readonly PartSections[],
    /** Keys whose newest record has timers or holds, restored in memory (their older records are skipped). */
    private readonly inMemory: ReadonlySet<string>,
  ) {}

  /**
   * Verifies every part of `chain` (checksums, key group) and restores the keys whose newest record
   * has timers or holds. Returns the group still to copy, or undefined when nothing is left.
   * @throws StatePartCorruptError (StatePartVersionError for another format version)
   */
  static restore<K>(
    host: RestoreHost<K>,
    keyGroup: number,
    chain: readonly Uint8Array[],
  ): StoredKeyGroup<K> | undefined {
    if (chain.length === 0) return undefined;
    const parts = chain.map((bytes) => readPartSections(bytes, keyGroup));
    // A part holds one record per key: a key's newest record is the one in the newest part holding it.
    const eagerKeys = new Map<string, { record: PartRecord; part: number }>();
    parts.forEach((s, part) => {
      for (const record of readRecords(s.bytes, s.eagerStart, s.eagerEnd, s.eagerCount))
        eagerKeys.set(keyId(record.keyBytes), { record, part });
    });
    if (eagerKeys.size > 0) {
      for (let part = 1; part < parts.length; part++) {
        const s = parts[part]!;
        const cursor = new PartCursor(s.bytes, s.lazyStart, s.lazyEnd);
        for (let i = 0; i < s.lazyCount; i++) {
          const record = cursor.record();
          const id = keyId(record.keyBytes);
          const found = eagerKeys.get(id);
          if (found !== undefined && found.part < part) eagerKeys.set(id, { record, part });
        }
      }
    }
    // Their older records are skipped at the copy; a newest record without timers or holds is copied.
    const inMemory = new Set<string>();
    for (const [id, { record }] of eagerKeys) {
      if (record.tombstone || record.eager.length === 0) continue;
      restoreRecord(host, record, keyGroup);
      inMemory.add(id);
    }
    if (parts.every((s) => s.lazyCount === 0)) return undefined;
    return new StoredKeyGroup(host, keyGroup, parts, inMemory);
  }

  /** Records still held as bytes (tombstones and overridden records included: an estimate). */
  get pendingKeys(): number {
    return this.parts.reduce((n, s) => n + s.lazyCount, 0);
  }

  /** Whether the lazy records of this key are not copied: its newest record, with timers or holds, is in memory. */
  skips(keyBytes: Uint8Array): boolean {
    return this.inMemory.size > 0 && this.inMemory.has(keyId(keyBytes));
  }

  /** Restores in memory a key whose newest record is `record` and which the store does not take. */
  restoreInMemory(record: PartRecord): void {
    restoreRecord(this.host, record, this.keyGroup);
  }
}

function isAscii(bytes: Uint8Array, start: number, length: number): boolean {
  for (let i = start; i < start + length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

function newEntry<K>(host: RestoreHost<K>, key: K, keyGroup: number): KeyEntry<K> {
  const entry = new KeyEntry(key, host.identityKeys ? key : host.keyCoder.structuralValue(key));
  entry.keyGroup = keyGroup;
  entry.persisted = true;
  entry.attached = true;
  return entry;
}

function restoreRecord<K>(host: RestoreHost<K>, record: PartRecord, keyGroup: number): void {
  const key = CoderUtils.decodeFromByteArray(host.keyCoder, record.keyBytes);
  const entry = newEntry(host, key, keyGroup);
  const cursor = new PartCursor(record.cells, 0, record.cells.length);
  decodeCellsAt(cursor, entry.table);
  if (!cursor.atEnd())
    throw new StatePartCorruptError(`${record.cells.length - cursor.pos} unexpected bytes after the cells`);
  host.adopt(entry, decodeEager(record.eager, entry.table, host.holds));
}
