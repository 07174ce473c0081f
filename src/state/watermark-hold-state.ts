import type { ByteReader, ByteWriter, Instant } from '../../coders/index.ts';
import { deferredIsEmpty, type Cell, type CellSlot, type HoldListener } from './cell.ts';
import { TimestampCombiner, type ReadableState, type WatermarkHoldState } from './state.ts';
import { checkTimestamp } from './timestamps.ts';

export class WatermarkHoldCell implements Cell {
  readonly kind = 'watermark';
  pruned = false;
  /** The declaring tag's signature, written with the cell so restore can check it. */
  signature = '';
  private hold: Instant | undefined = undefined;
  constructor(
    readonly combiner: TimestampCombiner,
    private readonly listener: HoldListener | undefined,
  ) {}
  get value(): Instant | undefined {
    return this.hold;
  }
  set value(next: Instant | undefined) {
    const previous = this.hold;
    this.hold = next;
    if (previous !== next) this.listener?.holdChanged(previous, next);
  }
  isEmpty(): boolean {
    return this.hold === undefined;
  }
  encode(writer: ByteWriter): void {
    writer.writeVarLong(this.hold ?? 0);
  }
  static decode(
    combiner: TimestampCombiner,
    listener: HoldListener | undefined,
    reader: ByteReader,
  ): WatermarkHoldCell {
    const cell = new WatermarkHoldCell(combiner, listener);
    cell.signature = `watermark(${combiner})`;
    cell.value = reader.readVarLong();
    return cell;
  }
}

/**
 * Beam's WatermarkHoldState: holds the output watermark at the combined timestamp of what was added.
 * EARLIEST keeps the minimum, LATEST the maximum; END_OF_WINDOW keeps the first timestamp added
 * (as Beam's TimestampCombiner.END_OF_WINDOW.combine: callers add the window's max timestamp, so all
 * adds agree). read() is null when no hold is set.
 */
export class WatermarkHoldStateImpl implements WatermarkHoldState {
  constructor(
    private readonly slot: CellSlot<WatermarkHoldCell>,
    private readonly combiner: TimestampCombiner,
  ) {}
  add(value: Instant): void {
    const t = checkTimestamp(value, 'WatermarkHoldState.add');
    const current = this.slot.peek()?.value;
    let next: Instant;
    if (current === undefined) next = t;
    else if (this.combiner === TimestampCombiner.EARLIEST) next = t < current ? t : current;
    else if (this.combiner === TimestampCombiner.LATEST) next = t > current ? t : current;
    else next = current;
    if (next !== current) this.set(next);
  }
  read(): Instant | null {
    return this.slot.peek()?.value ?? null;
  }
  /** Deferred: reads whether a hold is set at read(). */
  isEmpty(): ReadableState<boolean> {
    return deferredIsEmpty(this.slot);
  }
  getTimestampCombiner(): TimestampCombiner {
    return this.combiner;
  }
  clear(): void {
    if (this.slot.peek()?.isEmpty() === false) this.set(undefined);
  }
  private set(next: Instant | undefined): void {
    const cell = this.slot.touch();
    const previous = cell.value;
    this.slot.journal()?.push(() => {
      cell.value = previous;
    });
    cell.value = next;
  }
  readLater(): WatermarkHoldState {
    return this;
  }
  /** Handles of one cell (same table or backend, key scope, namespace and tag id) are equal. */
  equals(other: unknown): boolean {
    return other instanceof WatermarkHoldStateImpl && this.slot.sameCell(other.slot);
  }
}
