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
}

/** Callbacks from watermark-hold cells so a backend can keep the minimum hold over all keys. */
export interface HoldListener {
  holdChanged(previous: Instant | undefined, next: Instant | undefined): void;
}

/** A ReadableState whose value was taken when it was made (stator's rule, see docs/beam-compat.md). */
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

/** A re-iterable, read-only view: iterating never exposes the array or map behind it. */
export function iterableOf<T>(iterate: () => Iterator<T>): Iterable<T> {
  return { [Symbol.iterator]: iterate };
}

/** `source` with `f` applied to each item (Node 20 has no iterator helpers). */
export function* mapIterator<A, B>(source: Iterator<A>, f: (a: A) => B): Generator<B, void, undefined> {
  for (let r = source.next(); r.done !== true; r = source.next()) yield f(r.value);
}
