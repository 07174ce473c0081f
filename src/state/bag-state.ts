import { Context, type ByteReader, type ByteWriter, type Coder } from '../../coders/index.ts';
import { deferredIsEmpty, type Cell, type CellSlot } from './cell.ts';
import { clearList, readList, type ListCell } from './list-cell.ts';
import { checkEncodable } from './encodable.ts';
import type { BagState, ReadableState } from './state.ts';

export class BagCell<T> implements Cell, ListCell<T> {
  readonly kind = 'bag';
  pruned = false;
  /** The declaring tag's signature, written with the cell so restore can check it. */
  signature = '';
  items: T[] = [];
  shared = false;
  constructor(private readonly coder: Coder<T>) {}
  isEmpty(): boolean {
    return this.items.length === 0;
  }
  writable(): T[] {
    if (this.shared) {
      this.items = this.items.slice();
      this.shared = false;
    }
    return this.items;
  }
  /** Throws StateValueNotEncodableError when `value` does not encode (see checkEncodable). */
  check(value: T): void {
    checkEncodable(this.coder, value, Context.NESTED, 'BagState element');
  }
  encode(writer: ByteWriter): void {
    writer.writeVarLong(this.items.length);
    for (const item of this.items) this.coder.encode(item, writer, Context.NESTED);
  }
  static decode<T>(coder: Coder<T>, reader: ByteReader): BagCell<T> {
    const cell = new BagCell(coder);
    const n = reader.readLength('bag size');
    for (let i = 0; i < n; i++) cell.items.push(coder.decode(reader, Context.NESTED));
    return cell;
  }
}

/**
 * Beam's BagState: values in insertion order. `read()` is a snapshot: later adds and clears do not
 * show in an iterable read earlier (copy-on-write, so reading costs O(1)).
 */
export class BagStateImpl<T> implements BagState<T> {
  constructor(private readonly slot: CellSlot<BagCell<T>>) {}
  add(value: T): void {
    const cell = this.slot.touch();
    cell.check(value);
    cell.writable().push(value);
    this.slot.journal()?.push(() => {
      cell.writable().pop();
    });
  }
  read(): Iterable<T> {
    return readList(this.slot.peek());
  }
  /** Deferred: reads whether the bag is empty at read(). */
  isEmpty(): ReadableState<boolean> {
    return deferredIsEmpty(this.slot);
  }
  clear(): void {
    clearList(this.slot);
  }
  readLater(): BagState<T> {
    return this;
  }
  /** Handles of one cell (same table or backend, key scope, namespace and tag id) are equal. */
  equals(other: unknown): boolean {
    return other instanceof BagStateImpl && this.slot.sameCell(other.slot);
  }
}
