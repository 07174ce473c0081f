// Room in an LMDB data file for the pages a write transaction can add, made before it runs.
//
// Why: when a page write of LMDB's commit fails (ENOSPC on a full disk), lmdb-js 3.5.6 formats its
// error message into a 100-byte heap buffer with a longer text (mdb.c, mdb_page_flush), corrupting
// the C heap: the process later aborts in free(). The store therefore never lets LMDB meet a full
// disk: while the file system has plenty of room beyond a transaction's bound, LMDB grows the file
// itself; once it has not, the store writes the zeros of the file's growth first, where ENOSPC is a
// plain error, and LMDB's page writes then land on blocks the file already holds. Pages past LMDB's
// last page are never read by it (its meta pages name the last page), so the zeros are inert.
import { closeSync, fstatSync, openSync, statfsSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** The B+tree statistics lmdb-js's getStats() returns for one database. */
export interface TreeStats {
  readonly pageSize: number;
  readonly treeDepth: number;
  readonly treeBranchPageCount: number;
  readonly treeLeafPageCount: number;
  readonly overflowPages: number;
}

/** What a transaction writes into the records tree. */
export interface TransactionWrites {
  /** Puts and removes. */
  readonly count: number;
  /** The largest key's length in bytes. */
  readonly maxKeyBytes: number;
  /** Bytes the puts add to leaf pages: key, value (or an overflow page number) and node headers. */
  readonly leafBytes: number;
  /** Overflow pages of values too large for a leaf node. */
  readonly overflowPages: number;
}

/** LMDB's node header (mdb.c NODESIZE) plus its slot in the page's index, rounded up. */
const NODE_OVERHEAD = 12;
/** LMDB's page header (PAGEHDRSZ). */
const PAGE_HEADER = 16;
/** Pages for what the bound does not itemize (the meta page's root changes, rounding). */
const SLACK_PAGES = 16;

/** Whether LMDB puts a value of this size on overflow pages instead of in the leaf (mdb.c me_nodemax). */
export function isOverflowValue(keyBytes: number, valueBytes: number, pageSize: number): boolean {
  const nodeMax = (((pageSize - PAGE_HEADER) / 2) & -2) - 2;
  return keyBytes + valueBytes + 8 > nodeMax;
}

/**
 * Tallies the writes `writes[from, to)` of a transaction for growthPages (a remove's value is
 * undefined).
 */
export function tallyWrites(
  writes: readonly { readonly key: Uint8Array; readonly value: Uint8Array | undefined }[],
  pageSize: number,
  from = 0,
  to = writes.length,
): TransactionWrites {
  let maxKeyBytes = 0;
  let leafBytes = 0;
  let overflowPages = 0;
  for (let i = from; i < to; i++) {
    const { key, value } = writes[i]!;
    if (key.length > maxKeyBytes) maxKeyBytes = key.length;
    if (value === undefined) continue;
    if (isOverflowValue(key.length, value.length, pageSize)) {
      leafBytes += key.length + 8 + NODE_OVERHEAD;
      overflowPages += Math.ceil((value.length + PAGE_HEADER) / pageSize);
    } else {
      leafBytes += key.length + value.length + NODE_OVERHEAD;
    }
  }
  return { count: Math.max(0, to - from), maxKeyBytes, leafBytes, overflowPages };
}

/** The writes of `a` and `b` in one transaction. */
export function sumWrites(a: TransactionWrites, b: TransactionWrites): TransactionWrites {
  return {
    count: a.count + b.count,
    maxKeyBytes: Math.max(a.maxKeyBytes, b.maxKeyBytes),
    leafBytes: a.leafBytes + b.leafBytes,
    overflowPages: a.overflowPages + b.overflowPages,
  };
}

/** All pages of a tree. */
export function treePages(tree: TreeStats): number {
  return tree.treeLeafPageCount + tree.treeBranchPageCount + tree.overflowPages;
}

/**
 * An upper bound of the pages one write transaction adds past LMDB's last page: every page it makes
 * dirty may be a new one. `records` is the records tree before the transaction; `otherTrees` is the
 * page count of every other tree it may change whole (the main and free trees, the small ones).
 *
 * Copy-on-write dirties a page at most once per transaction: at most one leaf per write (and no more
 * than the tree has), the branches above them, and the pages splits make. A split first halves a full
 * page, and each later one needs half a page of new bytes, so splits make at most one page per
 * touched leaf plus two per page of bytes added; the branch entries they add split branches likewise.
 * The freed pages' numbers go into the free tree, 8 bytes each.
 */
export function growthPages(writes: TransactionWrites, records: TreeStats, otherTrees: number): number {
  const pageSize = records.pageSize;
  const usable = pageSize - PAGE_HEADER;
  const touchedLeaves = Math.min(writes.count, records.treeLeafPageCount);
  const touchedBranches = Math.min(writes.count * Math.max(0, records.treeDepth - 1), records.treeBranchPageCount);
  const newLeaves = touchedLeaves + 1 + Math.ceil((2 * writes.leafBytes) / usable);
  const branchEntry = writes.maxKeyBytes + 8 + NODE_OVERHEAD;
  const newBranches = touchedBranches + Math.ceil((2 * newLeaves * branchEntry) / usable) + records.treeDepth + 1;
  const dirty = touchedLeaves + touchedBranches + newLeaves + newBranches + writes.overflowPages + otherTrees;
  const freeList = Math.ceil((8 * (dirty + records.overflowPages)) / usable) + 2;
  return dirty + freeList + SLACK_PAGES;
}

/**
 * Free space beyond a transaction's bound under which the zeros are written: what other writers to
 * the file system (the job's checkpoints, other processes) may take while one transaction runs.
 */
const ROOM_MARGIN_BYTES = 256 * 1024 * 1024;
/** Zeros written at a time while extending. */
const CHUNK_BYTES = 1024 * 1024;
/** Room made past what a transaction needs: the zeros of the next few small ones. */
const EXTRA_BYTES = 256 * 1024;
let zeros: Uint8Array | undefined;

/**
 * The data file of one LMDB environment, kept at least as long as LMDB's last page plus the growth
 * reserved for the next transaction (see the file's comment).
 */
export class LmdbFileGrowth {
  /** The file's length as last seen or made. */
  private bytes: number;

  constructor(private readonly file: string) {
    const fd = openSync(file, 'r');
    try {
      this.bytes = fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Makes sure the file can be `needed` bytes long: at once when the file system has the growth and
   * ROOM_MARGIN_BYTES free, else by writing zeros past its end (and up to EXTRA_BYTES more, so that
   * small transactions do not each extend it). Throws the file system's error (ENOSPC on a full
   * disk) when it cannot reach `needed`.
   */
  reserve(needed: number): void {
    if (needed <= this.bytes) return;
    const free = freeBytes(dirname(this.file));
    if (free !== undefined && free >= needed - this.bytes + ROOM_MARGIN_BYTES) return;
    const target = needed + EXTRA_BYTES;
    zeros ??= new Uint8Array(CHUNK_BYTES);
    const fd = openSync(this.file, 'r+');
    try {
      this.bytes = Math.max(this.bytes, fstatSync(fd).size);
      while (this.bytes < target) {
        const length = Math.min(CHUNK_BYTES, target - this.bytes);
        try {
          this.bytes += writeSync(fd, zeros, 0, length, this.bytes);
        } catch (error) {
          if (this.bytes >= needed) return;
          throw error;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** Free bytes on the file system of `path` for this user, or undefined when it cannot say. */
export function freeBytes(path: string): number | undefined {
  try {
    const fs = statfsSync(path);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}
