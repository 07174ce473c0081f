import { iterableOf, type Cell, type CellSlot } from './cell.ts';

/**
 * The item list of a bag or ordered-list cell, copy-on-write: a read hands out a view of `items`
 * and marks it shared, and the next mutation copies it first (the cell's `writable()`), so a read
 * costs O(1) and is a snapshot (later adds and clears do not show in it). An interface, not a base
 * class: each cell keeps its own `writable()`, so the per-add path sees one class only.
 */
export interface ListCell<T> {
  items: T[];
  /** A read handed out a view of `items`: copy before the next mutation. */
  shared: boolean;
  isEmpty(): boolean;
}

/** A snapshot of the list (no copy: the cell copies at its next mutation instead). */
export function readList<T>(cell: ListCell<T> | undefined): Iterable<T> {
  if (cell === undefined || cell.items.length === 0) return [];
  cell.shared = true;
  const items = cell.items;
  return iterableOf(() => items.values());
}

/** Empties the list of the slot's cell; the undo puts the old list back. */
export function clearList<T, C extends ListCell<T> & Cell>(slot: CellSlot<C>): void {
  if (slot.peek()?.isEmpty() !== false) return;
  const cell = slot.touch();
  const previous = cell.items;
  slot.journal()?.push(() => {
    cell.items = previous;
    cell.shared = true;
  });
  cell.items = [];
  cell.shared = false;
}
