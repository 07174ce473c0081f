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
 * One restored key group: its keys with timers or holds are restored when the group is handed over;
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
   * into it (RawCell). With `toStore` (a tiered backend) a key without timers or holds is not
   * decoded at all: its key bytes and cells section go to `toStore`, for the local store (a key
   * it refuses, returning false, is restored in memory).
   */
  materialize(toStore?: (keyBytes: Uint8Array, cells: Uint8Array) => boolean): void {
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
        if (toStore !== undefined && eager === undefined) {
          const cellsStart = cursor.skipCells();
          if (toStore(bytes.subarray(keyStart, keyStart + keyLength), bytes.subarray(cellsStart, cursor.pos))) continue;
          cursor.pos = cellsStart;
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
    for (const record of this.extra) {
      if (toStore?.(record.keyBytes, record.cells) !== true) restoreRecord(host, record, keyGroup);
    }
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
