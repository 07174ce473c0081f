import { Packr } from 'msgpackr';
import type { CapturedChanges } from '../../../src/state/keyed-state-backend.ts';
import type { TaskCapture, TaskRestore } from '../../../src/task/task-runner.ts';

// A test double of the state layer's contract: string keys → numbers, change tracking, parts that
// are msgpack lists of [key, value | null] (null: tombstone), merge = newest wins, drop tombstones.
// Small and obviously right, so checkpoint tests do not depend on the real backend's correctness.
const packr = new Packr({ useRecords: false });

export function keyGroupOf(key: string, maxKeyGroups: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return h % maxKeyGroups;
}

export function toyMerge(chain: readonly Uint8Array[], options?: { readonly keepTombstones?: boolean }): Uint8Array {
  const merged = new Map<string, number | null>();
  for (const part of chain) {
    for (const [key, value] of packr.unpack(part) as [string, number | null][]) {
      if (value === null && options?.keepTombstones !== true) merged.delete(key);
      else merged.set(key, value);
    }
  }
  return packr.pack([...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class ToyState {
  readonly values = new Map<string, number>();
  private dirty = new Set<string>();
  watermark = 0;
  processingTime = 0;
  constructor(readonly maxKeyGroups = 16) {}

  set(key: string, value: number): void {
    this.values.set(key, value);
    this.dirty.add(key);
  }
  delete(key: string): void {
    this.values.delete(key);
    this.dirty.add(key);
  }

  capture(): TaskCapture {
    // Values are copied now: later writes must not leak into this capture.
    const byGroup = new Map<number, [string, number | null][]>();
    for (const key of this.dirty) {
      const kg = keyGroupOf(key, this.maxKeyGroups);
      let list = byGroup.get(kg);
      if (list === undefined) byGroup.set(kg, (list = []));
      list.push([key, this.values.get(key) ?? null]);
    }
    const changedKeys = this.dirty.size;
    this.dirty = new Set();
    const state: CapturedChanges = {
      settle: () => Promise.resolve(),
      changedKeys,
      keyGroups: [...byGroup.keys()].sort((a, b) => a - b),
      encodeKeyGroup: (kg) => packr.pack(byGroup.get(kg) ?? []),
    };
    return { state, watermark: this.watermark, processingTime: this.processingTime };
  }

  static restore(restore: TaskRestore | undefined, maxKeyGroups = 16): ToyState {
    const state = new ToyState(maxKeyGroups);
    if (restore === undefined) return state;
    state.watermark = Number(restore.watermark);
    state.processingTime = Number(restore.processingTime);
    for (const [kg, chain] of restore.keyGroups) {
      for (const [key, value] of packr.unpack(toyMerge(chain)) as [string, number][]) {
        if (keyGroupOf(key, maxKeyGroups) !== kg) throw new Error(`key ${key} restored into key group ${kg}`);
        state.values.set(key, value);
      }
    }
    return state;
  }
}
