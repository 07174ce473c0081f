import type { ByteWriter, Instant } from '../../coders/index.ts';
import type { ReadableState } from './state.ts';
import type { StateKind } from './state-tag.ts';
import type { StateTable } from './state-table.ts';

/**
 * One cell of the state table: the contents of one (key, namespace, tag). Cells are plain mutable
 * objects owned by the table; state handles reach them through a CellSlot.
 */
export interface Cell {
  readonly kind: StateKind;
  /** The declaring tag's signature (kind and coders), written with the cell. */
  signature: string;
  /**
   * Empty cells are not checkpointed, and are dropped from memory at the next capture. `owner` is
   * the table holding the cell (a cell shared by many keys' tables keeps its value in the table).
   */
  isEmpty(owner?: StateTable): boolean;
  /** Writes the cell's contents (the checkpoint payload of this cell); `owner` as for isEmpty. */
  encode(writer: ByteWriter, owner?: StateTable): void;
  /** Set when the table dropped this cell; a handle caching it must look it up again. */
  pruned: boolean;
}

/**
 * A cell restored from a checkpoint and not yet read: its bytes wait for the tag that declares it
 * (restore happens before the task declares its tags), and are decoded at first access.
 */
export class RawCell {
  pruned = false;
  /**
   * The payload is [start, end) of `source` (the restored part), kept as offsets: a typed-array view
   * per restored key would cost more memory than the value it holds.
   */
  constructor(
    readonly storedKind: StateKind,
    readonly signature: string,
    private readonly source: Uint8Array,
    private readonly start: number,
    private readonly end: number,
  ) {}
  get bytes(): Uint8Array {
    return this.source.subarray(this.start, this.end);
  }
  isEmpty(): boolean {
    return false;
  }
}

/** What the table holds at one (namespace, tag): a live cell or restored bytes. */
export type TableEntry = Cell | RawCell;

/** Undoes one mutation; a turn's undos run newest first. */
export type Undo = () => void;

/** How a state handle reaches its cell: the cell of the key in scope at the call. */
export interface CellSlot<C extends Cell> {
  /**
   * The open turn's undo journal when the backend runs turns as transactions, else undefined.
   * Mutations push the inverse of what they do, after touch().
   */
  journal(): Undo[] | undefined;
  /** The cell if it exists (decoding restored bytes on first access), else undefined. Never marks a change. */
  peek(): C | undefined;
  /** The cell, created when missing; records that the key's state changed. Call before every mutation. */
  touch(): C;
  /**
   * The key this slot acts on now, kept by a deferred ReadableState so that its read() reads that
   * key; undefined for a slot whose key is fixed.
   */
  scope(): unknown;
  /** peek() for the key `scope` named (the fast path when it is still the key in scope). */
  peekIn(scope: unknown): C | undefined;
  /** Whether `other` reaches the same cell: same table or backend, key, namespace and tag id. */
  sameCell(other: CellSlot<Cell>): boolean;
}

/** Callbacks from watermark-hold cells so a backend can keep the minimum hold over all keys. */
export interface HoldListener {
  holdChanged(previous: Instant | undefined, next: Instant | undefined): void;
}

/**
 * A ReadableState whose value was taken at the call. Beam's rule for the methods that change state
 * and answer about it (SetState.contains/addIfAbsent, MapState.putIfAbsent/computeIfAbsent).
 */
export function immediate<T>(value: T): ReadableState<T> {
  return new ImmediateState(value);
}

class ImmediateState<T> implements ReadableState<T> {
  constructor(private readonly value: T) {}
  read(): T {
    return this.value;
  }
  readLater(): ReadableState<T> {
    return this;
  }
}

/**
 * A ReadableState read at read(), not at the call (Beam's rule for isEmpty, MapState.get/keys/
 * values/entries...): obtained before an add or put, its read() sees the change. It reads the key
 * the handle acted on when it was made, even when another key is in scope at read(). `reader` is a
 * plain function of the cell (no closure per call); `a` and `b` are its arguments.
 */
export class DeferredRead<C extends Cell, A, B, T> implements ReadableState<T> {
  private readonly scope: unknown;
  constructor(
    private readonly slot: CellSlot<C>,
    private readonly reader: (cell: C | undefined, a: A, b: B) => T,
    private readonly a: A,
    private readonly b: B,
  ) {
    this.scope = slot.scope();
  }
  read(): T {
    return this.reader(this.slot.peekIn(this.scope), this.a, this.b);
  }
  /** A hint only: the read happens at read(). */
  readLater(): ReadableState<T> {
    return this;
  }
}

function readIsEmpty(cell: Cell | undefined): boolean {
  return cell === undefined || cell.isEmpty();
}

/** isEmpty() of any state kind, deferred. */
export function deferredIsEmpty<C extends Cell>(slot: CellSlot<C>): ReadableState<boolean> {
  return new DeferredRead<C, undefined, undefined, boolean>(slot, readIsEmpty, undefined, undefined);
}

/** A re-iterable, read-only view: iterating never exposes the array or map behind it. */
export function iterableOf<T>(iterate: () => Iterator<T>): Iterable<T> {
  return { [Symbol.iterator]: iterate };
}

/** `source` with `f` applied to each item (Node 20 has no iterator helpers). */
export function* mapIterator<A, B>(source: Iterator<A>, f: (a: A) => B): Generator<B, void, undefined> {
  for (let r = source.next(); r.done !== true; r = source.next()) yield f(r.value);
}
