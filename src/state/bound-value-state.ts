import { ByteReader, Context, type ByteWriter, type Coder } from '../../coders/index.ts';
import { RawCell, type Cell, type Undo } from './cell.ts';
import { checkEncodable } from './encodable.ts';
import type { KeyEntry } from './key-entry.ts';
import type { State, ValueState } from './state.ts';
import { materialize } from './state-binder.ts';
import type { StateTag } from './state-tag.ts';
import type { StateTable } from './state-table.ts';
import { ValueCell } from './value-state.ts';

/** Slots whose ValueState values live in the key entry itself (KeyEntry.value0/value1). */
export const INLINE_VALUE_SLOTS = 2;

/**
 * A ValueState cell whose value is stored in a field of its key entry (KeyEntry.value0/value1), so
 * the hot path reads it without reaching a separate cell object (one cache miss less per message
 * with many keys). One such cell is shared by every key's table (it holds no value itself: a million
 * keys cost no cell object each); table-level calls pass the owning table, which is the key entry.
 * Paths that need an ordinary cell (stateInternalsForKey) get a per-call view of one key.
 */
export class InlineValueCell<T> implements Cell {
  readonly kind = 'value';
  pruned = false;
  signature = '';
  constructor(
    private readonly coder: Coder<T>,
    readonly slot: 0 | 1,
  ) {}
  isEmpty(owner?: StateTable): boolean {
    const entry = owner as KeyEntry<unknown>;
    return (this.slot === 0 ? entry.value0 : entry.value1) === undefined;
  }
  encode(writer: ByteWriter, owner?: StateTable): void {
    const entry = owner as KeyEntry<unknown>;
    this.coder.encode((this.slot === 0 ? entry.value0 : entry.value1) as T, writer, Context.OUTER);
  }
  /** Throws StateValueNotEncodableError when `value` does not encode (see checkEncodable). */
  check(value: T): void {
    checkEncodable(this.coder, value, Context.OUTER, 'ValueState.write value');
  }
  /**
   * The value `bytes[start, end)` hold when they are exactly one non-null value of its coder, else
   * undefined (the caller then takes the general path, which reports what is wrong).
   */
  decodeValue(bytes: Uint8Array, start: number, end: number): T | undefined {
    try {
      const reader = new ByteReader(bytes, start, end);
      const value = this.coder.decode(reader, Context.OUTER);
      return reader.isAtEnd() && value !== null && value !== undefined ? value : undefined;
    } catch {
      return undefined;
    }
  }
  /** The cell of one key, as an ordinary value cell (`value` reads and writes the key's field). */
  viewOf(entry: KeyEntry<unknown>): InlineValueView<T> {
    return new InlineValueView(this, entry);
  }
}

/** One key's InlineValueCell as an ordinary value cell. */
export class InlineValueView<T> implements Cell {
  readonly kind = 'value';
  pruned = false;
  constructor(
    private readonly shared: InlineValueCell<T>,
    private readonly entry: KeyEntry<unknown>,
  ) {}
  get signature(): string {
    return this.shared.signature;
  }
  set signature(s: string) {
    this.shared.signature = s;
  }
  get value(): T | null {
    const v = this.shared.slot === 0 ? this.entry.value0 : this.entry.value1;
    return v === undefined ? null : (v as T);
  }
  set value(v: T | null) {
    const stored = v === null ? undefined : v;
    if (this.shared.slot === 0) this.entry.value0 = stored;
    else this.entry.value1 = stored;
  }
  isEmpty(): boolean {
    return this.shared.isEmpty(this.entry);
  }
  check(value: T): void {
    this.shared.check(value);
  }
  encode(writer: ByteWriter): void {
    this.shared.encode(writer, this.entry);
  }
}

/** A table entry as a cell for a handle of one key: shared inline cells become that key's view. */
export function cellOfEntry(entry: KeyEntry<unknown>, cell: Cell): Cell {
  return cell instanceof InlineValueCell ? cell.viewOf(entry) : cell;
}

/** What the bound value state needs from its backend. */
export interface InlineValueHost<K> {
  current: KeyEntry<K> | undefined;
  readonly journal: Undo[] | undefined;
  currentEntry(): KeyEntry<K>;
  markDirty(entry: KeyEntry<K>): void;
}

/**
 * A current-key ValueState handle for slots 0 and 1 (see ValueStateImpl for the semantics). For its
 * slot, entry.slotN is undefined or this handle's InlineValueCell, and entry.valueN holds the value.
 */
export class BoundValueState<K, T> implements ValueState<T> {
  /** This handle's cell, shared by every key (see InlineValueCell). */
  private readonly shared: InlineValueCell<T>;
  /** This handle's cell, shared by every key's table. */
  get cell(): InlineValueCell<T> {
    return this.shared;
  }

  constructor(
    private readonly backend: InlineValueHost<K>,
    private readonly namespace: string,
    private readonly tag: StateTag<ValueState<T>>,
    private readonly slot: 0 | 1,
  ) {
    this.shared = new InlineValueCell(tag.spec.kind === 'value' ? (tag.spec.coder as Coder<T>) : neverCoder(), slot);
    this.shared.signature = tag.signature;
  }

  read(): T | null {
    const entry = this.backend.current ?? this.backend.currentEntry();
    const v = this.slot === 0 ? entry.value0 : entry.value1;
    if (v !== undefined) return v as T;
    if ((this.slot === 0 ? entry.slot0 : entry.slot1) !== undefined) return null;
    if (this.adopt(entry, false) === undefined) return null;
    return ((this.slot === 0 ? entry.value0 : entry.value1) as T | undefined) ?? null;
  }

  write(value: T): void {
    if (value !== null && value !== undefined) this.shared.check(value);
    const entry = this.backend.current ?? this.backend.currentEntry();
    if ((this.slot === 0 ? entry.slot0 : entry.slot1) === undefined) this.adopt(entry, true);
    this.set(entry, value === null ? undefined : value);
  }

  private set(entry: KeyEntry<K>, stored: unknown): void {
    if (!entry.dirty) this.backend.markDirty(entry);
    const journal = this.backend.journal;
    if (this.slot === 0) {
      if (journal !== undefined) {
        const previous = entry.value0;
        journal.push(() => {
          entry.value0 = previous;
        });
      }
      entry.value0 = stored;
    } else {
      if (journal !== undefined) {
        const previous = entry.value1;
        journal.push(() => {
          entry.value1 = previous;
        });
      }
      entry.value1 = stored;
    }
  }

  clear(): void {
    const entry = this.backend.current ?? this.backend.currentEntry();
    if (
      (this.slot === 0 ? entry.value0 : entry.value1) === undefined &&
      this.adopt(entry, false)?.isEmpty(entry) !== false
    )
      return;
    this.set(entry, undefined);
  }

  readLater(): ValueState<T> {
    return this;
  }

  /** Handles of one backend, namespace and tag id are equal. */
  equals(other: unknown): boolean {
    return (
      other instanceof BoundValueState &&
      other.backend === this.backend &&
      other.namespace === this.namespace &&
      other.tag.columnKey === this.tag.columnKey
    );
  }

  /**
   * Makes the table's cell for this key an InlineValueCell in this slot, taking over the value of a
   * restored or ordinary cell; creates it when `create`. Returns undefined when there is none.
   */
  private adopt(entry: KeyEntry<K>, create: boolean): InlineValueCell<T> | undefined {
    const column = this.tag.columnKey;
    let existing = entry.table.get(this.namespace, column);
    if (existing instanceof InlineValueCell) {
      entry.setSlot(this.slot, existing);
      return existing as InlineValueCell<T>;
    }
    if (existing === undefined && !create) return undefined;
    if (existing instanceof RawCell)
      existing = materialize(existing, this.tag as StateTag<State>, this.namespace, undefined);
    const value = existing instanceof ValueCell ? (existing.value as T | null) : null;
    if (this.slot === 0) entry.value0 = value ?? undefined;
    else entry.value1 = value ?? undefined;
    if (existing !== undefined) existing.pruned = true;
    entry.table.put(this.namespace, column, this.shared);
    entry.setSlot(this.slot, this.shared);
    return this.shared;
  }
}

function neverCoder(): never {
  throw new TypeError('BoundValueState needs a value tag');
}
