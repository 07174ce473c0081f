import { Context, type ByteReader, type ByteWriter, type Coder } from '../../coders/index.ts';
import { DeferredRead, deferredIsEmpty, immediate, iterableOf, mapIterator, type Cell, type CellSlot } from './cell.ts';
import { checkEncodable } from './encodable.ts';
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
  /** Throws StateValueNotEncodableError when the key or the value does not encode (see checkEncodable). */
  check(key: K, value: V): void {
    checkEncodable(this.keyCoder, key, Context.NESTED, 'MapState key');
    checkEncodable(this.valueCoder, value, Context.NESTED, 'MapState value');
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

/** MapState.get / getOrDefault at read(): the value under structural key `sk`, else `fallback`. */
function readGet<K, V>(cell: MapCell<K, V> | undefined, sk: unknown, fallback: V | null): V | null {
  const entry = cell?.entries.get(sk);
  return entry === undefined ? fallback : entry[1];
}

/** The cell's entries as they are now; later changes copy them first (copy-on-write). */
function snapshotOf<K, V>(cell: MapCell<K, V> | undefined): Map<unknown, readonly [K, V]> | undefined {
  if (cell === undefined || cell.entries.size === 0) return undefined;
  cell.shared = true;
  return cell.entries;
}

function readKeys<K, V>(cell: MapCell<K, V> | undefined): Iterable<K> {
  const entries = snapshotOf(cell);
  if (entries === undefined) return [];
  return iterableOf(() => mapIterator(entries.values(), (e) => e[0]));
}

function readValues<K, V>(cell: MapCell<K, V> | undefined): Iterable<V> {
  const entries = snapshotOf(cell);
  if (entries === undefined) return [];
  return iterableOf(() => mapIterator(entries.values(), (e) => e[1]));
}

function readEntries<K, V>(cell: MapCell<K, V> | undefined): Iterable<[K, V]> {
  const entries = snapshotOf(cell);
  if (entries === undefined) return [];
  // Fresh tuples, so a caller mutating one cannot reach the cell.
  return iterableOf(() => mapIterator(entries.values(), (e): [K, V] => [e[0], e[1]]));
}

/**
 * Beam's MapState. Keys are equal when their coder's structural values are. `get`, `getOrDefault`,
 * `keys`, `values`, `entries` and `isEmpty` are deferred, as Beam's: the lookup happens at read(),
 * so a result obtained before a put sees it. `putIfAbsent` and `computeIfAbsent` answer at the call
 * with the value that was present BEFORE it, null when there was none (Beam's MapState javadoc;
 * Java's Map.computeIfAbsent returns the new value instead). The iterable a read of keys()/values()/
 * entries() returns is a snapshot in insertion order (later changes do not show in it); a put on an
 * existing key keeps its position.
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
    cell.check(entry[0], entry[1]);
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
    return new DeferredRead(this.slot, readGet<K, V>, this.keyCoder.structuralValue(key), null);
  }
  getOrDefault(key: K, defaultValue: V | null): ReadableState<V | null> {
    return new DeferredRead(this.slot, readGet<K, V>, this.keyCoder.structuralValue(key), defaultValue);
  }
  keys(): ReadableState<Iterable<K>> {
    return new DeferredRead(this.slot, readKeys<K, V>, undefined, undefined);
  }
  values(): ReadableState<Iterable<V>> {
    return new DeferredRead(this.slot, readValues<K, V>, undefined, undefined);
  }
  entries(): ReadableState<Iterable<[K, V]>> {
    return new DeferredRead(this.slot, readEntries<K, V>, undefined, undefined);
  }
  isEmpty(): ReadableState<boolean> {
    return deferredIsEmpty(this.slot);
  }
  /** Handles of one cell (same table or backend, key scope, namespace and tag id) are equal. */
  equals(other: unknown): boolean {
    return other instanceof MapStateImpl && this.slot.sameCell(other.slot);
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
