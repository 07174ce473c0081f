import type { TableEntry } from './cell.ts';

/** Cells held in the flat array before switching to Maps. Most keys have a handful of cells. */
const FLAT_LIMIT = 8;

/**
 * The state of one key: a two-level table, namespace (row, by stringKey) × tag (column, by
 * columnKey) → cell, as Beam's StateTable. Cells are created on first write and dropped by
 * `prune()` once empty.
 *
 * Representation: up to FLAT_LIMIT cells sit in one flat array of (namespace, column, cell)
 * triples, scanned linearly (the strings are usually the same objects, so comparisons are pointer
 * checks); beyond that, a Map of rows of Maps. A key with one cell then costs two small objects
 * instead of four Maps, which is what makes 100k keys fit in cache-friendly memory.
 */
export class StateTable {
  private flat: (string | TableEntry)[] | undefined = undefined;
  private rows: Map<string, Map<string, TableEntry>> | undefined = undefined;

  get(namespace: string, column: string): TableEntry | undefined {
    const flat = this.flat;
    if (flat !== undefined) {
      for (let i = 0; i < flat.length; i += 3) {
        if (flat[i + 1] === column && flat[i] === namespace) return flat[i + 2] as TableEntry;
      }
      return undefined;
    }
    return this.rows?.get(namespace)?.get(column);
  }

  put(namespace: string, column: string, entry: TableEntry): void {
    if (this.rows === undefined) {
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
      if (flat.length < FLAT_LIMIT * 3) {
        flat.push(namespace, column, entry);
        return;
      }
      this.rows = new Map();
      for (let i = 0; i < flat.length; i += 3) this.putRow(flat[i] as string, flat[i + 1] as string, flat[i + 2] as TableEntry);
      this.flat = undefined;
    }
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
    const flat = this.flat;
    if (flat !== undefined) {
      for (let i = 0; i < flat.length; i += 3) f(flat[i] as string, flat[i + 1] as string, flat[i + 2] as TableEntry);
      return;
    }
    if (this.rows === undefined) return;
    for (const [namespace, row] of this.rows) for (const [column, entry] of row) f(namespace, column, entry);
  }

  /** Every (namespace, column, entry). */
  entries(): [string, string, TableEntry][] {
    const out: [string, string, TableEntry][] = [];
    this.forEach((ns, col, entry) => out.push([ns, col, entry]));
    return out;
  }

  /** True when no cell holds anything. */
  isEmpty(): boolean {
    const flat = this.flat;
    if (flat !== undefined) {
      for (let i = 2; i < flat.length; i += 3) if (!(flat[i] as TableEntry).isEmpty()) return false;
      return true;
    }
    if (this.rows === undefined) return true;
    for (const row of this.rows.values()) for (const entry of row.values()) if (!entry.isEmpty()) return false;
    return true;
  }

  /** Drops empty cells (marking them pruned) and empty rows; true when a cell was dropped. */
  prune(): boolean {
    let dropped = false;
    const flat = this.flat;
    if (flat !== undefined) {
      let j = 0;
      for (let i = 0; i < flat.length; i += 3) {
        const entry = flat[i + 2] as TableEntry;
        if (entry.isEmpty()) {
          entry.pruned = true;
          dropped = true;
          continue;
        }
        if (j !== i) {
          flat[j] = flat[i]!;
          flat[j + 1] = flat[i + 1]!;
          flat[j + 2] = entry;
        }
        j += 3;
      }
      flat.length = j;
      return dropped;
    }
    if (this.rows === undefined) return false;
    for (const [namespace, row] of this.rows) {
      for (const [column, entry] of row) {
        if (entry.isEmpty()) {
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
