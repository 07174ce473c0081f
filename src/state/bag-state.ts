import { Context, type ByteReader, type ByteWriter, type Coder } from '../../coders/index.ts';
import { immediate, iterableOf, type Cell, type CellSlot } from './cell.ts';
import type { BagState, ReadableState } from './state.ts';

export class BagCell<T> implements Cell {
  readonly kind = 'bag';
  pruned = false;
  /** The declaring tag's signature, written with the cell so restore can check it. */
  signature = '';
  items: T[] = [];
  /** A read() handed out a view of `items`: copy before the next mutation (copy-on-write). */
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
    cell.writable().push(value);
    this.slot.journal()?.push(() => {
      cell.writable().pop();
    });
  }
  read(): Iterable<T> {
    const cell = this.slot.peek();
    if (cell === undefined || cell.items.length === 0) return [];
    cell.shared = true;
    const items = cell.items;
    return iterableOf(() => items.values());
  }
  isEmpty(): ReadableState<boolean> {
    return immediate(this.slot.peek()?.isEmpty() ?? true);
  }
  clear(): void {
    if (this.slot.peek()?.isEmpty() === false) {
      const cell = this.slot.touch();
      const previous = cell.items;
      this.slot.journal()?.push(() => {
        cell.items = previous;
        cell.shared = true;
      });
      cell.items = [];
      cell.shared = false;
    }
  }
  readLater(): BagState<T> {
    return this;
  }
}
