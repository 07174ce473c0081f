import { Context, type ByteReader, type ByteWriter, type Coder } from '../../coders/index.ts';
import { deferredIsEmpty, immediate, iterableOf, type Cell, type CellSlot } from './cell.ts';
import { checkEncodable } from './encodable.ts';
import type { ReadableState, SetState } from './state.ts';

export class SetCell<T> implements Cell {
  readonly kind = 'set';
  pruned = false;
  /** The declaring tag's signature, written with the cell so restore can check it. */
  signature = '';
  /** structural value → element (the first added of equal elements). */
  elements = new Map<unknown, T>();
  shared = false;
  constructor(readonly coder: Coder<T>) {}
  isEmpty(): boolean {
    return this.elements.size === 0;
  }
  writable(): Map<unknown, T> {
    if (this.shared) {
      this.elements = new Map(this.elements);
      this.shared = false;
    }
    return this.elements;
  }
  /** Throws StateValueNotEncodableError when `value` does not encode (see checkEncodable). */
  check(value: T): void {
    checkEncodable(this.coder, value, Context.NESTED, 'SetState element');
  }
  encode(writer: ByteWriter): void {
    writer.writeVarLong(this.elements.size);
    for (const value of this.elements.values()) this.coder.encode(value, writer, Context.NESTED);
  }
  static decode<T>(coder: Coder<T>, reader: ByteReader): SetCell<T> {
    const cell = new SetCell(coder);
    const n = reader.readLength('set size');
    for (let i = 0; i < n; i++) {
      const value = coder.decode(reader, Context.NESTED);
      cell.elements.set(coder.structuralValue(value), value);
    }
    return cell;
  }
}

/**
 * Beam's SetState. Elements are equal when their coder's structural values are (for objects: equal
 * encodings), so two equal objects are one element. `read()` is a snapshot in insertion order.
 * `addIfAbsent` reads true when the element was absent (and is now added), as Beam's javadoc says.
 */
export class SetStateImpl<T> implements SetState<T> {
  constructor(
    private readonly slot: CellSlot<SetCell<T>>,
    private readonly coder: Coder<T>,
  ) {}
  add(value: T): void {
    const key = this.coder.structuralValue(value);
    const cell = this.slot.peek();
    if (cell !== undefined && cell.elements.has(key)) return;
    this.put(key, value);
  }
  private put(key: unknown, value: T): void {
    const cell = this.slot.touch();
    cell.check(value);
    cell.writable().set(key, value);
    this.slot.journal()?.push(() => {
      cell.writable().delete(key);
    });
  }
  /** Answers at the call, as Beam (a later add does not show in it). */
  contains(value: T): ReadableState<boolean> {
    return immediate(this.slot.peek()?.elements.has(this.coder.structuralValue(value)) ?? false);
  }
  addIfAbsent(value: T): ReadableState<boolean> {
    const key = this.coder.structuralValue(value);
    if (this.slot.peek()?.elements.has(key) === true) return immediate(false);
    this.put(key, value);
    return immediate(true);
  }
  remove(value: T): void {
    const key = this.coder.structuralValue(value);
    if (this.slot.peek()?.elements.has(key) !== true) return;
    const cell = this.slot.touch();
    const previous = cell.elements.get(key)!;
    cell.writable().delete(key);
    // Undone elements come back at the end of the iteration order.
    this.slot.journal()?.push(() => {
      cell.writable().set(key, previous);
    });
  }
  read(): Iterable<T> {
    const cell = this.slot.peek();
    if (cell === undefined || cell.elements.size === 0) return [];
    cell.shared = true;
    const elements = cell.elements;
    return iterableOf(() => elements.values());
  }
  /** Deferred: reads whether the set is empty at read(). */
  isEmpty(): ReadableState<boolean> {
    return deferredIsEmpty(this.slot);
  }
  clear(): void {
    if (this.slot.peek()?.isEmpty() === false) {
      const cell = this.slot.touch();
      const previous = cell.elements;
      this.slot.journal()?.push(() => {
        cell.elements = previous;
        cell.shared = true;
      });
      cell.elements = new Map();
      cell.shared = false;
    }
  }
  readLater(): SetState<T> {
    return this;
  }
  /** Handles of one cell (same table or backend, key scope, namespace and tag id) are equal. */
  equals(other: unknown): boolean {
    return other instanceof SetStateImpl && this.slot.sameCell(other.slot);
  }
}
