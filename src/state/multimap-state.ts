import { Context, type ByteReader, type ByteWriter, type Coder } from '../../coders/index.ts';
import { immediate, iterableOf, type Cell, type CellSlot } from './cell.ts';
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

/**
 * Beam's MultimapState: a key maps to the values put under it, in insertion order, duplicates kept.
 * Reads are snapshots taken at the call; keys() lists each key once, in first-put order; entries()
 * lists (key, value) for every value, grouped by key.
 */
export class MultimapStateImpl<K, V> implements MultimapState<K, V> {
  constructor(
    private readonly slot: CellSlot<MultimapCell<K, V>>,
    private readonly keyCoder: Coder<K>,
  ) {}
  put(key: K, value: V): void {
    const sk = this.keyCoder.structuralValue(key);
    const cell = this.slot.touch();
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
    const group = this.slot.peek()?.groups.get(this.keyCoder.structuralValue(key));
    return immediate(group === undefined ? [] : group.values.slice());
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
    return immediate(this.slot.peek()?.groups.has(this.keyCoder.structuralValue(key)) ?? false);
  }
  private snapshot(): Map<unknown, Group<K, V>> | undefined {
    const cell = this.slot.peek();
    if (cell === undefined || cell.groups.size === 0) return undefined;
    cell.shared = true;
    return cell.groups;
  }
  keys(): ReadableState<Iterable<K>> {
    const groups = this.snapshot();
    if (groups === undefined) return immediate([]);
    return immediate(
      iterableOf(function* () {
        for (const g of groups.values()) yield g.key;
      }),
    );
  }
  entries(): ReadableState<Iterable<[K, V]>> {
    const groups = this.snapshot();
    if (groups === undefined) return immediate([]);
    return immediate(
      iterableOf(function* (): Generator<[K, V]> {
        for (const g of groups.values()) for (const v of g.values) yield [g.key, v];
      }),
    );
  }
  isEmpty(): ReadableState<boolean> {
    return immediate(this.slot.peek()?.isEmpty() ?? true);
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
