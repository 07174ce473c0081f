import {
  Context,
  TimestampedValue,
  type ByteReader,
  type ByteWriter,
  type Coder,
  type Instant,
} from '../../coders/index.ts';
import { deferredIsEmpty, type Cell, type CellSlot } from './cell.ts';
import { clearList, readList, type ListCell } from './list-cell.ts';
import { checkEncodable } from './encodable.ts';
import type { OrderedListState, ReadableState } from './state.ts';
import { checkTimestamp } from './timestamps.ts';

/** First index whose timestamp is >= t (`strict`: > t). Binary search: O(log n). */
function bound<T>(items: readonly TimestampedValue<T>[], t: Instant, strict: boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const ts = items[mid]!.timestamp;
    if (ts < t || (strict && ts <= t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Items sorted by timestamp; equal timestamps in insertion order. */
export class OrderedListCell<T> implements Cell, ListCell<TimestampedValue<T>> {
  readonly kind = 'orderedList';
  pruned = false;
  /** The declaring tag's signature, written with the cell so restore can check it. */
  signature = '';
  items: TimestampedValue<T>[] = [];
  shared = false;
  constructor(private readonly coder: Coder<T>) {}
  isEmpty(): boolean {
    return this.items.length === 0;
  }
  writable(): TimestampedValue<T>[] {
    if (this.shared) {
      this.items = this.items.slice();
      this.shared = false;
    }
    return this.items;
  }
  /** Throws StateValueNotEncodableError when `value` does not encode (see checkEncodable). */
  check(value: T): void {
    checkEncodable(this.coder, value, Context.NESTED, 'OrderedListState value');
  }
  encode(writer: ByteWriter): void {
    writer.writeVarLong(this.items.length);
    for (const item of this.items) {
      writer.writeVarLong(item.timestamp);
      this.coder.encode(item.value, writer, Context.NESTED);
    }
  }
  static decode<T>(coder: Coder<T>, reader: ByteReader): OrderedListCell<T> {
    const cell = new OrderedListCell(coder);
    const n = reader.readLength('ordered list size');
    for (let i = 0; i < n; i++) {
      const timestamp = reader.readVarLong();
      cell.items.push(TimestampedValue.of(coder.decode(reader, Context.NESTED), timestamp));
    }
    return cell;
  }
}

/**
 * Beam's OrderedListState: values sorted by timestamp, equal timestamps in insertion order (a
 * stable insert; Beam leaves the order of equal timestamps unspecified). Ranges are half-open
 * [minTimestamp, limitTimestamp). Reads are snapshots. An add costs O(log n) to find the place and
 * O(n) to insert, so appends in timestamp order are the cheap case.
 */
export class OrderedListStateImpl<T> implements OrderedListState<T> {
  constructor(private readonly slot: CellSlot<OrderedListCell<T>>) {}
  add(value: TimestampedValue<T>): void {
    checkTimestamp(value.timestamp, 'OrderedListState.add');
    const cell = this.slot.touch();
    cell.check(value.value);
    const items = cell.writable();
    const last = items[items.length - 1];
    const at =
      last === undefined || last.timestamp <= value.timestamp ? items.length : bound(items, value.timestamp, true);
    if (at === items.length) items.push(value);
    else items.splice(at, 0, value);
    this.slot.journal()?.push(() => {
      cell.writable().splice(at, 1);
    });
  }
  read(): Iterable<TimestampedValue<T>> {
    return readList(this.slot.peek());
  }
  readRange(minTimestamp: Instant, limitTimestamp: Instant): Iterable<TimestampedValue<T>> {
    const items = this.slot.peek()?.items;
    if (items === undefined) return [];
    return items.slice(bound(items, minTimestamp, false), bound(items, limitTimestamp, false));
  }
  clearRange(minTimestamp: Instant, limitTimestamp: Instant): void {
    const items = this.slot.peek()?.items;
    if (items === undefined) return;
    const from = bound(items, minTimestamp, false);
    const to = bound(items, limitTimestamp, false);
    if (to <= from) return;
    const cell = this.slot.touch();
    const removed = cell.writable().splice(from, to - from);
    this.slot.journal()?.push(() => {
      cell.writable().splice(from, 0, ...removed);
    });
  }
  /** Deferred: reads whether the list is empty at read(). */
  isEmpty(): ReadableState<boolean> {
    return deferredIsEmpty(this.slot);
  }
  clear(): void {
    clearList(this.slot);
  }
  readLater(): OrderedListState<T> {
    return this;
  }
  /** Handles of one cell (same table or backend, key scope, namespace and tag id) are equal. */
  equals(other: unknown): boolean {
    return other instanceof OrderedListStateImpl && this.slot.sameCell(other.slot);
  }
}
