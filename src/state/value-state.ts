import { Context, type ByteReader, type ByteWriter, type Coder } from '../../coders/index.ts';
import type { Cell, CellSlot } from './cell.ts';
import { checkEncodable } from './encodable.ts';
import type { ValueState } from './state.ts';

export class ValueCell<T> implements Cell {
  readonly kind = 'value';
  pruned = false;
  /** The declaring tag's signature, written with the cell so restore can check it. */
  signature = '';
  value: T | null = null;
  constructor(private readonly coder: Coder<T>) {}
  isEmpty(): boolean {
    return this.value === null || this.value === undefined;
  }
  encode(writer: ByteWriter): void {
    this.coder.encode(this.value as T, writer, Context.OUTER);
  }
  /** Throws StateValueNotEncodableError when `value` does not encode (see checkEncodable). */
  check(value: T): void {
    checkEncodable(this.coder, value, Context.OUTER, 'ValueState.write value');
  }
  static decode<T>(coder: Coder<T>, reader: ByteReader): ValueCell<T> {
    const cell = new ValueCell(coder);
    cell.value = coder.decode(reader, Context.OUTER);
    return cell;
  }
}

/**
 * Beam's ValueState. `read()` returns the object written, not a copy (as Beam's in-memory state);
 * a checkpoint encodes it at capture, so mutating it afterwards never changes a taken checkpoint,
 * but a mutation without a following `write()` may not be checkpointed at all: write after mutating.
 * Writing null or undefined is the same as `clear()`. A value the coder cannot encode is refused
 * (StateValueNotEncodableError, nothing written), so it fails the turn, not a later checkpoint.
 */
export class ValueStateImpl<T> implements ValueState<T> {
  constructor(private readonly slot: CellSlot<ValueCell<T>>) {}
  read(): T | null {
    const cell = this.slot.peek();
    return cell === undefined ? null : cell.value;
  }
  write(value: T): void {
    this.set(value ?? null);
  }
  clear(): void {
    if (this.slot.peek()?.isEmpty() === false) this.set(null);
  }
  private set(value: T | null): void {
    const cell = this.slot.touch();
    if (value !== null) cell.check(value);
    const journal = this.slot.journal();
    if (journal !== undefined) {
      const previous = cell.value;
      journal.push(() => {
        cell.value = previous;
      });
    }
    cell.value = value;
  }
  readLater(): ValueState<T> {
    return this;
  }
  /** Handles of one cell (same table or backend, key scope, namespace and tag id) are equal. */
  equals(other: unknown): boolean {
    return other instanceof ValueStateImpl && this.slot.sameCell(other.slot);
  }
}
