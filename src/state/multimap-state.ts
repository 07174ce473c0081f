import { Context, type ByteReader, type ByteWriter, type Coder } from '../../coders/index.ts';
import { DeferredRead, deferredIsEmpty, iterableOf, type Cell, type CellSlot } from './cell.ts';
import { checkEncodable } from './encodable.ts';
import type { MultimapState, ReadableState } from './state.ts';

interface Group<K, V> {
  readonly key: K;
  values: V[];
}

export class MultimapCell<K, V> implements Cell {
  readonly kind = 'multimap';
  pruned = false;
  /** The declaring tag's signature, written with the cell so restore can check it. */
  signature = '';
  /** structural value of the key → the key and its values in insertion order (never empty). */
  groups = new Map<unknown, Group<K, V>>();
  shared = false;
  constructor(
    private readonly keyCoder: Coder<K>,
    private readonly valueCoder: Coder<V>,
  ) {}
  isEmpty(): boolean {
    return this.groups.size === 0;
  }
  /** The groups map, copied with its value arrays when a snapshot of them was handed out. */
  writable(): Map<unknown, Group<K, V>> {
    if (this.shared) {
      const copy = new Map<unknown, Group<K, V>>();
      for (const [sk, g] of this.groups) copy.set(sk, { key: g.key, values: g.values.slice() });
      this.groups = copy;
      this.shared = false;
    }
    return this.groups;
  }
  /** Throws StateValueNotEncodableError when the key or the value does not encode (see checkEncodable). */
  check(key: K, value: V): void {
    checkEncodable(this.keyCoder, key, Context.NESTED, 'MultimapState key');
    checkEncodable(this.valueCoder, value, Context.NESTED, 'MultimapState value');
  }
  encode(writer: ByteWriter): void {
    writer.writeVarLong(this.groups.size);
    for (const g of this.groups.values()) {
      this.keyCoder.encode(g.key, writer, Context.NESTED);
      writer.writeVarLong(g.values.length);
      for (const v of g.values) this.valueCoder.encode(v, writer, Context.NESTED);
    }
  }
  static decode<K, V>(keyCoder: Coder<K>, valueCoder: Coder<V>, reader: ByteReader): MultimapCell<K, V> {
    const cell = new MultimapCell(keyCoder, valueCoder);
    const n = reader.readLength('multimap size');
    for (let i = 0; i < n; i++) {
      const key = keyCoder.decode(reader, Context.NESTED);
      const m = reader.readLength('multimap values');
      const values: V[] = [];
      for (let j = 0; j < m; j++) values.push(valueCoder.decode(reader, Context.NESTED));
      cell.groups.set(keyCoder.structuralValue(key), { key, values });
    }
    return cell;
  }
}

function readGroup<K, V>(cell: MultimapCell<K, V> | undefined, sk: unknown): Iterable<V> {
  const group = cell?.groups.get(sk);
  return group === undefined ? [] : group.values.slice();
}

function readContainsKey<K, V>(cell: MultimapCell<K, V> | undefined, sk: unknown): boolean {
  return cell?.groups.has(sk) ?? false;
}

/** The cell's groups as they are now; later changes copy them first (copy-on-write). */
function snapshotOf<K, V>(cell: MultimapCell<K, V> | undefined): Map<unknown, Group<K, V>> | undefined {
  if (cell === undefined || cell.groups.size === 0) return undefined;
  cell.shared = true;
  return cell.groups;
}

function readKeys<K, V>(cell: MultimapCell<K, V> | undefined): Iterable<K> {
  const groups = snapshotOf(cell);
  if (groups === undefined) return [];
  return iterableOf(function* () {
    for (const g of groups.values()) yield g.key;
  });
}

function readEntries<K, V>(cell: MultimapCell<K, V> | undefined): Iterable<[K, V]> {
  const groups = snapshotOf(cell);
  if (groups === undefined) return [];
  return iterableOf(function* (): Generator<[K, V]> {
    for (const g of groups.values()) for (const v of g.values) yield [g.key, v];
  });
}

/**
 * Beam's MultimapState: a key maps to the values put under it, in insertion order, duplicates kept.
 * Every ReadableState is deferred (read at read(), as Beam's); the iterable a read returns is a
 * snapshot. keys() lists each key once, in first-put order; entries() lists (key, value) for every
 * value, grouped by key.
 */
export class MultimapStateImpl<K, V> implements MultimapState<K, V> {
  constructor(
    private readonly slot: CellSlot<MultimapCell<K, V>>,
    private readonly keyCoder: Coder<K>,
  ) {}
  put(key: K, value: V): void {
    const sk = this.keyCoder.structuralValue(key);
    const cell = this.slot.touch();
    cell.check(key, value);
    const groups = cell.writable();
    const group = groups.get(sk);
    if (group === undefined) groups.set(sk, { key, values: [value] });
    else group.values.push(value);
    this.slot.journal()?.push(() => {
      const now = cell.writable();
      if (group === undefined) now.delete(sk);
      else now.get(sk)!.values.pop();
    });
  }
  get(key: K): ReadableState<Iterable<V>> {
    return new DeferredRead(this.slot, readGroup<K, V>, this.keyCoder.structuralValue(key), undefined);
  }
  remove(key: K): void {
    const sk = this.keyCoder.structuralValue(key);
    if (this.slot.peek()?.groups.has(sk) !== true) return;
    const cell = this.slot.touch();
    const previous = cell.groups.get(sk)!;
    const journal = this.slot.journal();
    // A copy: the removed group may still be seen by an earlier snapshot.
    if (journal !== undefined) {
      const values = previous.values.slice();
      journal.push(() => {
        cell.writable().set(sk, { key: previous.key, values });
      });
    }
    cell.writable().delete(sk);
  }
  containsKey(key: K): ReadableState<boolean> {
    return new DeferredRead(this.slot, readContainsKey<K, V>, this.keyCoder.structuralValue(key), undefined);
  }
  keys(): ReadableState<Iterable<K>> {
    return new DeferredRead(this.slot, readKeys<K, V>, undefined, undefined);
  }
  entries(): ReadableState<Iterable<[K, V]>> {
    return new DeferredRead(this.slot, readEntries<K, V>, undefined, undefined);
  }
  isEmpty(): ReadableState<boolean> {
    return deferredIsEmpty(this.slot);
  }
  /** Handles of one cell (same table or backend, key scope, namespace and tag id) are equal. */
  equals(other: unknown): boolean {
    return other instanceof MultimapStateImpl && this.slot.sameCell(other.slot);
  }
  clear(): void {
    if (this.slot.peek()?.isEmpty() === false) {
      const cell = this.slot.touch();
      const previous = cell.groups;
      this.slot.journal()?.push(() => {
        cell.groups = previous;
        cell.shared = true;
      });
      cell.groups = new Map();
      cell.shared = false;
    }
  }
}
