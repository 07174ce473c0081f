import type { Cell, CellSlot, HoldListener, Undo } from './cell.ts';
import { RawCell } from './cell.ts';
import type { KeyEntry } from './key-entry.ts';
import { cellOfEntry } from './bound-value-state.ts';
import { createCell, materialize } from './state-binder.ts';
import type { State } from './state.ts';
import type { StateTag } from './state-tag.ts';

/** What the slots need from the heap backend (its @internal members). */
export interface SlotHost<K> {
  /** The current key's entry, when cached. */
  readonly current: KeyEntry<K> | undefined;
  /** The current key's entry (throws when no key is in scope). */
  currentEntry(): KeyEntry<K>;
  /** A given key's entry, created detached when the key has none. */
  entryForKey(key: K): KeyEntry<K>;
  /** Whether two keys are one (equal encodings). */
  sameKey(a: K, b: K): boolean;
  /** Records the entry as changed since the last capture (attaching a detached one). */
  markDirty(entry: KeyEntry<K>): void;
  readonly holds: HoldListener | undefined;
  /** The open turn's undo journal (undefined outside a turn). */
  readonly journal: Undo[] | undefined;
}

/** The entry's cell at (namespace, tag), decoding restored bytes at first access. */
function cellIn<K>(
  entry: KeyEntry<K>,
  namespace: string,
  tag: StateTag<State>,
  holds: HoldListener | undefined,
): Cell | undefined {
  let cell = entry.table.get(namespace, tag.columnKey);
  if (cell === undefined) return undefined;
  if (cell instanceof RawCell) {
    cell = materialize(cell, tag, namespace, holds);
    entry.table.put(namespace, tag.columnKey, cell);
  }
  return cellOfEntry(entry, cell);
}

/**
 * Handles bound to the current key: every call acts on the key current at that call. A handle with
 * a slot number finds its cell in the entry's slot array (one index), falling back to the table.
 */
export class CurrentKeySlot<K> implements CellSlot<Cell> {
  constructor(
    private readonly backend: SlotHost<K>,
    readonly namespace: string,
    readonly tag: StateTag<State>,
    private readonly slot: number,
  ) {}
  scope(): unknown {
    return (this.backend.current ?? this.backend.currentEntry()).key;
  }
  peekIn(scope: unknown): Cell | undefined {
    const entry = this.backend.current;
    if (entry !== undefined && entry.key === scope) return this.peek();
    return cellIn(this.backend.entryForKey(scope as K), this.namespace, this.tag, this.backend.holds);
  }
  /**
   * The same cell for every key: a current-key handle is the same state as another of its backend, namespace and tag.
   */
  sameCell(other: CellSlot<Cell>): boolean {
    return (
      other instanceof CurrentKeySlot &&
      other.backend === this.backend &&
      other.namespace === this.namespace &&
      other.tag.columnKey === this.tag.columnKey
    );
  }
  peek(): Cell | undefined {
    const entry = this.backend.current ?? this.backend.currentEntry();
    if (this.slot >= 0) {
      const cell = entry.getSlot(this.slot);
      if (cell !== undefined) return cell;
    }
    return this.lookup(entry);
  }
  private lookup(entry: KeyEntry<K>): Cell | undefined {
    const cell = cellIn(entry, this.namespace, this.tag, this.backend.holds);
    if (cell !== undefined) this.cache(entry, cell);
    return cell;
  }
  journal(): Undo[] | undefined {
    return this.backend.journal;
  }
  private cache(entry: KeyEntry<K>, cell: Cell): void {
    if (this.slot >= 0) entry.setSlot(this.slot, cell);
  }
  touch(): Cell {
    const entry = this.backend.current ?? this.backend.currentEntry();
    let cell = this.slot >= 0 ? entry.getSlot(this.slot) : undefined;
    if (cell === undefined) {
      cell = this.lookup(entry);
      if (cell === undefined) {
        cell = createCell(this.tag, this.backend.holds);
        entry.table.put(this.namespace, this.tag.columnKey, cell);
        this.cache(entry, cell);
      }
    }
    if (!entry.dirty) this.backend.markDirty(entry);
    return cell;
  }
}

/** A handle on one given key's cell (stateInternalsForKey): resolves the key's entry at each call. */
export class FixedKeySlot<K> implements CellSlot<Cell> {
  constructor(
    private readonly backend: SlotHost<K>,
    private readonly key: K,
    readonly namespace: string,
    readonly tag: StateTag<State>,
  ) {}
  scope(): unknown {
    return undefined;
  }
  peekIn(): Cell | undefined {
    return this.peek();
  }
  sameCell(other: CellSlot<Cell>): boolean {
    return (
      other instanceof FixedKeySlot &&
      other.backend === this.backend &&
      other.namespace === this.namespace &&
      other.tag.columnKey === this.tag.columnKey &&
      this.backend.sameKey(other.key, this.key)
    );
  }
  journal(): Undo[] | undefined {
    return this.backend.journal;
  }
  peek(): Cell | undefined {
    return cellIn(this.backend.entryForKey(this.key), this.namespace, this.tag, this.backend.holds);
  }
  touch(): Cell {
    const entry = this.backend.entryForKey(this.key);
    let cell = cellIn(entry, this.namespace, this.tag, this.backend.holds);
    if (cell === undefined) {
      cell = createCell(this.tag, this.backend.holds);
      entry.table.put(this.namespace, this.tag.columnKey, cell);
    }
    // Attaches a new key, so the next entryForKey finds this entry.
    this.backend.markDirty(entry);
    return cell;
  }
}
