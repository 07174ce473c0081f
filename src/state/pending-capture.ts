import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ByteWriter } from '../../coders/index.ts';
import { CapturedParts } from './captured-parts.ts';
import { EntryShape, type KeyEntry } from './key-entry.ts';
import { PartCursor } from './key-group-part.ts';
import { storeKey } from './local-state-store.ts';
import type { CapturedChanges } from './keyed-state-backend.ts';

/** How long one background slice may encode before it gives the event loop back. */
const SLICE_MS = 1;
/** Keys encoded between two looks at the clock. */
const CLOCK_EVERY = 64;

/** What a pending capture needs from its backend. */
export interface CaptureHost<K> {
  /**
   * Writes the key's record into `out` as it is now and says what it found; changes nothing the
   * task can see. Throws a StateError when a value does not encode with its coder.
   */
  encodeRecord(entry: KeyEntry<K>, out: ByteWriter): EntryShape;
  /** Every record is written: apply what capture decided (persisted flags, keys left without state). */
  captureCompleted(entries: readonly KeyEntry<K>[], shapes: Uint8Array): void;
  /**
   * A record failed to encode: every key of the capture must be changed again, for the next one
   * (`spilled`: the capture's spilled records, whose store keys are to be marked again).
   */
  captureAbandoned(entries: readonly KeyEntry<K>[], spilled: SpilledRecords): void;
}

/**
 * The records of changed keys a tiered backend evicted since the last capture (no entry in
 * memory), read back from its store, back to back in one buffer: no object per key, since there
 * may be many more of them than the cache holds (every key evicted during a long checkpoint).
 */
export class SpilledRecords {
  static readonly NONE = new SpilledRecords(new Uint8Array(0), new Int32Array(0), new Int32Array(0));

  constructor(
    /** The records, each whole (its key field first). */
    readonly bytes: Uint8Array,
    /** Where each record ends in `bytes` (each starts where the one before ended). */
    readonly ends: Int32Array,
    /** Each record's key group. */
    readonly groups: Int32Array,
  ) {}

  get length(): number {
    return this.ends.length;
  }

  /** The local-store key of each record, to mark it changed again if the capture fails. */
  storeKeys(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let start = 0;
    for (let j = 0; j < this.ends.length; j++) {
      const cursor = new PartCursor(this.bytes, start, this.ends[j]!);
      const length = cursor.length();
      const from = cursor.skip(length);
      out.push(storeKey(this.groups[j]!, this.bytes.subarray(from, from + length)));
      start = this.ends[j]!;
    }
    return out;
  }
}

/**
 * A capture whose records are written after captureChanges returned (Flink's copy-on-write
 * snapshots, by encoding instead of copying). Taking it costs a flag per changed key; the records
 * are then written in background slices of ~1 ms (`settle()`), and a key of the capture that the
 * task is about to use again — read or write, since a value read may be mutated in place — has
 * its record written first, by the backend (setCurrentKey, entryForKey, markDirty). Each record
 * therefore holds the key exactly as it was at the capture, and the processing loop never stops
 * for the whole encoding.
 *
 * Records land in the buffer in the order they were written; `starts`/`ends` index them by the
 * key's place in the change list, so the parts come out in change order, the same bytes whatever
 * order the keys were written in.
 */
export class PendingCapture<K> implements CapturedChanges {
  private readonly out: ByteWriter;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly groups: Int32Array;
  private readonly eager: Uint8Array;
  private readonly shapes: Uint8Array;
  private remaining: number;
  /** Keys before it are written (scanned by the slices; keys used by the task are written out of turn). */
  private cursor = 0;
  private error: unknown = undefined;
  private parts: CapturedParts | undefined = undefined;
  private settling: Promise<void> | undefined = undefined;

  constructor(
    private readonly host: CaptureHost<K>,
    /** The captured keys; let go once done (a capture kept for a retry holds only bytes). */
    private entries: readonly KeyEntry<K>[],
    private readonly maxKeyGroups: number,
    /** Records of changed keys evicted since the last capture: written now, after the entries' places. */
    private spilled: SpilledRecords = SpilledRecords.NONE,
  ) {
    const n = entries.length;
    const total = n + spilled.length;
    this.out = new ByteWriter(Math.max(256, total * 32));
    this.starts = new Int32Array(total);
    this.ends = new Int32Array(total);
    this.groups = new Int32Array(total);
    this.eager = new Uint8Array(total);
    this.shapes = new Uint8Array(total);
    this.remaining = n;
    for (let i = 0; i < n; i++) entries[i]!.beginCapture(i);
    const base = this.out.length;
    this.out.writeBytes(spilled.bytes);
    for (let j = 0, start = base; j < spilled.length; j++) {
      this.starts[n + j] = start;
      start = this.ends[n + j] = base + spilled.ends[j]!;
      this.groups[n + j] = spilled.groups[j]!;
      this.shapes[n + j] = EntryShape.CELLS;
    }
    if (n === 0) this.complete();
  }

  /** True once every record is written, or the capture was abandoned. */
  get done(): boolean {
    return this.remaining === 0 || this.error !== undefined;
  }

  /**
   * Writes the record of `entry` (a key of this capture not written yet) now, before the task uses
   * it. Never throws: a value that does not encode abandons the capture (settle() rejects with the
   * error) and leaves every key of it changed for the next capture.
   */
  writeNow(entry: KeyEntry<K>): void {
    if (this.error !== undefined) {
      entry.endCapture();
      return;
    }
    try {
      this.write(entry.captureIndex);
    } catch (error) {
      this.abandon(error);
      return;
    }
    if (this.remaining === 0) this.complete();
  }

  /** Writes every record still pending, in this call. */
  settleNow(): void {
    if (this.done) {
      if (this.error !== undefined) throw this.error;
      return;
    }
    this.writeSlice(Infinity);
    if (this.error !== undefined) throw this.error;
  }

  /**
   * Writes every record still pending, in ~1 ms slices that yield to the event loop in between.
   * Rejects with the StateError of a value that does not encode: the capture is then void, its keys
   * are changed again in the backend, and a caller keeping captures for a retry must drop it.
   */
  settle(): Promise<void> {
    this.settling ??= this.runSlices();
    return this.settling;
  }

  private async runSlices(): Promise<void> {
    while (!this.done) {
      this.writeSlice(performance.now() + SLICE_MS);
      if (!this.done) await yieldToLoop();
    }
    if (this.error !== undefined) throw this.error;
  }

  private writeSlice(deadline: number): void {
    const entries = this.entries;
    try {
      let sinceClock = 0;
      while (this.remaining > 0) {
        const i = this.cursor++;
        if (!entries[i]!.capturing) continue;
        this.write(i);
        if (++sinceClock === CLOCK_EVERY) {
          sinceClock = 0;
          if (performance.now() >= deadline) break;
        }
      }
    } catch (error) {
      this.abandon(error);
      return;
    }
    if (this.remaining === 0) this.complete();
  }

  private write(i: number): void {
    const entry = this.entries[i]!;
    const out = this.out;
    const start = out.length;
    // A failed encode may leave bytes behind: they belong to no record, and the capture is void anyway.
    const shape = this.host.encodeRecord(entry, out);
    entry.endCapture();
    this.starts[i] = start;
    this.ends[i] = out.length;
    this.shapes[i] = shape;
    this.eager[i] = shape === EntryShape.EAGER ? 1 : 0;
    this.groups[i] = out.length === start ? -1 : entry.keyGroup;
    this.remaining--;
  }

  private complete(): void {
    let changedKeys = 0;
    for (let i = 0; i < this.groups.length; i++) if (this.groups[i]! >= 0) changedKeys++;
    this.parts = new CapturedParts(
      changedKeys,
      this.maxKeyGroups,
      this.out.view(),
      this.starts,
      this.ends,
      this.groups,
      this.eager,
    );
    this.host.captureCompleted(this.entries, this.shapes);
    this.entries = [];
    this.spilled = SpilledRecords.NONE;
  }

  private abandon(error: unknown): void {
    this.error = error;
    this.remaining = 0;
    this.host.captureAbandoned(this.entries, this.spilled);
    this.entries = [];
    this.spilled = SpilledRecords.NONE;
  }

  private settled(): CapturedParts {
    this.settleNow();
    return this.parts!;
  }

  get changedKeys(): number {
    return this.settled().changedKeys;
  }

  get keyGroups(): readonly number[] {
    return this.settled().keyGroups;
  }

  encodeKeyGroup(keyGroup: number): Uint8Array {
    return this.settled().encodeKeyGroup(keyGroup);
  }
}
