import { ByteReader, ByteWriter, type Instant } from '../../coders/index.ts';
import { RawCell, type Cell, type HoldListener } from './cell.ts';
import { TimestampCombiner } from './state.ts';
import { StatePartCorruptError } from './state-errors.ts';
import type { StateNamespace } from './state-namespace.ts';
import type { StateKind } from './state-tag.ts';
import { StateTable } from './state-table.ts';
import { TimeDomain } from './time-domain.ts';
import { WatermarkHoldCell } from './watermark-hold-state.ts';

/** One pending timer of one key. Replaced or deleted records are marked dead and dropped lazily from the heaps. */
export class TimerRecord<K> {
  live = true;
  constructor(
    readonly entry: KeyEntry<K>,
    readonly namespace: StateNamespace,
    readonly timerId: string,
    readonly domain: TimeDomain,
    readonly timestamp: Instant,
    readonly outputTimestamp: Instant,
    /** Order of setting, across the backend: ties in timestamp fire in this order. */
    readonly seq: number,
  ) {}
}

/** The identity of a timer within its key. */
export function timerKey(namespace: string, timerId: string, domain: TimeDomain): string {
  return `${domain === TimeDomain.EVENT_TIME ? 'e' : 'p'}${namespace}\u0000${timerId}`;
}

/** Everything a backend keeps for one key. */
export class KeyEntry<K> {
  readonly table = new StateTable();
  timers: Map<string, TimerRecord<K>> | undefined = undefined;
  /** Changed since the last capture (then it is in the backend's dirty list). */
  dirty = false;
  /** In the backend's key map (a key only read is never attached). */
  attached = false;
  /** Some checkpoint may hold state of this key, so deleting it needs a tombstone. */
  persisted = false;
  keyBytes: Uint8Array | undefined = undefined;
  keyGroup = -1;
  /**
   * Cache of live cells by the backend's slot number of (namespace, tag), for bound handles: one
   * array index instead of two Map lookups on the hot path. Reset whenever cells are pruned.
   */
  slots: (Cell | undefined)[] | undefined = undefined;
  // The first slots live in the entry object itself: no separate array to reach on the hot path.
  slot0: Cell | undefined = undefined;
  slot1: Cell | undefined = undefined;
  slot2: Cell | undefined = undefined;
  slot3: Cell | undefined = undefined;

  getSlot(slot: number): Cell | undefined {
    switch (slot) {
      case 0:
        return this.slot0;
      case 1:
        return this.slot1;
      case 2:
        return this.slot2;
      case 3:
        return this.slot3;
      default:
        return this.slots?.[slot - 4];
    }
  }

  setSlot(slot: number, cell: Cell): void {
    switch (slot) {
      case 0:
        this.slot0 = cell;
        return;
      case 1:
        this.slot1 = cell;
        return;
      case 2:
        this.slot2 = cell;
        return;
      case 3:
        this.slot3 = cell;
        return;
      default:
        this.slots ??= [];
        while (this.slots.length < slot - 4) this.slots.push(undefined);
        this.slots[slot - 4] = cell;
    }
  }

  /** Forgets every cached slot (after cells were pruned). */
  clearSlots(): void {
    this.slot0 = this.slot1 = this.slot2 = this.slot3 = undefined;
    this.slots = undefined;
  }
  constructor(
    readonly key: K,
    /** The key's identity in the key map: its key coder's structural value. */
    readonly id: unknown,
  ) {}

  hasState(): boolean {
    return (this.timers !== undefined && this.timers.size > 0) || !this.table.isEmpty();
  }
}

const KIND_CODES: readonly StateKind[] = ['value', 'bag', 'set', 'map', 'multimap', 'orderedList', 'combining', 'watermark'];
const COMBINER_CODES: readonly TimestampCombiner[] = [TimestampCombiner.EARLIEST, TimestampCombiner.LATEST, TimestampCombiner.END_OF_WINDOW];

function writeString(writer: ByteWriter, s: string): void {
  writer.writeUtf8(s, true);
}
function readString(reader: ByteReader): string {
  return reader.readUtf8(reader.readLength('string length'));
}

/**
 * Writes the eager section of a key: its timers (in set order) and its watermark holds. Writes
 * nothing when the key has neither, so restore can skip the key until it is used.
 */
export function encodeEager<K>(entry: KeyEntry<K>, writer: ByteWriter): void {
  const timers = entry.timers === undefined ? [] : [...entry.timers.values()].sort((a, b) => a.seq - b.seq);
  const holds: [string, string, WatermarkHoldCell][] = [];
  for (const [ns, col, cell] of entry.table.entries()) {
    if (cell instanceof WatermarkHoldCell && !cell.isEmpty()) holds.push([ns, col, cell]);
  }
  if (timers.length === 0 && holds.length === 0) return;
  writer.writeVarLong(timers.length);
  for (const t of timers) {
    writeString(writer, t.namespace.stringKey());
    writeString(writer, t.timerId);
    writer.writeByte(t.domain === TimeDomain.EVENT_TIME ? 0 : 1);
    writer.writeVarLong(t.timestamp);
    writer.writeVarLong(t.outputTimestamp);
    writer.writeVarLong(t.seq);
  }
  writer.writeVarLong(holds.length);
  for (const [ns, col, cell] of holds) {
    writeString(writer, ns);
    writeString(writer, col);
    writer.writeByte(COMBINER_CODES.indexOf(cell.combiner));
    cell.encode(writer);
  }
}

/** Writes the cells section: every non-empty cell but watermark holds, restored bytes as they came. */
export function encodeCells<K>(entry: KeyEntry<K>, writer: ByteWriter, scratch: ByteWriter): void {
  let count = 0;
  for (const [, , cell] of entry.table.entries()) if (!cell.isEmpty() && !(cell instanceof WatermarkHoldCell)) count++;
  writer.writeVarLong(count);
  if (count === 0) return;
  for (const [ns, col, cell] of entry.table.entries()) {
    if (cell.isEmpty() || cell instanceof WatermarkHoldCell) continue;
    writeString(writer, ns);
    writeString(writer, col);
    if (cell instanceof RawCell) {
      writer.writeByte(KIND_CODES.indexOf(cell.storedKind));
      writeString(writer, cell.signature);
      writer.writeVarLong(cell.bytes.length);
      writer.writeBytes(cell.bytes);
    } else {
      writer.writeByte(KIND_CODES.indexOf(cell.kind));
      writeString(writer, cell.signature);
      scratch.reset();
      cell.encode(scratch);
      writer.writeVarLong(scratch.length);
      writer.writeBytes(scratch.view());
    }
  }
}

/** A timer as stored in the eager section. */
export interface StoredTimer {
  readonly namespace: string;
  readonly timerId: string;
  readonly domain: TimeDomain;
  readonly timestamp: Instant;
  readonly outputTimestamp: Instant;
  readonly seq: number;
}

function corrupt<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (cause) {
    if (cause instanceof StatePartCorruptError) throw cause;
    throw new StatePartCorruptError(`${what} is malformed`, { cause });
  }
}

/** Reads an eager section: the timers, and the hold cells put straight into `table`. */
export function decodeEager(bytes: Uint8Array, table: StateTable, holds: HoldListener | undefined): StoredTimer[] {
  if (bytes.length === 0) return [];
  return corrupt('eager section (timers and holds)', () => {
    const reader = new ByteReader(bytes);
    const timers: StoredTimer[] = [];
    const nTimers = reader.readLength('timer count');
    for (let i = 0; i < nTimers; i++) {
      const namespace = readString(reader);
      const timerId = readString(reader);
      const d = reader.readByte();
      if (d > 1) throw new StatePartCorruptError(`unknown time domain code ${d}`);
      const timestamp = reader.readVarLong();
      const outputTimestamp = reader.readVarLong();
      const seq = reader.readLength('timer sequence');
      timers.push({ namespace, timerId, domain: d === 0 ? TimeDomain.EVENT_TIME : TimeDomain.PROCESSING_TIME, timestamp, outputTimestamp, seq });
    }
    const nHolds = reader.readLength('hold count');
    for (let i = 0; i < nHolds; i++) {
      const ns = readString(reader);
      const col = readString(reader);
      const combiner = COMBINER_CODES[reader.readByte()];
      if (combiner === undefined) throw new StatePartCorruptError('unknown timestamp combiner code');
      table.put(ns, col, WatermarkHoldCell.decode(combiner, holds, reader));
    }
    if (!reader.isAtEnd()) throw new StatePartCorruptError(`${reader.remaining} unexpected bytes after the holds`);
    return timers;
  });
}

/** Reads a cells section into `table` as RawCells (their payloads are decoded on first access). */
export function decodeCells(bytes: Uint8Array, table: StateTable): void {
  if (bytes.length === 0) return;
  corrupt('cells section', () => {
    const reader = new ByteReader(bytes);
    const n = reader.readLength('cell count');
    for (let i = 0; i < n; i++) {
      const ns = readString(reader);
      const col = readString(reader);
      const kind = KIND_CODES[reader.readByte()];
      if (kind === undefined) throw new StatePartCorruptError('unknown state kind code');
      const signature = readString(reader);
      const len = reader.readLength('cell length');
      const start = reader.position;
      reader.subReader(len);
      table.put(ns, col, new RawCell(kind, signature, bytes.subarray(start, start + len)));
    }
    if (!reader.isAtEnd()) throw new StatePartCorruptError(`${reader.remaining} unexpected bytes after the cells`);
  });
}
