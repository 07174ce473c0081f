import { ByteWriter } from '../../coders/index.ts';
import { finishPart, startPart } from './key-group-part.ts';
import { StateError } from './state-errors.ts';

/**
 * The records of one capture, as PendingCapture wrote them: every changed key's record in one
 * buffer, with typed arrays indexed by the key's place in the change list saying where its record
 * lies, which key group it belongs to and whether it goes into the eager section. Nothing per record
 * is allocated; parts are assembled per key group when the checkpoint layer asks, off the loop.
 */
export class CapturedParts {
  readonly keyGroups: readonly number[];
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
  ) {
    const present = new Uint8Array(maxKeyGroups);
    for (let i = 0; i < groups.length; i++) if (groups[i]! >= 0) present[groups[i]!] = 1;
    const keyGroups: number[] = [];
    for (let kg = 0; kg < maxKeyGroups; kg++) if (present[kg] === 1) keyGroups.push(kg);
    this.keyGroups = keyGroups;
  }

  private index(): { order: Int32Array; groupStart: Int32Array } {
    if (this.order !== undefined && this.groupStart !== undefined)
      return { order: this.order, groupStart: this.groupStart };
    const groups = this.groups;
    const groupStart = new Int32Array(this.maxKeyGroups + 1);
    for (let i = 0; i < groups.length; i++) if (groups[i]! >= 0) groupStart[groups[i]! + 1]!++;
    for (let kg = 0; kg < this.maxKeyGroups; kg++) groupStart[kg + 1]! += groupStart[kg]!;
    const next = groupStart.slice(0, this.maxKeyGroups);
    const order = new Int32Array(groupStart[this.maxKeyGroups]!);
    // Stable: a group's records keep their change order.
    for (let i = 0; i < groups.length; i++) if (groups[i]! >= 0) order[next[groups[i]!]!++] = i;
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
    const { starts, ends, eager, records } = this;
    let eagerCount = 0;
    let eagerLength = 0;
    let total = 0;
    for (let j = from; j < to; j++) {
      const i = order[j]!;
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
        if (eager[i] === 1) writer.writeBytes(records.subarray(starts[i]!, ends[i]!));
      }
    }
    writer.writeVarLong(to - from - eagerCount);
    // Records that follow each other in the buffer are copied in one run.
    let runStart = -1;
    let runEnd = -1;
    for (let j = from; j < to; j++) {
      const i = order[j]!;
      if (eager[i] === 1) continue;
      const start = starts[i]!;
      if (start === runEnd) {
        runEnd = ends[i]!;
        continue;
      }
      if (runStart >= 0) writer.writeBytes(records.subarray(runStart, runEnd));
      runStart = start;
      runEnd = ends[i]!;
    }
    if (runStart >= 0) writer.writeBytes(records.subarray(runStart, runEnd));
    return finishPart(writer);
  }
}
