import { ByteWriter } from '../../coders/index.ts';
import { RawCell } from './cell.ts';
import { readCellHead } from './key-entry.ts';
import { PartCursor } from './key-group-part.ts';
import { StatePartCorruptError } from './state-errors.ts';
import type { StateKind } from './state-tag.ts';
import type { StateTable } from './state-table.ts';

/**
 * Where the payload of `value` starts when it is the one-cell form of numbered head `id` in one
 * byte (ids below 64), else -1: the backend's fast path for a slot-0 ValueState's record, which
 * decodes the payload without a RawCell.
 */
export function oneCellPayloadStart(value: Uint8Array, id: number): number {
  return id > 0 && id < 0x40 && value.length > 0 && value[0] === 2 * id + 1 ? 1 : -1;
}

/** Distinct cell heads a store numbers; others are written inline (window namespaces are unbounded). */
const MAX_HEADS = 4096;
/** The id of a cell whose head is written inline, in the checkpoint encoding. */
const INLINE = 0;

interface Head {
  /** The head as a checkpoint record encodes it (namespace, column, kind, signature). */
  readonly bytes: Uint8Array;
  readonly ns: string;
  readonly col: string;
  readonly kind: StateKind;
  readonly signature: string;
}

/**
 * The cells section as a tiered backend's local store holds it: a checkpoint record's cells
 * section with each cell's head (namespace, column, kind, signature: about 30 bytes for a
 * ValueState, repeated in every key's record) replaced by a small number, the head's id in a
 * dictionary of the store. A value is one of two forms, told apart by its first varint:
 * - one cell (a key with one ValueState, the common record): 2 * id + 1 (id INLINE is followed by
 *   the head, for heads past MAX_HEADS), then the payload, which runs to the value's end;
 * - any other count: 2 * count, then per cell: id (INLINE, then the head), payload length, payload.
 * The one-cell form drops the count and the length (2 of a ValueState's ~5 bytes of value): every
 * store entry's bytes are resident in the process's map once its page is read.
 *
 * The dictionary is the store's (LocalStateStore.write persists new heads with the records that
 * use them, heads() gives them back for a warm copy), so it lives as long as the store's content.
 */
export class LocalCellFormat {
  private readonly ids = new Map<string, number>();
  /** Heads by id - 1. */
  private readonly heads: Head[] = [];
  /** Heads the store holds (the first `saved` ids). */
  private saved: number;
  private last: Head | undefined = undefined;
  private lastId = INLINE;
  private readonly out = new ByteWriter(256);

  /** A format over the heads a store already holds (LocalStateStore.heads(), by id from 1). */
  constructor(stored: readonly Uint8Array[] = []) {
    for (const bytes of stored) this.add(new Uint8Array(bytes));
    this.saved = this.heads.length;
  }

  /** How many heads are numbered. */
  get size(): number {
    return this.heads.length;
  }

  /** The id of the head (namespace, column, kind, signature), or 0 when it is not numbered. */
  find(ns: string, col: string, kind: StateKind, signature: string): number {
    const i = this.heads.findIndex((h) => h.ns === ns && h.col === col && h.kind === kind && h.signature === signature);
    return i + 1;
  }

  /** Heads the store does not hold yet: pass them to its next write, then call `savedAll`. */
  unsaved(): { readonly from: number; readonly heads: readonly Uint8Array[] } | undefined {
    if (this.saved === this.heads.length) return undefined;
    return { from: this.saved + 1, heads: this.heads.slice(this.saved).map((h) => h.bytes) };
  }

  /** The store wrote every head `unsaved` gave. */
  savedAll(): void {
    this.saved = this.heads.length;
  }

  /** A checkpoint cells section (count, then cells) in the local form. */
  toLocal(cells: Uint8Array): Uint8Array {
    this.out.reset();
    this.writeLocal(cells, this.out);
    return this.out.toBytes();
  }

  /** Writes a checkpoint cells section in the local form to `out` (toLocal without a copy of its own). */
  writeLocal(cells: Uint8Array, out: ByteWriter): void {
    const cursor = new PartCursor(cells, 0, cells.length);
    const n = cursor.length();
    if (n === 1) {
      const at = cursor.pos;
      const id = this.localId(cursor);
      out.writeVarLong(2 * id + 1);
      if (id === INLINE) out.writeBytes(cells, at, cursor.pos);
      const len = cursor.length();
      const start = cursor.skip(len);
      out.writeBytes(cells, start, start + len);
    } else {
      out.writeVarLong(2 * n);
      for (let i = 0; i < n; i++) {
        const at = cursor.pos;
        const id = this.localId(cursor);
        out.writeVarLong(id);
        if (id === INLINE) out.writeBytes(cells, at, cursor.pos);
        copyPayload(cursor, out);
      }
    }
    if (!cursor.atEnd()) throw new StatePartCorruptError(`${cursor.end - cursor.pos} unexpected bytes after the cells`);
  }

  /** A local cells section (a whole store value) back in the checkpoint form. */
  toCheckpoint(local: Uint8Array): Uint8Array {
    const out = this.out;
    out.reset();
    const cursor = new PartCursor(local, 0, local.length);
    const first = cursor.length();
    if (first % 2 === 1) {
      out.writeVarLong(1);
      this.writeCheckpointHead((first - 1) / 2, cursor, out);
      out.writeVarLong(cursor.end - cursor.pos);
      out.writeBytes(local, cursor.pos, cursor.end);
      return out.toBytes();
    }
    const n = first / 2;
    out.writeVarLong(n);
    for (let i = 0; i < n; i++) {
      this.writeCheckpointHead(cursor.length(), cursor, out);
      copyPayload(cursor, out);
    }
    if (!cursor.atEnd()) throw new StatePartCorruptError(`${cursor.end - cursor.pos} unexpected bytes after the cells`);
    return out.toBytes();
  }

  /**
   * The id of the checkpoint head at the cursor, moving past it (INLINE past MAX_HEADS: the head is
   * then written as it is, from where the cursor was).
   */
  private localId(cursor: PartCursor): number {
    const at = cursor.pos;
    const cells = cursor.bytes;
    const last = this.last;
    // Most keys' cells have the previous one's head: one byte comparison instead of a lookup.
    if (last !== undefined && sameBytes(last.bytes, cells, at, cursor.end)) {
      cursor.pos = at + last.bytes.length;
      return this.lastId;
    }
    skipHead(cursor);
    return this.idOf(cells.subarray(at, cursor.pos));
  }

  /** Writes the checkpoint head of local id `id` (INLINE: the head at the cursor, moving past it). */
  private writeCheckpointHead(id: number, cursor: PartCursor, out: ByteWriter): void {
    if (id !== INLINE) {
      out.writeBytes(this.head(id).bytes);
      return;
    }
    const at = cursor.pos;
    skipHead(cursor);
    out.writeBytes(cursor.bytes, at, cursor.pos);
  }

  /**
   * Reads a local cells section into `table`, as RawCells over the cursor's bytes: the whole rest of
   * the cursor (a one-cell value's payload runs to its end).
   */
  decodeAt(cursor: PartCursor, table: StateTable): void {
    const first = cursor.length();
    if (first % 2 === 1) {
      const id = (first - 1) / 2;
      const head = id === INLINE ? readCellHead(cursor) : this.head(id);
      const start = cursor.skip(cursor.end - cursor.pos);
      table.put(head.ns, head.col, new RawCell(head.kind, head.signature, cursor.bytes, start, cursor.end));
      return;
    }
    const n = first / 2;
    for (let i = 0; i < n; i++) {
      const id = cursor.length();
      const head = id === INLINE ? readCellHead(cursor) : this.head(id);
      const len = cursor.length();
      const start = cursor.skip(len);
      table.put(head.ns, head.col, new RawCell(head.kind, head.signature, cursor.bytes, start, start + len));
    }
  }

  private head(id: number): Head {
    const head = this.heads[id - 1];
    if (head === undefined) throw new StatePartCorruptError(`the local state store has no cell head ${id}`);
    return head;
  }

  /** The id of a head (numbered now if new and there is room), or INLINE. */
  private idOf(bytes: Uint8Array): number {
    const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    let id = this.ids.get(key);
    if (id === undefined) {
      if (this.heads.length >= MAX_HEADS) return INLINE;
      // A copy: `bytes` may be a view of a writer's buffer (Buffer#slice would be one too).
      id = this.add(new Uint8Array(bytes));
    }
    this.last = this.heads[id - 1];
    this.lastId = id;
    return id;
  }

  private add(bytes: Uint8Array): number {
    const cursor = new PartCursor(bytes, 0, bytes.length);
    const { ns, col, kind, signature } = readCellHead(cursor);
    if (!cursor.atEnd()) throw new StatePartCorruptError('a cell head of the local state store is malformed');
    this.heads.push({ bytes, ns, col, kind, signature });
    const id = this.heads.length;
    this.ids.set(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'), id);
    return id;
  }
}

/** Copies a cell's payload at the cursor (length, then bytes) to `out`, as it is. */
function copyPayload(cursor: PartCursor, out: ByteWriter): void {
  const len = cursor.length();
  const start = cursor.skip(len);
  out.writeVarLong(len);
  out.writeBytes(cursor.bytes, start, start + len);
}

/** Skips a cell head (namespace, column, kind, signature) without decoding it. */
function skipHead(cursor: PartCursor): void {
  cursor.skip(cursor.length());
  cursor.skip(cursor.length());
  cursor.skip(1);
  cursor.skip(cursor.length());
}

function sameBytes(a: Uint8Array, b: Uint8Array, at: number, end: number): boolean {
  if (at + a.length > end) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[at + i]) return false;
  return true;
}
