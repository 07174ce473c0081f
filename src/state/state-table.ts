import type { TableEntry } from './cell.ts';

/** Cells held in the flat array before switching to Maps. Most keys have a handful of cells. */
const FLAT_LIMIT = 8;

/**
 * The state of one key: a two-level table, namespace (row, by stringKey) × tag (column, by
 * columnKey) → cell, as Beam's StateTable. Cells are created on first write and dropped by
 * `prune()` once empty.
 *
 * Representation: the first cell sits in three fields of the table itself (most keys have one cell:
 * no array at all, so a million keys cost two objects fewer each, in memory and in GC marking);
 * the next ones, up to FLAT_LIMIT in all, in one flat array of (namespace, column, cell) triples,
 * scanned linearly (the strings are usually the same objects, so comparisons are pointer checks);
 * beyond that, a Map of rows of Maps holding every cell. Invariant: `cell0` is undefined only when
 * the table is empty or in Map mode.
 */
export class StateTable {
  private ns0: string | undefined = undefined;
  private col0: string | undefined = undefined;
  private cell0: TableEntry | undefined = undefined;
  private flat: (string | TableEntry)[] | undefined = undefined;
  private rows: Map<string, Map<string, TableEntry>> | undefined = undefined;

  get(namespace: string, column: string): TableEntry | undefined {
    const cell0 = this.cell0;
    if (cell0 !== undefined) {
      if (this.col0 === column && this.ns0 === namespace) return cell0;
      const flat = this.flat;
      if (flat !== undefined) {
        for (let i = 0; i < flat.length; i += 3) {
          if (flat[i + 1] === column && flat[i] === namespace) return flat[i + 2] as TableEntry;
        }
      }
      return undefined;
    }
    return this.rows?.get(namespace)?.get(column);
  }

  put(namespace: string, column: string, entry: TableEntry): void {
    if (this.rows !== undefined) {
      this.putRow(namespace, column, entry);
      return;
    }
    if (this.cell0 === undefined) {
      this.ns0 = namespace;
      this.col0 = column;
      this.cell0 = entry;
      return;
    }
    if (this.col0 === column && this.ns0 === namespace) {
      this.cell0 = entry;
      return;
    }
    const flat = this.flat;
    if (flat === undefined) {
      // An exact-size literal: push() on [] would allocate room for 17 elements.
      this.flat = [namespace, column, entry];
      return;
    }
    for (let i = 0; i < flat.length; i += 3) {
      if (flat[i + 1] === column && flat[i] === namespace) {
        flat[i + 2] = entry;
        return;
      }
    }
    if (flat.length < (FLAT_LIMIT - 1) * 3) {
      flat.push(namespace, column, entry);
      return;
    }
    this.rows = new Map();
    this.putRow(this.ns0!, this.col0!, this.cell0);
    for (let i = 0; i < flat.length; i += 3)
      this.putRow(flat[i] as string, flat[i + 1] as string, flat[i + 2] as TableEntry);
    this.ns0 = this.col0 = this.cell0 = this.flat = undefined;
    this.putRow(namespace, column, entry);
  }

  private putRow(namespace: string, column: string, entry: TableEntry): void {
    const rows = this.rows!;
    let row = rows.get(namespace);
    if (row === undefined) {
      row = new Map();
      rows.set(namespace, row);
    }
    row.set(column, entry);
  }

  /** Calls `f` for every (namespace, column, entry), in creation order (rows grouped once in Map mode). */
  forEach(f: (namespace: string, column: string, entry: TableEntry) => void): void {
    const cell0 = this.cell0;
    if (cell0 !== undefined) {
      f(this.ns0!, this.col0!, cell0);
      const flat = this.flat;
      if (flat !== undefined)
        for (let i = 0; i < flat.length; i += 3) f(flat[i] as string, flat[i + 1] as string, flat[i + 2] as TableEntry);
      return;
    }
    if (this.rows === undefined) return;
    for (const [namespace, row] of this.rows) for (const [column, entry] of row) f(namespace, column, entry);
  }

  /** The table's one entry when it holds exactly one, else undefined. */
  soleEntry(): TableEntry | undefined {
    return this.flat === undefined ? this.cell0 : undefined;
  }

  /** The namespace of the sole entry (see soleEntry), else undefined. */
  soleNamespace(): string | undefined {
    return this.flat === undefined ? this.ns0 : undefined;
  }

  /** The column of the sole entry (see soleEntry), else undefined. */
  soleColumn(): string | undefined {
    return this.flat === undefined ? this.col0 : undefined;
  }

  /** Every (namespace, column, entry). */
  entries(): [string, string, TableEntry][] {
    const out: [string, string, TableEntry][] = [];
    this.forEach((ns, col, entry) => out.push([ns, col, entry]));
    return out;
  }

  /** True when no cell holds anything. */
  isEmpty(): boolean {
    const cell0 = this.cell0;
    if (cell0 !== undefined) {
      if (!cell0.isEmpty(this)) return false;
      const flat = this.flat;
      if (flat !== undefined)
        for (let i = 2; i < flat.length; i += 3) if (!(flat[i] as TableEntry).isEmpty(this)) return false;
      return true;
    }
    if (this.rows === undefined) return true;
    for (const row of this.rows.values()) for (const entry of row.values()) if (!entry.isEmpty(this)) return false;
    return true;
  }

  /** Drops empty cells (marking them pruned) and empty rows; true when a cell was dropped. */
  prune(): boolean {
    // One cell, the common case, without the closure below (a capture prunes every key it takes).
    const cell0 = this.cell0;
    if (cell0 !== undefined && this.flat === undefined) {
      if (!cell0.isEmpty(this)) return false;
      cell0.pruned = true;
      this.ns0 = this.col0 = this.cell0 = undefined;
      return true;
    }
    return this.pruneMany();
  }

  /** prune() of a table with more than one cell, or none. */
  private pruneMany(): boolean {
    const cell0 = this.cell0;
    if (cell0 !== undefined) {
      const flat = this.flat;
      // Keep the live cells in order: the first moves into the fields, the rest stay flat.
      const live: (string | TableEntry)[] = [];
      let dropped = false;
      const keep = (ns: string, col: string, entry: TableEntry): void => {
        if (entry.isEmpty(this)) {
          entry.pruned = true;
          dropped = true;
        } else {
          live.push(ns, col, entry);
        }
      };
      keep(this.ns0!, this.col0!, cell0);
      if (flat !== undefined)
        for (let i = 0; i < flat.length; i += 3)
          keep(flat[i] as string, flat[i + 1] as string, flat[i + 2] as TableEntry);
      if (!dropped) return false;
      if (live.length === 0) {
        this.ns0 = this.col0 = this.cell0 = this.flat = undefined;
        return true;
      }
      this.ns0 = live[0] as string;
      this.col0 = live[1] as string;
      this.cell0 = live[2] as TableEntry;
      this.flat = live.length > 3 ? live.slice(3) : undefined;
      return true;
    }
    if (this.rows === undefined) return false;
    let dropped = false;
    for (const [namespace, row] of this.rows) {
      for (const [column, entry] of row) {
        if (entry.isEmpty(this)) {
          entry.pruned = true;
          row.delete(column);
          dropped = true;
        }
      }
      if (row.size === 0) this.rows.delete(namespace);
    }
    return dropped;
  }
}
