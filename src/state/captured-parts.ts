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

  /** Assembles the key group's part (eager records first); the same bytes at every call. */
  encodeKeyGroup(keyGroup: number): Uint8Array {
    if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup >= this.maxKeyGroups) {
      throw new StateError(`key group ${keyGroup} has no captured changes; use one of keyGroups`);
    }
    const { order, groupStart } = this.index();
    const from = groupStart[keyGroup]!;
    const to = groupStart[keyGroup + 1]!;
    if (from === to) throw new StateError(`key group ${keyGroup} has no captured changes; use one of keyGroups`);
    // Nothing per record is allocated here either (a part has a record per changed key): record i
    // is [starts[i], ends[i]) of `records` below entryCount, else spill log record i - entryCount.
    const { eager, entryCount, starts, ends, records, spilled } = this;
    let eagerCount = 0;
    let eagerLength = 0;
    let total = 0;
    for (let j = from; j < to; j++) {
      const i = order[j]!;
      if (i >= entryCount) {
        total += spilledLength(spilled!, i - entryCount);
        continue;
      }
      const length = ends[i]! - starts[i]!;
      total += length;
      if (eager[i] === 1) {
        eagerCount++;
        eagerLength += length;
      }
    }
    const writer = new ByteWriter(32 + total);
    startPart(writer, keyGroup, eagerCount, eagerLength);
    if (eagerCount > 0) {
      for (let j = from; j < to; j++) {
        const i = order[j]!;
        if (i < entryCount && eager[i] === 1) writer.writeBytes(records, starts[i]!, ends[i]!);
      }
    }
    writer.writeVarLong(to - from - eagerCount);
    // Records that follow each other in one buffer are copied in one run.
    const logBytes = spilled === undefined || spilled.length === 0 ? undefined : spilled.bytes.view();
    let runInLog = false;
    let runStart = -1;
    let runEnd = -1;
    for (let j = from; j < to; j++) {
      const i = order[j]!;
      const inLog = i >= entryCount;
      if (!inLog && eager[i] === 1) continue;
      const k = i - entryCount;
      const start = inLog ? (k === 0 ? 0 : spilled!.end(k - 1)) : starts[i]!;
      const end = inLog ? spilled!.end(k) : ends[i]!;
      if (runStart >= 0 && inLog === runInLog && start === runEnd) {
        runEnd = end;
        continue;
      }
      if (runStart >= 0) writer.writeBytes(runInLog ? logBytes! : records, runStart, runEnd);
      runInLog = inLog;
      runStart = start;
      runEnd = end;
    }
    if (runStart >= 0) writer.writeBytes(runInLog ? logBytes! : records, runStart, runEnd);
    return finishPart(writer);
  }
}

/** The length of spill log record j. */
function spilledLength(log: SpillLog, j: number): number {
  return log.end(j) - (j === 0 ? 0 : log.end(j - 1));
}
