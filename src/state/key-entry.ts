import { ByteReader, ByteWriter, type Instant } from '../../coders/index.ts';
import { RawCell, type Cell, type HoldListener, type TableEntry } from './cell.ts';
import { TimestampCombiner } from './state.ts';
import { StateError, StatePartCorruptError } from './state-errors.ts';
import type { StateNamespace } from './state-namespace.ts';
import type { StateKind } from './state-tag.ts';
import { StateTable } from './state-table.ts';
import { PartCursor } from './key-group-part.ts';
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

const DIRTY = 1;
const ATTACHED = 2;
const PERSISTED = 4;
const CAPTURING = 8;
const STORED = 16;
const REFERENCED = 32;
const IN_STORE = 64;
/** Flags a capture keeps. */
const KEPT = ATTACHED | PERSISTED | STORED | REFERENCED | IN_STORE;
/**
 * While CAPTURING, the bits above the flags hold the key's index in its capture (below
 * MAX_DEFERRED_CAPTURE, so the field stays below 2^31: an int32).
 */
const INDEX_SHIFT = 7;
/** Captures larger than this many keys encode at once (the index must fit a small integer). */
export const MAX_DEFERRED_CAPTURE = 2 ** 24;

/** The identity of a timer within its key. */
export function timerKey(namespace: string, timerId: string, domain: TimeDomain): string {
  return `${domain === TimeDomain.EVENT_TIME ? 'e' : 'p'}${namespace}\u0000${timerId}`;
}

/**
 * Everything a backend keeps for one key. It is its own StateTable (one object less per key:
 * with 100k keys, memory per key decides how many cache misses the hot path takes).
 */
export class KeyEntry<K> extends StateTable {
  /** The key's state table (the entry itself). */
  get table(): StateTable {
    return this;
  }
  timers: Map<string, TimerRecord<K>> | undefined = undefined;
  // dirty, attached and persisted share one field: three booleans cost 24 bytes per key, one small
  // integer 8 (the accessors inline to a bit test on the hot path).
  private flags = 0;
  /** Changed since the last capture (then it is in the backend's dirty list). */
  get dirty(): boolean {
    return (this.flags & DIRTY) !== 0;
  }
  set dirty(on: boolean) {
    this.flags = on ? this.flags | DIRTY : this.flags & ~DIRTY;
  }
  /** In the backend's key map (a key only read is never attached). */
  get attached(): boolean {
    return (this.flags & ATTACHED) !== 0;
  }
  set attached(on: boolean) {
    this.flags = on ? this.flags | ATTACHED : this.flags & ~ATTACHED;
  }
  /** Some checkpoint may hold state of this key, so deleting it needs a tombstone. */
  get persisted(): boolean {
    return (this.flags & PERSISTED) !== 0;
  }
  set persisted(on: boolean) {
    this.flags = on ? this.flags | PERSISTED : this.flags & ~PERSISTED;
  }
  /**
   * In a capture whose record is not written yet (see PendingCapture): the record must be written
   * before the key's state is used again. Implies not dirty.
   */
  get capturing(): boolean {
    return (this.flags & CAPTURING) !== 0;
  }
  /** The key's index in its capture (only while capturing). */
  get captureIndex(): number {
    return this.flags >>> INDEX_SHIFT;
  }
  /** Leaves the dirty list for capture number `index` (< MAX_DEFERRED_CAPTURE). */
  beginCapture(index: number): void {
    this.flags = (this.flags & KEPT) | CAPTURING | (index << INDEX_SHIFT);
  }
  /** The key's record is written (or the capture was abandoned). */
  endCapture(): void {
    this.flags &= DIRTY | KEPT;
  }
  /** The local store of a tiered backend holds the key's state as it is now (cleared by any change). */
  get stored(): boolean {
    return (this.flags & STORED) !== 0;
  }
  set stored(on: boolean) {
    this.flags = on ? this.flags | STORED : this.flags & ~STORED;
  }
  /**
   * A tiered backend's filter of stored keys holds the key (it was read from or written to the
   * local store). Unlike `stored`, a change does not clear it: eviction then need not ask the filter.
   */
  get inStore(): boolean {
    return (this.flags & IN_STORE) !== 0;
  }
  set inStore(on: boolean) {
    this.flags = on ? this.flags | IN_STORE : this.flags & ~IN_STORE;
  }
  /** Used since the eviction clock last passed it (a tiered backend's second chance). */
  get referenced(): boolean {
    return (this.flags & REFERENCED) !== 0;
  }
  set referenced(on: boolean) {
    this.flags = on ? this.flags | REFERENCED : this.flags & ~REFERENCED;
  }
  /** The key group, once computed (the key bytes are not kept: a typed array per key costs ~150 bytes). */
  keyGroup = -1;
  /**
   * Cache of live cells by the backend's slot number of (namespace, tag), for bound handles: one
   * array index instead of two Map lookups on the hot path. Reset whenever cells are pruned.
   * Slots 0 and 1 (the inline ValueState slots, the common case) live in the entry itself; the
   * others in `slots`, made when a task binds more than two handles.
   */
  slots: (Cell | undefined)[] | undefined = undefined;
  slot0: Cell | undefined = undefined;
  slot1: Cell | undefined = undefined;
  /**
   * Values of InlineValueCells in slots 0 and 1 (undefined when empty): a ValueState read is then one object access.
   */
  value0: unknown = undefined;
  value1: unknown = undefined;

  getSlot(slot: number): Cell | undefined {
    switch (slot) {
      case 0:
        return this.slot0;
      case 1:
        return this.slot1;
      default:
        return this.slots?.[slot - 2];
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
      default:
        this.slots ??= [];
        while (this.slots.length < slot - 2) this.slots.push(undefined);
        this.slots[slot - 2] = cell;
    }
  }

  /** Forgets every cached slot (after cells were pruned). */
  clearSlots(): void {
    this.slot0 = this.slot1 = undefined;
    this.slots = undefined;
  }
  constructor(
    readonly key: K,
    /** The key's identity in the key map: its key coder's structural value. */
    readonly id: unknown,
  ) {
    super();
  }

  hasState(): boolean {
    return (this.timers !== undefined && this.timers.size > 0) || !this.table.isEmpty();
  }
}

const KIND_CODES: readonly StateKind[] = [
  'value',
  'bag',
  'set',
  'map',
  'multimap',
  'orderedList',
  'combining',
  'watermark',
];
const COMBINER_CODES: readonly TimestampCombiner[] = [
  TimestampCombiner.EARLIEST,
  TimestampCombiner.LATEST,
  TimestampCombiner.END_OF_WINDOW,
];

function writeString(writer: ByteWriter, s: string): void {
  writer.writeUtf8(s, true);
}
function readString(reader: ByteReader): string {
  return reader.readUtf8(reader.readLength('string length'));
}

/**
 * Namespaces, columns and signatures repeat across keys: restored keys share one string each instead
 * of a copy per key (memory per key, and table lookups that match on identity).
 */
const names = new Map<string, string>();
const MAX_NAMES = 4096;
function readName(reader: ByteReader): string {
  const s = readString(reader);
  const known = names.get(s);
  if (known !== undefined) return known;
  if (names.size < MAX_NAMES) names.set(s, s);
  return s;
}

/**
 * What capture found in a key (see inspectEntry): EMPTY, no state at all (the key becomes a
 * tombstone, or is dropped when never checkpointed); CELLS, cells only; EAGER, timers or watermark
 * holds (and maybe cells): the record has an eager section.
 */
export const EntryShape = { EMPTY: 0, CELLS: 1, EAGER: 2 } as const;
export type EntryShape = (typeof EntryShape)[keyof typeof EntryShape];

/** Prunes the key's empty cells and says what is left. */
export function inspectEntry<K>(entry: KeyEntry<K>): EntryShape {
  if (entry.table.prune()) entry.clearSlots();
  const hasTimers = entry.timers !== undefined && entry.timers.size > 0;
  // One cell, the common case, without a closure (a capture inspects every key it takes).
  const sole = entry.table.soleEntry();
  if (sole !== undefined) return hasTimers || sole instanceof WatermarkHoldCell ? EntryShape.EAGER : EntryShape.CELLS;
  return inspectCells(entry, hasTimers);
}

function inspectCells<K>(entry: KeyEntry<K>, hasTimers: boolean): EntryShape {
  let any = false;
  let holds = false;
  entry.table.forEach((_ns, _col, cell) => {
    any = true;
    if (cell instanceof WatermarkHoldCell) holds = true;
  });
  if (hasTimers || holds) return EntryShape.EAGER;
  return any ? EntryShape.CELLS : EntryShape.EMPTY;
}

/** Writes the eager section of a key with timers or holds: timers in set order, then watermark holds. */
export function encodeEager<K>(entry: KeyEntry<K>, eager: ByteWriter): void {
  const table = entry.table;
  let holdCount = 0;
  table.forEach((_ns, _col, cell) => {
    if (cell instanceof WatermarkHoldCell) holdCount++;
  });
  const timerCount = entry.timers === undefined ? 0 : entry.timers.size;
  eager.writeVarLong(timerCount);
  if (timerCount > 0) {
    const timers = [...entry.timers!.values()].sort((a, b) => a.seq - b.seq);
    for (const t of timers) {
      writeString(eager, t.namespace.stringKey());
      writeString(eager, t.timerId);
      eager.writeByte(t.domain === TimeDomain.EVENT_TIME ? 0 : 1);
      eager.writeVarLong(t.timestamp);
      eager.writeVarLong(t.outputTimestamp);
      eager.writeVarLong(t.seq);
    }
  }
  eager.writeVarLong(holdCount);
  if (holdCount > 0) {
    table.forEach((ns, col, cell) => {
      if (!(cell instanceof WatermarkHoldCell)) return;
      writeString(eager, ns);
      writeString(eager, col);
      eager.writeByte(COMBINER_CODES.indexOf(cell.combiner));
      cell.encode(eager);
    });
  }
}

/**
 * Writes the cells section (count, then every cell but watermark holds; restored bytes are copied
 * as they came). `scratch` holds one cell's payload at a time (its length comes first).
 * @throws StateError naming the state when a value does not encode with its coder.
 */
export function encodeCells<K>(entry: KeyEntry<K>, cells: ByteWriter, scratch: ByteWriter): void {
  const table = entry.table;
  // One cell, the common case, without closures (a capture encodes every key it takes).
  const sole = table.soleEntry();
  if (sole !== undefined) {
    if (sole instanceof WatermarkHoldCell) {
      cells.writeVarLong(0);
      return;
    }
    cells.writeVarLong(1);
    encodeCell(entry, cells, scratch, table.soleNamespace()!, table.soleColumn()!, sole);
    return;
  }
  let cellCount = 0;
  table.forEach((_ns, _col, cell) => {
    if (!(cell instanceof WatermarkHoldCell)) cellCount++;
  });
  cells.writeVarLong(cellCount);
  if (cellCount === 0) return;
  table.forEach((ns, col, cell) => {
    if (!(cell instanceof WatermarkHoldCell)) encodeCell(entry, cells, scratch, ns, col, cell);
  });
}

/** Writes one cell (its head, then its payload's length and bytes); see encodeCells. */
function encodeCell<K>(
  entry: KeyEntry<K>,
  cells: ByteWriter,
  scratch: ByteWriter,
  ns: string,
  col: string,
  cell: TableEntry,
): void {
  if (cell instanceof RawCell) {
    writeCellHead(cells, ns, col, cell.storedKind, cell.signature);
    const bytes = cell.bytes;
    cells.writeVarLong(bytes.length);
    cells.writeBytes(bytes);
    return;
  }
  writeCellHead(cells, ns, col, cell.kind, cell.signature);
  scratch.reset();
  try {
    cell.encode(scratch, entry);
  } catch (cause) {
    throw new StateError(
      `cannot checkpoint key ${String(entry.key)}: state '${col.slice(1)}' in namespace '${ns}' does not encode as ${cell.signature}; ` +
        'state refuses such values at write, so one was changed in place after it was written: write a new value instead (the changes stay pending for the next capture)',
      { cause },
    );
  }
  cells.writeLengthPrefixed(scratch);
}

// The head of a cell (namespace, column, kind, signature) is the same for most keys: the last one
// written is kept encoded, so a capture copies it instead of encoding three strings per key.
let headNs: string | undefined;
let headCol: string | undefined;
let headKind: StateKind | undefined;
let headSignature: string | undefined;
let headBytes: Uint8Array = new Uint8Array(0);
const headWriter = new ByteWriter(64);

function writeCellHead(cells: ByteWriter, ns: string, col: string, kind: StateKind, signature: string): void {
  if (ns !== headNs || col !== headCol || kind !== headKind || signature !== headSignature) {
    headWriter.reset();
    writeString(headWriter, ns);
    writeString(headWriter, col);
    headWriter.writeByte(KIND_CODES.indexOf(kind));
    writeString(headWriter, signature);
    headBytes = headWriter.toBytes();
    headNs = ns;
    headCol = col;
    headKind = kind;
    headSignature = signature;
  }
  cells.writeBytes(headBytes);
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
      const namespace = readName(reader);
      const timerId = readString(reader);
      const d = reader.readByte();
      if (d > 1) throw new StatePartCorruptError(`unknown time domain code ${d}`);
      const timestamp = reader.readVarLong();
      const outputTimestamp = reader.readVarLong();
      const seq = reader.readLength('timer sequence');
      timers.push({
        namespace,
        timerId,
        domain: d === 0 ? TimeDomain.EVENT_TIME : TimeDomain.PROCESSING_TIME,
        timestamp,
        outputTimestamp,
        seq,
      });
    }
    const nHolds = reader.readLength('hold count');
    for (let i = 0; i < nHolds; i++) {
      const ns = readName(reader);
      const col = readName(reader);
      const combiner = COMBINER_CODES[reader.readByte()];
      if (combiner === undefined) throw new StatePartCorruptError('unknown timestamp combiner code');
      table.put(ns, col, WatermarkHoldCell.decode(combiner, holds, reader));
    }
    if (!reader.isAtEnd()) throw new StatePartCorruptError(`${reader.remaining} unexpected bytes after the holds`);
    return timers;
  });
}

/**
 * Reads the cells section at the cursor into `table` as RawCells that point into the cursor's bytes
 * (no copy, no view per cell).
 */
export function decodeCellsAt(cursor: PartCursor, table: StateTable): void {
  const n = cursor.length();
  const bytes = cursor.bytes;
  for (let i = 0; i < n; i++) {
    // Most keys' cells have the head (namespace, column, kind, signature) of the previous one: one
    // byte comparison instead of three name lookups.
    const at = cursor.pos;
    let last = lastHead;
    if (last === undefined || at + last.bytes.length > cursor.end || !sameBytes(last.bytes, bytes, at)) {
      const ns = readNameAt(cursor);
      const col = readNameAt(cursor);
      const kind = KIND_CODES[cursor.byte()];
      if (kind === undefined) throw new StatePartCorruptError('unknown state kind code');
      const signature = readNameAt(cursor);
      last = lastHead = { bytes: bytes.slice(at, cursor.pos), ns, col, kind, signature };
    } else {
      cursor.pos = at + last.bytes.length;
    }
    const { ns, col, kind, signature } = last;
    const len = cursor.length();
    const start = cursor.skip(len);
    table.put(ns, col, new RawCell(kind, signature, cursor.bytes, start, start + len));
  }
}

/** The head of a cell (namespace, column, kind, signature) at the cursor, names shared as decodeCellsAt shares them. */
export function readCellHead(cursor: PartCursor): {
  readonly ns: string;
  readonly col: string;
  readonly kind: StateKind;
  readonly signature: string;
} {
  const ns = readNameAt(cursor);
  const col = readNameAt(cursor);
  const kind = KIND_CODES[cursor.byte()];
  if (kind === undefined) throw new StatePartCorruptError('unknown state kind code');
  const signature = readNameAt(cursor);
  return { ns, col, kind, signature };
}

/**
 * A namespace, column or signature at the cursor, as the one string already made for the same bytes
 * when there is one: restoring a million keys then neither decodes nor keeps a million copies of
 * the same few names.
 */
function readNameAt(cursor: PartCursor): string {
  const n = cursor.length();
  const start = cursor.skip(n);
  const bytes = cursor.bytes;
  let h = n;
  for (let i = start; i < start + n; i++) h = (Math.imul(h, 31) + bytes[i]!) | 0;
  let bucket = nameCache.get(h);
  if (bucket !== undefined) {
    for (const known of bucket) if (known.bytes.length === n && sameBytes(known.bytes, bytes, start)) return known.name;
  }
  let name: string;
  try {
    name = new ByteReader(bytes, start, start + n).readUtf8(n);
  } catch (cause) {
    throw new StatePartCorruptError('a state name is not UTF-8', { cause });
  }
  if (nameCacheSize < MAX_NAMES) {
    if (bucket === undefined) nameCache.set(h, (bucket = []));
    bucket.push({ bytes: bytes.slice(start, start + n), name });
    nameCacheSize++;
  }
  return name;
}

let lastHead:
  | {
      readonly bytes: Uint8Array;
      readonly ns: string;
      readonly col: string;
      readonly kind: StateKind;
      readonly signature: string;
    }
  | undefined;
const nameCache = new Map<number, { bytes: Uint8Array; name: string }[]>();
let nameCacheSize = 0;

function sameBytes(a: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[at + i]) return false;
  return true;
}
