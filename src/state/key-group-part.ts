import { crc32 } from 'node:zlib';
import { ByteWriter } from '../../coders/index.ts';
import type { MergeOptions } from './keyed-state-backend.ts';
import { StatePartCorruptError, StatePartVersionError } from './state-errors.ts';

/*
 * The key-group part format (version 2), written by captureChanges and read by restoreKeyGroup:
 *
 *   "STKG"  version:u8=2  keyGroup:varint
 *   eagerCount:varint  eagerLength:varint  eagerRecord*      (eagerLength bytes: keys with timers or holds)
 *   lazyCount:varint   lazyRecord*                           (every other record, up to the checksum)
 *   crc32:u32be                                               (over every byte before it)
 *
 *   record = keyBytes:(varint length + bytes)  flag:u8
 *            flag 0 (state):            cells
 *            flag 1 (tombstone):        nothing
 *            flag 2 (state with eager): eager:(varint length + bytes)  cells
 *   cells  = count:varint  cell*   (cell = namespace, column, kind, signature, payload: see key-entry.ts)
 *
 * Eager records (timers and watermark holds must be known at restore: timers fire in order, holds
 * bound the watermark) come first with their byte length, so a restore reads them without scanning
 * the rest; the lazy records are scanned only when a key of the group is first used. The cells
 * section carries no length of its own: a scan skips it cell by cell (a few varints), which lets
 * capture write cells straight into the part's buffer. Merging parts works on bytes alone.
 *
 * Version 1 (records in one list, every record scanned at restore) is not read: it was never released.
 */

const MAGIC = [0x53, 0x54, 0x4b, 0x47]; // "STKG"
export const PART_VERSION = 2;
export const FLAG_STATE = 0;
export const FLAG_TOMBSTONE = 1;
export const FLAG_STATE_EAGER = 2;
const HEADER_BYTES = MAGIC.length + 1;
const CRC_BYTES = 4;

/** One key's entry in a part: its state, or a tombstone saying the key has none. */
export interface PartRecord {
  readonly keyBytes: Uint8Array;
  readonly tombstone: boolean;
  /** Timers and holds (empty when the key has none). */
  readonly eager: Uint8Array;
  /** The cells section: count, then cells. */
  readonly cells: Uint8Array;
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** A verified part, split into its sections (no record parsed yet). */
export interface PartSections {
  readonly bytes: Uint8Array;
  readonly keyGroup: number;
  readonly eagerCount: number;
  /** [eagerStart, eagerEnd): the eager records. */
  readonly eagerStart: number;
  readonly eagerEnd: number;
  readonly lazyCount: number;
  /** [lazyStart, lazyEnd): the lazy records. */
  readonly lazyStart: number;
  readonly lazyEnd: number;
}

/**
 * A forward reader over a part's bytes with bounds checks, for the record scans (cheaper than a
 * ByteReader: no objects per skipped field).
 */
export class PartCursor {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}
  atEnd(): boolean {
    return this.pos === this.end;
  }
  byte(): number {
    if (this.pos >= this.end) throw new StatePartCorruptError('key-group part is truncated');
    return this.bytes[this.pos++]!;
  }
  /** A varint length or count (below 2^35: more is corruption). */
  length(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
    throw new StatePartCorruptError('key-group part has a malformed length');
  }
  skip(n: number): number {
    const start = this.pos;
    if (n > this.end - start) throw new StatePartCorruptError('key-group part is truncated');
    this.pos = start + n;
    return start;
  }
  /** Skips a cells section (count, then cells) and returns where it started. */
  skipCells(): number {
    const start = this.pos;
    const n = this.length();
    for (let i = 0; i < n; i++) {
      this.skip(this.length()); // namespace
      this.skip(this.length()); // column
      this.skip(1); // kind
      this.skip(this.length()); // signature
      this.skip(this.length()); // payload
    }
    return start;
  }
  /** Reads one record (its byte ranges as subarrays of the part). */
  record(): PartRecord {
    const keyStart = this.skip(this.length());
    const keyBytes = this.bytes.subarray(keyStart, this.pos);
    const flag = this.byte();
    if (flag === FLAG_TOMBSTONE) return { keyBytes, tombstone: true, eager: EMPTY, cells: EMPTY };
    let eager: Uint8Array = EMPTY;
    if (flag === FLAG_STATE_EAGER) {
      const eagerStart = this.skip(this.length());
      eager = this.bytes.subarray(eagerStart, this.pos);
    } else if (flag !== FLAG_STATE) {
      throw new StatePartCorruptError(`unknown record flag ${flag}`);
    }
    const cellsStart = this.skipCells();
    return { keyBytes, tombstone: false, eager, cells: this.bytes.subarray(cellsStart, this.pos) };
  }
}

/** Writes one record. */
export function writeRecord(writer: ByteWriter, record: PartRecord): void {
  writer.writeVarLong(record.keyBytes.length);
  writer.writeBytes(record.keyBytes);
  if (record.tombstone) {
    writer.writeByte(FLAG_TOMBSTONE);
    return;
  }
  if (record.eager.length > 0) {
    writer.writeByte(FLAG_STATE_EAGER);
    writer.writeVarLong(record.eager.length);
    writer.writeBytes(record.eager);
  } else {
    writer.writeByte(FLAG_STATE);
  }
  writer.writeBytes(record.cells);
}

/**
 * Writes a part's head (magic, version, key group, the eager section's count and length) into
 * `writer`; the caller then writes the eager records, `lazyCount` and the lazy records, and calls
 * finishPart.
 */
export function startPart(writer: ByteWriter, keyGroup: number, eagerCount: number, eagerLength: number): void {
  for (const b of MAGIC) writer.writeByte(b);
  writer.writeByte(PART_VERSION);
  writer.writeVarLong(keyGroup);
  writer.writeVarLong(eagerCount);
  writer.writeVarLong(eagerLength);
}

/** Appends the checksum and returns the part's bytes. */
export function finishPart(writer: ByteWriter): Uint8Array {
  const crc = crc32(writer.view());
  writer.writeByte(crc >>> 24);
  writer.writeByte(crc >>> 16);
  writer.writeByte(crc >>> 8);
  writer.writeByte(crc);
  return writer.toBytes();
}

/** A part holding `records` (eager ones are put in the eager section). */
export function encodePart(keyGroup: number, records: Iterable<PartRecord>): Uint8Array {
  const eager = new ByteWriter(64);
  const lazy = new ByteWriter(256);
  let eagerCount = 0;
  let lazyCount = 0;
  for (const r of records) {
    if (!r.tombstone && r.eager.length > 0) {
      writeRecord(eager, r);
      eagerCount++;
    } else {
      writeRecord(lazy, r);
      lazyCount++;
    }
  }
  const writer = new ByteWriter(32 + eager.length + lazy.length);
  startPart(writer, keyGroup, eagerCount, eager.length);
  writer.writeBytes(eager.view());
  writer.writeVarLong(lazyCount);
  writer.writeBytes(lazy.view());
  return finishPart(writer);
}

/*
 * Parts whose bytes a container already checksummed: a checkpoint envelope's CRC covers exactly a
 * part's bytes, so checking the part's own CRC again would only read every byte a second time
 * (about as long as reading the checkpoint from disk). Weak, so a mark never keeps bytes alive.
 */
const verifiedParts = new WeakSet<Uint8Array>();

/**
 * Records that `bytes` (this very view) was verified by a checksum over exactly these bytes, e.g. a
 * checkpoint envelope's; readPartSections then checks structure, version and key group but not the
 * part's own CRC. Only for bytes nobody writes to afterwards.
 */
export function markPartVerified(bytes: Uint8Array): void {
  verifiedParts.add(bytes);
}

/**
 * Verifies a part (magic, version, checksum unless markPartVerified vouched for it, key group) and finds its sections,
 * without parsing any record: O(bytes) for the checksum only.
 * @throws StatePartVersionError for a version other than PART_VERSION
 * @throws StatePartCorruptError on a bad magic, checksum, key group or truncation.
 */
export function readPartSections(bytes: Uint8Array, expectedKeyGroup?: number): PartSections {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES + CRC_BYTES) {
    throw new StatePartCorruptError(`key-group part of ${bytes?.length ?? 0} bytes is too short`);
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new StatePartCorruptError('not a stator key-group part (bad magic)');
  }
  const version = bytes[MAGIC.length]!;
  if (version !== PART_VERSION) throw new StatePartVersionError(version, PART_VERSION);
  const bodyEnd = bytes.length - CRC_BYTES;
  const stored =
    ((bytes[bodyEnd]! << 24) | (bytes[bodyEnd + 1]! << 16) | (bytes[bodyEnd + 2]! << 8) | bytes[bodyEnd + 3]!) >>> 0;
  if (!verifiedParts.has(bytes) && crc32(bytes.subarray(0, bodyEnd)) !== stored)
    throw new StatePartCorruptError('key-group part checksum mismatch');
  const cursor = new PartCursor(bytes, HEADER_BYTES, bodyEnd);
  const keyGroup = cursor.length();
  if (expectedKeyGroup !== undefined && keyGroup !== expectedKeyGroup) {
    throw new StatePartCorruptError(
      `part is for key group ${keyGroup}, but was handed over as key group ${expectedKeyGroup}`,
    );
  }
  const eagerCount = cursor.length();
  const eagerLength = cursor.length();
  const eagerStart = cursor.skip(eagerLength);
  const eagerEnd = cursor.pos;
  const lazyCount = cursor.length();
  return { bytes, keyGroup, eagerCount, eagerStart, eagerEnd, lazyCount, lazyStart: cursor.pos, lazyEnd: bodyEnd };
}

/** Reads `count` records of [start, end), which they must fill exactly. */
export function readRecords(
  bytes: Uint8Array,
  start: number,
  end: number,
  count: number,
  into: PartRecord[] = [],
): PartRecord[] {
  const cursor = new PartCursor(bytes, start, end);
  for (let i = 0; i < count; i++) into.push(cursor.record());
  if (!cursor.atEnd()) throw new StatePartCorruptError(`${end - cursor.pos} unexpected bytes after the records`);
  return into;
}

/** Every record of a part, eager ones first. */
export function parsePart(bytes: Uint8Array, expectedKeyGroup?: number): { keyGroup: number; records: PartRecord[] } {
  const s = readPartSections(bytes, expectedKeyGroup);
  const records = readRecords(bytes, s.eagerStart, s.eagerEnd, s.eagerCount);
  readRecords(bytes, s.lazyStart, s.lazyEnd, s.lazyCount, records);
  return { keyGroup: s.keyGroup, records };
}

/** A key's identity in a part: its bytes as a latin1 string (a Map key). */
export function keyId(keyBytes: Uint8Array): string {
  return Buffer.from(keyBytes.buffer, keyBytes.byteOffset, keyBytes.byteLength).toString('latin1');
}

/**
 * The newest record per key over a chain of parts (oldest first), tombstones kept (the caller
 * decides whether to drop them).
 */
export function resolveChain(
  chain: readonly Uint8Array[],
  expectedKeyGroup?: number,
): { keyGroup: number; records: Map<string, PartRecord> } {
  let keyGroup = expectedKeyGroup;
  const records = new Map<string, PartRecord>();
  for (const bytes of chain) {
    const part = parsePart(bytes, keyGroup);
    keyGroup = part.keyGroup;
    for (const r of part.records) records.set(keyId(r.keyBytes), r);
  }
  if (keyGroup === undefined) throw new StatePartCorruptError('an empty chain of key-group parts has no key group');
  return { keyGroup, records };
}

/**
 * Compacts a key group's chain of parts (oldest first) into one equivalent part: per key the newest
 * record wins and tombstones are dropped, unless `keepTombstones` (the chain is the newer end of a
 * longer one, restored on top of older parts). Bytes in, bytes out: no coders needed.
 * @throws StatePartCorruptError when a part is damaged or the parts disagree on the key group.
 */
export function mergeKeyGroupParts(chain: readonly Uint8Array[], options?: MergeOptions): Uint8Array {
  const { keyGroup, records } = resolveChain(chain);
  if (options?.keepTombstones === true) return encodePart(keyGroup, records.values());
  const live: PartRecord[] = [];
  for (const r of records.values()) if (!r.tombstone) live.push(r);
  return encodePart(keyGroup, live);
}
