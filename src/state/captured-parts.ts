import { ByteWriter } from '../../coders/index.ts';
import { finishPart, startPart } from './key-group-part.ts';
import type { SpillLog } from './spill-log.ts';
import { StateError } from './state-errors.ts';

/**
 * The records of one capture, as PendingCapture wrote them: every changed key's record in one
 * buffer, with typed arrays indexed by the key's place in the change list saying where its record
 * lies, which key group it belongs to and whether it goes into the eager section. Nothing per record
 * is allocated; parts are assembled per key group when the checkpoint layer asks, off the loop.
 * A tiered backend's spill log adds its records after those: record `entryCount + j` is the log's
 * record j (its group -1 when dropped), read from the log's own buffer.
 */
export class CapturedParts {
  readonly keyGroups: readonly number[];
  /** Records below it are the entries' (in `records`), the others the spill log's. */
  private readonly entryCount: number;
  /** Record indices ordered by key group (counting sort), made at the first encodeKeyGroup. */
  private order: Int32Array | undefined = undefined;
  private groupStart: Int32Array | undefined = undefined;

  /**
   * @param records every record's bytes
   * @param starts record i spans [starts[i], ends[i])
   * @param groups record i's key group, or -1 when the key left no record
   * @param eager 1 when record i has an eager section
   */
  constructor(
    readonly changedKeys: number,
    private readonly maxKeyGroups: number,
    private readonly records: Uint8Array,
    private readonly starts: Int32Array,
    private readonly ends: Int32Array,
    private readonly groups: Int32Array,
    private readonly eager: Uint8Array,
    private readonly spilled?: SpillLog,
  ) {
    this.entryCount = groups.length;
    const present = new Uint8Array(maxKeyGroups);
    for (let i = 0; i < groups.length; i++) if (groups[i]! >= 0) present[groups[i]!] = 1;
    if (spilled !== undefined)
      for (let j = 0; j < spilled.length; j++) if (spilled.group(j) >= 0) present[spilled.group(j)] = 1;
    const keyGroups: number[] = [];
    for (let kg = 0; kg < maxKeyGroups; kg++) if (present[kg] === 1) keyGroups.push(kg);
    this.keyGroups = keyGroups;
  }

  /** Record i's key group, or -1 when it has none. */
  private groupOf(i: number): number {
    return i < this.entryCount ? this.groups[i]! : this.spilled!.group(i - this.entryCount);
  }

  private index(): { order: Int32Array; groupStart: Int32Array } {
    if (this.order !== undefined && this.groupStart !== undefined)
      return { order: this.order, groupStart: this.groupStart };
    const total = this.entryCount + (this.spilled?.length ?? 0);
    const groupStart = new Int32Array(this.maxKeyGroups + 1);
    for (let i = 0; i < total; i++) {
      const g = this.groupOf(i);
      if (g >= 0) groupStart[g + 1]!++;
    }
    for (let kg = 0; kg < this.maxKeyGroups; kg++) groupStart[kg + 1]! += groupStart[kg]!;
    const next = groupStart.slice(0, this.maxKeyGroups);
    const order = new Int32Array(groupStart[this.maxKeyGroups]!);
    // Stable: a group's records keep their change order.
    for (let i = 0; i < total; i++) {
      const g = this.groupOf(i);
      if (g >= 0) order[next[g]!++] = i;
    }
    this.order = order;
    this.groupStart = groupStart;
    return { order, groupStart };
  }

  /** Record i's bytes: [start, end) of `records` for an entry, of the spill log's buffer for the others. */
  private span(i: number): { bytes: Uint8Array; start: number; end: number } {
    if (i < this.entryCount) return { bytes: this.records, start: this.starts[i]!, end: this.ends[i]! };
    const log = this.spilled!;
    const j = i - this.entryCount;
    return { bytes: log.bytes.view(), start: j === 0 ? 0 : log.end(j - 1), end: log.end(j) };
  }

  /** Assembles the key group's part (eager records first); the same bytes at every call. */
  encodeKeyGroup(keyGroup: number): Uint8Array {
    if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup >= this.maxKeyGroups) {
      throw new StateError(`key group ${keyGroup} has no captured changes; use one of keyGroups`);
    }
    const { order, groupStart } = this.index();
    const from = groupStart[keyGroup]!;
    const to = groupStart[keyGroup + 1]!;
    if (from === to) throw new StateError(`key group ${keyGroup} has no captured changes; use one of keyGroups`);
    const { eager, entryCount } = this;
    const isEager = (i: number): boolean => i < entryCount && eager[i] === 1;
    let eagerCount = 0;
    let eagerLength = 0;
    let total = 0;
    for (let j = from; j < to; j++) {
      const i = order[j]!;
      const { start, end } = this.span(i);
      total += end - start;
      if (isEager(i)) {
        eagerCount++;
        eagerLength += end - start;
      }
    }
    const writer = new ByteWriter(32 + total);
    startPart(writer, keyGroup, eagerCount, eagerLength);
    if (eagerCount > 0) {
      for (let j = from; j < to; j++) {
        const i = order[j]!;
        if (isEager(i)) writer.writeBytes(this.records.subarray(this.starts[i]!, this.ends[i]!));
      }
    }
    writer.writeVarLong(to - from - eagerCount);
    // Records that follow each other in one buffer are copied in one run.
    let runBytes: Uint8Array | undefined;
    let runStart = -1;
    let runEnd = -1;
    for (let j = from; j < to; j++) {
      const i = order[j]!;
      if (isEager(i)) continue;
      const { bytes, start, end } = this.span(i);
      if (bytes === runBytes && start === runEnd) {
        runEnd = end;
        continue;
      }
      if (runBytes !== undefined) writer.writeBytes(runBytes.subarray(runStart, runEnd));
      runBytes = bytes;
      runStart = start;
      runEnd = end;
    }
    if (runBytes !== undefined) writer.writeBytes(runBytes.subarray(runStart, runEnd));
    return finishPart(writer);
  }
}
