import type { TableEntry } from './cell.ts';

/**
 * The state of one key: a two-level table, namespace (row, by stringKey) × tag (column, by
 * columnKey) → cell, as Beam's StateTable. Rows and cells are created on first write and dropped by
 * `prune()` once empty.
 */
export class StateTable {
  private readonly rows = new Map<string, Map<string, TableEntry>>();

  get(namespace: string, column: string): TableEntry | undefined {
    return this.rows.get(namespace)?.get(column);
  }

  put(namespace: string, column: string, entry: TableEntry): void {
    let row = this.rows.get(namespace);
    if (row === undefined) {
      row = new Map();
      this.rows.set(namespace, row);
    }
    row.set(column, entry);
  }

  /** The rows themselves, for single-pass loops on the capture path (read-only use). */
  rowMap(): ReadonlyMap<string, ReadonlyMap<string, TableEntry>> {
    return this.rows;
  }

  /** Every (namespace, column, entry), rows in creation order. */
  *entries(): Generator<[string, string, TableEntry]> {
    for (const [namespace, row] of this.rows) for (const [column, entry] of row) yield [namespace, column, entry];
  }

  /** The namespaces that have cells. */
  namespaces(): Iterable<string> {
    return this.rows.keys();
  }

  /** True when no cell holds anything. */
  isEmpty(): boolean {
    for (const row of this.rows.values()) for (const entry of row.values()) if (!entry.isEmpty()) return false;
    return true;
  }

  /** Drops empty cells (marking them pruned) and empty rows; true when a cell was dropped. */
  prune(): boolean {
    let dropped = false;
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
