import { Context, type ByteWriter, type Coder } from '../../coders/index.ts';
import { RawCell, type Cell, type Undo } from './cell.ts';
import type { KeyEntry } from './key-entry.ts';
import type { State, ValueState } from './state.ts';
import { materialize } from './state-binder.ts';
import type { StateTag } from './state-tag.ts';
import { ValueCell } from './value-state.ts';

/** Slots whose ValueState values live in the key entry itself (KeyEntry.value0/value1). */
export const INLINE_VALUE_SLOTS = 2;

/**
 * A ValueState cell whose value is stored in a field of its key entry, so the hot path reads it
 * without reaching a separate cell object (one cache miss less per message with many keys). Other
 * paths (capture, stateInternalsForKey) see an ordinary cell through the accessors.
 */
export class InlineValueCell<T> implements Cell {
  readonly kind = 'value';
  pruned = false;
  signature = '';
  constructor(
    private readonly coder: Coder<T>,
    private readonly entry: KeyEntry<unknown>,
    private readonly slot: 0 | 1,
  ) {}
  get value(): T | null {
    const v = this.slot === 0 ? this.entry.value0 : this.entry.value1;
    return v === undefined ? null : (v as T);
  }
  set value(v: T | null) {
    const stored = v === null ? undefined : v;
    if (this.slot === 0) this.entry.value0 = stored;
    else this.entry.value1 = stored;
  }
  isEmpty(): boolean {
    return (this.slot === 0 ? this.entry.value0 : this.entry.value1) === undefined;
  }
  encode(writer: ByteWriter): void {
    this.coder.encode(this.value as T, writer, Context.OUTER);
  }
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
  constructor(
    private readonly backend: InlineValueHost<K>,
    private readonly namespace: string,
    private readonly tag: StateTag<ValueState<T>>,
    private readonly slot: 0 | 1,
  ) {}

  read(): T | null {
    const entry = this.backend.current ?? this.backend.currentEntry();
    const v = this.slot === 0 ? entry.value0 : entry.value1;
    if (v !== undefined) return v as T;
    if ((this.slot === 0 ? entry.slot0 : entry.slot1) !== undefined) return null;
    return this.adopt(entry, false)?.value ?? null;
  }

  write(value: T): void {
    const entry = this.backend.current ?? this.backend.currentEntry();
    if ((this.slot === 0 ? entry.slot0 : entry.slot1) === undefined) this.adopt(entry, true);
    this.set(entry, value === null ? undefined : value);
  }

  private set(entry: KeyEntry<K>, stored: unknown): void {
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
    if (!entry.dirty) this.backend.markDirty(entry);
  }

  clear(): void {
    const entry = this.backend.current ?? this.backend.currentEntry();
    if ((this.slot === 0 ? entry.value0 : entry.value1) === undefined && this.adopt(entry, false)?.isEmpty() !== false) return;
    this.set(entry, undefined);
  }

  readLater(): ValueState<T> {
    return this;
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
    if (existing instanceof RawCell) existing = materialize(existing, this.tag as StateTag<State>, this.namespace, undefined);
    const cell = new InlineValueCell(this.tag.spec.kind === 'value' ? (this.tag.spec.coder as Coder<T>) : neverCoder(), entry as KeyEntry<unknown>, this.slot);
    cell.signature = this.tag.signature;
    cell.value = existing instanceof ValueCell ? (existing.value as T | null) : null;
    if (existing !== undefined) existing.pruned = true;
    entry.table.put(this.namespace, column, cell);
    entry.setSlot(this.slot, cell);
    return cell;
  }
}

function neverCoder(): never {
  throw new TypeError('BoundValueState needs a value tag');
}
