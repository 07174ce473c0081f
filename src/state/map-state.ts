import { Context, type ByteReader, type ByteWriter, type Coder } from '../../coders/index.ts';
import { immediate, iterableOf, mapIterator, type Cell, type CellSlot } from './cell.ts';
import type { MapState, ReadableState } from './state.ts';

export class MapCell<K, V> implements Cell {
  readonly kind = 'map';
  pruned = false;
  /** The declaring tag's signature, written with the cell so restore can check it. */
  signature = '';
  /** structural value of the key → [key, value]. */
  entries = new Map<unknown, readonly [K, V]>();
  shared = false;
  constructor(
    private readonly keyCoder: Coder<K>,
    private readonly valueCoder: Coder<V>,
  ) {}
  isEmpty(): boolean {
    return this.entries.size === 0;
  }
  writable(): Map<unknown, readonly [K, V]> {
    if (this.shared) {
      this.entries = new Map(this.entries);
      this.shared = false;
    }
    return this.entries;
  }
  encode(writer: ByteWriter): void {
    writer.writeVarLong(this.entries.size);
    for (const [k, v] of this.entries.values()) {
      this.keyCoder.encode(k, writer, Context.NESTED);
      this.valueCoder.encode(v, writer, Context.NESTED);
    }
  }
  static decode<K, V>(keyCoder: Coder<K>, valueCoder: Coder<V>, reader: ByteReader): MapCell<K, V> {
    const cell = new MapCell(keyCoder, valueCoder);
    const n = reader.readLength('map size');
    for (let i = 0; i < n; i++) {
      const k = keyCoder.decode(reader, Context.NESTED);
      const v = valueCoder.decode(reader, Context.NESTED);
      cell.entries.set(keyCoder.structuralValue(k), [k, v]);
    }
    return cell;
  }
}

/**
 * Beam's MapState. Keys are equal when their coder's structural values are. Every ReadableState
 * returned holds the value at the time of the call (Beam's in-memory runner; the portable harness
 * defers the lookup to read()). `putIfAbsent` and `computeIfAbsent` read the value that was present
 * BEFORE the call, null when there was none (Beam's MapState javadoc; Java's Map.computeIfAbsent
 * returns the new value instead). keys()/values()/entries() are snapshots in insertion order; a
 * put on an existing key keeps its position.
 */
export class MapStateImpl<K, V> implements MapState<K, V> {
  constructor(
    private readonly slot: CellSlot<MapCell<K, V>>,
    private readonly keyCoder: Coder<K>,
  ) {}
  put(key: K, value: V): void {
    this.set(this.keyCoder.structuralValue(key), [key, value]);
  }
  private set(sk: unknown, entry: readonly [K, V]): void {
    const cell = this.slot.touch();
    const journal = this.slot.journal();
    if (journal !== undefined) {
      const previous = cell.entries.get(sk);
      journal.push(() => {
        if (previous === undefined) cell.writable().delete(sk);
        else cell.writable().set(sk, previous);
      });
    }
    cell.writable().set(sk, entry);
  }
  putIfAbsent(key: K, value: V): ReadableState<V | null> {
    const sk = this.keyCoder.structuralValue(key);
    const existing = this.slot.peek()?.entries.get(sk);
    if (existing !== undefined) return immediate(existing[1]);
    this.set(sk, [key, value]);
    return immediate(null);
  }
  computeIfAbsent(key: K, mapping: (key: K) => V): ReadableState<V | null> {
    const sk = this.keyCoder.structuralValue(key);
    const existing = this.slot.peek()?.entries.get(sk);
    if (existing !== undefined) return immediate(existing[1]);
    const value = mapping(key);
    this.set(sk, [key, value]);
    return immediate(null);
  }
  remove(key: K): void {
    const sk = this.keyCoder.structuralValue(key);
    if (this.slot.peek()?.entries.has(sk) !== true) return;
    const cell = this.slot.touch();
    const previous = cell.entries.get(sk)!;
    cell.writable().delete(sk);
    // An undone removal puts the key back at the end of the iteration order.
    this.slot.journal()?.push(() => {
      cell.writable().set(sk, previous);
    });
  }
  get(key: K): ReadableState<V | null> {
    const entry = this.slot.peek()?.entries.get(this.keyCoder.structuralValue(key));
    return immediate(entry === undefined ? null : entry[1]);
  }
  getOrDefault(key: K, defaultValue: V | null): ReadableState<V | null> {
    const entry = this.slot.peek()?.entries.get(this.keyCoder.structuralValue(key));
    return immediate(entry === undefined ? defaultValue : entry[1]);
  }
  private snapshot(): Map<unknown, readonly [K, V]> | undefined {
    const cell = this.slot.peek();
    if (cell === undefined || cell.entries.size === 0) return undefined;
    cell.shared = true;
    return cell.entries;
  }
  keys(): ReadableState<Iterable<K>> {
    const entries = this.snapshot();
    if (entries === undefined) return immediate([]);
    return immediate(iterableOf(() => mapIterator(entries.values(), (e) => e[0])));
  }
  values(): ReadableState<Iterable<V>> {
    const entries = this.snapshot();
    if (entries === undefined) return immediate([]);
    return immediate(iterableOf(() => mapIterator(entries.values(), (e) => e[1])));
  }
  entries(): ReadableState<Iterable<[K, V]>> {
    const entries = this.snapshot();
    if (entries === undefined) return immediate([]);
    // Fresh tuples, so a caller mutating one cannot reach the cell.
    return immediate(iterableOf(() => mapIterator(entries.values(), (e): [K, V] => [e[0], e[1]])));
  }
  isEmpty(): ReadableState<boolean> {
    return immediate(this.slot.peek()?.isEmpty() ?? true);
  }
  clear(): void {
    if (this.slot.peek()?.isEmpty() === false) {
      const cell = this.slot.touch();
      const previous = cell.entries;
      this.slot.journal()?.push(() => {
        cell.entries = previous;
        cell.shared = true;
      });
      cell.entries = new Map();
      cell.shared = false;
    }
  }
}
