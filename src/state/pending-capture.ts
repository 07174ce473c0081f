import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ByteWriter } from '../../coders/index.ts';
import { CapturedParts } from './captured-parts.ts';
import { EntryShape, type KeyEntry } from './key-entry.ts';
import { keyId, PartCursor } from './key-group-part.ts';
import type { SpillLog } from './spill-log.ts';
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
  /**
   * Every record is written: apply what capture decided (persisted flags, keys left without state)
   * to `entries` from `from` on, until `deadline` (performance.now()) passes; returns where it
   * stopped (`entries.length` when done). Called again later for the rest: each key is judged as it
   * is then.
   */
  captureCompleted(entries: readonly KeyEntry<K>[], shapes: Uint8Array, from: number, deadline: number): number;
  /**
   * A record failed to encode: every key of the capture must be changed again, for the next one
   * (`spilled`: the capture's spill log, owed to the next capture).
   */
  captureAbandoned(entries: readonly KeyEntry<K>[], spilled: SpillLog | undefined): void;
}

/** A tiered backend's spill log as a capture takes it (see SpillLog). */
export interface SpilledChanges<K> {
  readonly log: SpillLog;
  /**
   * Hashes (murmur3 | 0) of the keys that may have more than one record between the log and the
   * capture's entries (keys read back since they were logged), or 'all' when any key may.
   */
  readonly candidates: ReadonlySet<number> | 'all';
  /** The capture's entries whose key may also be in the log (all of them with 'all'). */
  readonly superseding: readonly KeyEntry<K>[];
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
  /** The spill log's older records of a key are still to be dropped (after every entry is written). */
  private resolving: boolean;
  /** The places of the spill's superseding entries; undefined: every entry's. */
  private supersedingPlaces: Int32Array | undefined = undefined;
  /** Keys before it are written (scanned by the slices; keys used by the task are written out of turn). */
  private cursor = 0;
  private error: unknown = undefined;
  private parts: CapturedParts | undefined = undefined;
  /** Entries before it are completed (see CaptureHost.captureCompleted); -1 until every record is written. */
  private completed = -1;
  private settling: Promise<void> | undefined = undefined;

  constructor(
    private readonly host: CaptureHost<K>,
    /** The captured keys; let go once done (a capture kept for a retry holds only bytes). */
    private entries: readonly KeyEntry<K>[],
    private readonly maxKeyGroups: number,
    /**
     * Records of changed keys evicted since the last capture (a tiered backend's spill log, taken
     * whole at the cut): their places follow the entries'. Older records of a key are dropped in
     * the background once the entries are written (see SpillLog.resolve).
     */
    private spilled: SpilledChanges<K> | undefined = undefined,
  ) {
    const n = entries.length;
    this.out = new ByteWriter(Math.max(256, n * 32));
    this.starts = new Int32Array(n);
    this.ends = new Int32Array(n);
    this.groups = new Int32Array(n);
    this.eager = new Uint8Array(n);
    this.shapes = new Uint8Array(n);
    this.remaining = n;
    this.resolving =
      spilled !== undefined && spilled.log.length > 0 && (spilled.candidates === 'all' || spilled.candidates.size > 0);
    for (let i = 0; i < n; i++) entries[i]!.beginCapture(i);
    // Their places, while they are known (writing a record clears it).
    if (this.resolving && spilled!.candidates !== 'all')
      this.supersedingPlaces = Int32Array.from(spilled!.superseding, (e) => e.captureIndex);
    if (n === 0 && !this.resolving) this.complete(Infinity);
  }

  /** True once every record is written and applied to its key, or the capture was abandoned. */
  get done(): boolean {
    return this.completed >= this.entries.length || this.error !== undefined;
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
      // Applying the capture to every key is left to the slices (settle), off the task's turn.
      if (this.remaining === 0 && !this.resolving) this.complete(-Infinity);
    } catch (error) {
      this.abandon(error);
    }
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
      if (this.completed >= 0) {
        this.complete(deadline);
        return;
      }
      let sinceClock = 0;
      while (this.remaining > 0) {
        const i = this.cursor++;
        if (!entries[i]!.capturing) continue;
        this.write(i);
        if (++sinceClock === CLOCK_EVERY) {
          sinceClock = 0;
          // Out of time with records left: the next slice goes on. With none left, this one
          // completes the capture (a capture done but not completed would have no parts).
          if (this.remaining > 0 && performance.now() >= deadline) return;
        }
      }
      if (this.resolving) {
        // One step, proportional to the log's records whose key was read back (all of them after a
        // failed capture): rare.
        this.resolveSpilled();
        this.resolving = false;
      }
      this.complete(deadline);
    } catch (error) {
      this.abandon(error);
    }
  }

  /** Drops the spill log's records that are not their key's newest (see SpillLog.resolve). */
  private resolveSpilled(): void {
    const { log, candidates } = this.spilled!;
    const superseded = new Set<string>();
    const view = this.out.view();
    const places = this.supersedingPlaces;
    const count = places === undefined ? this.groups.length : places.length;
    for (let p = 0; p < count; p++) {
      const i = places === undefined ? p : places[p]!;
      // An entry that left no record leaves the log's record of its key standing.
      if (this.groups[i]! < 0) continue;
      const cursor = new PartCursor(view, this.starts[i]!, this.ends[i]!);
      const length = cursor.length();
      const from = cursor.skip(length);
      superseded.add(keyId(view.subarray(from, from + length)));
    }
    log.resolve(candidates, superseded);
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

  /**
   * Every record is written: makes the parts (once), then applies the capture to its keys until
   * `deadline`. Taking a compacted key back to its value alone costs a write into the key map of
   * every key (about 10 ms for 10k keys of a 1M-key map): in slices, like the records.
   */
  private complete(deadline: number): void {
    if (this.completed < 0) {
      this.makeParts();
      this.completed = 0;
    }
    const entries = this.entries;
    if (this.completed < entries.length && deadline > -Infinity)
      this.completed = this.host.captureCompleted(entries, this.shapes, this.completed, deadline);
    if (this.completed < entries.length) return;
    this.entries = [];
    this.completed = 0;
    this.spilled = undefined;
  }

  private makeParts(): void {
    let changedKeys = 0;
    for (let i = 0; i < this.groups.length; i++) if (this.groups[i]! >= 0) changedKeys++;
    const log = this.spilled?.log;
    if (log !== undefined) for (let j = 0; j < log.length; j++) if (log.group(j) >= 0) changedKeys++;
    this.parts = new CapturedParts(
      changedKeys,
      this.maxKeyGroups,
      this.out.view(),
      this.starts,
      this.ends,
      this.groups,
      this.eager,
      log,
    );
  }

  private abandon(error: unknown): void {
    this.error = error;
    this.remaining = 0;
    this.resolving = false;
    this.host.captureAbandoned(this.entries, this.spilled?.log);
    this.entries = [];
    this.spilled = undefined;
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
