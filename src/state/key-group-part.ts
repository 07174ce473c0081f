import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter } from '../../coders/index.ts';
import { StatePartCorruptError } from './state-errors.ts';

/*
 * The key-group part format (version 1), written by captureChanges and read by restoreKeyGroup:
 *
 *   "STKG"  version:u8=1  keyGroup:varint  recordCount:varint  record*  crc32:u32be
 *   record = keyBytes:(varint length + bytes)  flag:u8 (0 = state, 1 = tombstone)
 *            [state only] eager:(varint length + bytes)  cells:(varint length + bytes)
 *
 * The crc covers every byte before it. `eager` holds what must be known at restore time, timers and
 * watermark holds; `cells` holds the other cells, decoded only when the key is first used. Their
 * inner layouts are in key-entry-codec.ts; this file needs only the envelope, so merging parts works
 * on bytes alone.
 */

const MAGIC = [0x53, 0x54, 0x4b, 0x47]; // "STKG"
export const PART_VERSION = 1;
const FLAG_STATE = 0;
const FLAG_TOMBSTONE = 1;

/** One key's entry in a part: its state, or a tombstone saying the key has none. */
export interface PartRecord {
  readonly keyBytes: Uint8Array;
  readonly tombstone: boolean;
  readonly eager: Uint8Array;
  readonly cells: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export function tombstoneRecord(keyBytes: Uint8Array): PartRecord {
  return { keyBytes, tombstone: true, eager: EMPTY, cells: EMPTY };
}

/** Writes one record (used by capture, which encodes records as keys are captured). */
export function writeRecord(writer: ByteWriter, record: PartRecord): void {
  writer.writeVarLong(record.keyBytes.length);
  writer.writeBytes(record.keyBytes);
  if (record.tombstone) {
    writer.writeByte(FLAG_TOMBSTONE);
    return;
  }
  writer.writeByte(FLAG_STATE);
  writer.writeVarLong(record.eager.length);
  writer.writeBytes(record.eager);
  writer.writeVarLong(record.cells.length);
  writer.writeBytes(record.cells);
}

/** A part from records already written with writeRecord. */
export function assemblePart(keyGroup: number, recordCount: number, records: readonly Uint8Array[]): Uint8Array {
  const writer = new ByteWriter(64 + records.reduce((n, r) => n + r.length, 0));
  for (const b of MAGIC) writer.writeByte(b);
  writer.writeByte(PART_VERSION);
  writer.writeVarLong(keyGroup);
  writer.writeVarLong(recordCount);
  for (const r of records) writer.writeBytes(r);
  const body = writer.view();
  const crc = crc32(body);
  writer.writeByte(crc >>> 24);
  writer.writeByte(crc >>> 16);
  writer.writeByte(crc >>> 8);
  writer.writeByte(crc);
  return writer.toBytes();
}

export function encodePart(keyGroup: number, records: Iterable<PartRecord>): Uint8Array {
  const writer = new ByteWriter(256);
  let count = 0;
  for (const r of records) {
    writeRecord(writer, r);
    count++;
  }
  return assemblePart(keyGroup, count, [writer.view()]);
}

/**
 * Reads a part's envelope. Records reference `bytes` (no copies): the caller must not modify them.
 * @throws StatePartCorruptError on a bad magic, version, checksum, key group or truncation.
 */
export function parsePart(bytes: Uint8Array, expectedKeyGroup?: number): { keyGroup: number; records: PartRecord[] } {
  if (!(bytes instanceof Uint8Array) || bytes.length < MAGIC.length + 1 + 4) {
    throw new StatePartCorruptError(`key-group part of ${bytes?.length ?? 0} bytes is too short`);
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new StatePartCorruptError('not a stator key-group part (bad magic)');
  }
  const version = bytes[MAGIC.length]!;
  if (version !== PART_VERSION) {
    throw new StatePartCorruptError(`key-group part version ${version} is not supported (this stator reads version ${PART_VERSION})`);
  }
  const bodyEnd = bytes.length - 4;
  const stored = ((bytes[bodyEnd]! << 24) | (bytes[bodyEnd + 1]! << 16) | (bytes[bodyEnd + 2]! << 8) | bytes[bodyEnd + 3]!) >>> 0;
  if (crc32(bytes.subarray(0, bodyEnd)) !== stored) throw new StatePartCorruptError('key-group part checksum mismatch');
  try {
    const reader = new ByteReader(bytes, MAGIC.length + 1, bodyEnd);
    const keyGroup = reader.readLength('key group');
    if (expectedKeyGroup !== undefined && keyGroup !== expectedKeyGroup) {
      throw new StatePartCorruptError(`part is for key group ${keyGroup}, but was handed over as key group ${expectedKeyGroup}`);
    }
    const n = reader.readLength('record count');
    const records: PartRecord[] = [];
    for (let i = 0; i < n; i++) {
      const keyBytes = slice(bytes, reader, reader.readLength('key length'));
      const flag = reader.readByte();
      if (flag === FLAG_TOMBSTONE) {
        records.push({ keyBytes, tombstone: true, eager: EMPTY, cells: EMPTY });
      } else if (flag === FLAG_STATE) {
        const eager = slice(bytes, reader, reader.readLength('eager section length'));
        const cells = slice(bytes, reader, reader.readLength('cells section length'));
        records.push({ keyBytes, tombstone: false, eager, cells });
      } else {
        throw new StatePartCorruptError(`unknown record flag ${flag}`);
      }
    }
    if (!reader.isAtEnd()) throw new StatePartCorruptError(`${reader.remaining} unexpected bytes after the records`);
    return { keyGroup, records };
  } catch (cause) {
    if (cause instanceof StatePartCorruptError) throw cause;
    throw new StatePartCorruptError('key-group part is malformed', { cause });
  }
}

function slice(bytes: Uint8Array, reader: ByteReader, n: number): Uint8Array {
  const start = reader.position;
  reader.subReader(n); // bounds-checked skip
  return bytes.subarray(start, start + n);
}

function keyId(keyBytes: Uint8Array): string {
  return Buffer.from(keyBytes.buffer, keyBytes.byteOffset, keyBytes.byteLength).toString('latin1');
}

/**
 * The newest record per key over a chain of parts (oldest first), in first-seen key order,
 * tombstones kept (the caller decides whether to drop them).
 */
export function resolveChain(chain: readonly Uint8Array[], expectedKeyGroup?: number): { keyGroup: number; records: Map<string, PartRecord> } {
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
 * record wins and tombstones are dropped. Bytes in, bytes out: no coders needed.
 * @throws StatePartCorruptError when a part is damaged or the parts disagree on the key group.
 */
export function mergeKeyGroupParts(chain: readonly Uint8Array[]): Uint8Array {
  const { keyGroup, records } = resolveChain(chain);
  const live: PartRecord[] = [];
  for (const r of records.values()) if (!r.tombstone) live.push(r);
  return encodePart(keyGroup, live);
}
