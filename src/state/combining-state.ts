import { CoderUtils, Context, type ByteReader, type ByteWriter, type Coder } from '../../coders/index.ts';
import { deferredIsEmpty, type Cell, type CellSlot } from './cell.ts';
import { checkEncodable } from './encodable.ts';
import type { CombineFn, CombiningState, ReadableState } from './state.ts';

export class CombiningCell<A> implements Cell {
  readonly kind = 'combining';
  pruned = false;
  /** The declaring tag's signature, written with the cell so restore can check it. */
  signature = '';
  /** undefined while empty (never added to, or cleared). */
  accum: A | undefined = undefined;
  constructor(private readonly accumCoder: Coder<A>) {}
  isEmpty(): boolean {
    return this.accum === undefined;
  }
  encode(writer: ByteWriter): void {
    this.accumCoder.encode(this.accum as A, writer, Context.OUTER);
  }
  /** Throws StateValueNotEncodableError when `accum` does not encode (see checkEncodable). */
  check(accum: A, what: string): void {
    checkEncodable(this.accumCoder, accum, Context.OUTER, what);
  }
  snapshot(): Uint8Array {
    return CoderUtils.encodeToByteArray(this.accumCoder, this.accum as A);
  }
  restoreSnapshot(bytes: Uint8Array | undefined): void {
    this.accum = bytes === undefined ? undefined : CoderUtils.decodeFromByteArray(this.accumCoder, bytes);
  }
  static decode<A>(accumCoder: Coder<A>, reader: ByteReader): CombiningCell<A> {
    const cell = new CombiningCell(accumCoder);
    cell.accum = accumCoder.decode(reader, Context.OUTER);
    return cell;
  }
}

/**
 * Beam's CombiningState over a CombineFn. Empty (isEmpty reads true) until the first add/addAccum,
 * as Beam's in-memory state; reading an empty cell gives extractOutput(createAccumulator()).
 * `getAccum()` returns the live accumulator (not a copy) when there is one.
 */
export class CombiningStateImpl<In, A, Out> implements CombiningState<In, A, Out> {
  constructor(
    private readonly slot: CellSlot<CombiningCell<A>>,
    private readonly fn: CombineFn<In, A, Out>,
  ) {}
  add(value: In): void {
    const cell = this.slot.touch();
    const before = this.remember(cell);
    this.update(
      cell,
      before,
      'CombiningState.add: the accumulator',
      this.fn.addInput(cell.accum === undefined ? this.fn.createAccumulator() : cell.accum, value),
    );
  }
  addAccum(accumulator: A): void {
    const cell = this.slot.touch();
    const before = this.remember(cell);
    this.update(
      cell,
      before,
      'CombiningState.addAccum: the accumulator',
      cell.accum === undefined ? accumulator : this.fn.mergeAccumulators([cell.accum, accumulator]),
    );
  }
  /**
   * Stores `next` if it encodes; otherwise puts back the accumulator as it was (addInput may have
   * changed it in place) and throws StateValueNotEncodableError.
   */
  private update(cell: CombiningCell<A>, before: Uint8Array | undefined, what: string, next: A): void {
    try {
      cell.check(next, what);
    } catch (error) {
      if (cell.accum !== undefined) cell.restoreSnapshot(before);
      throw error;
    }
    cell.accum = next;
  }
  /**
   * addInput may mutate the accumulator in place, so a turn's undo keeps it encoded. Returns those
   * bytes (taken also outside a turn: a refused update puts them back).
   */
  private remember(cell: CombiningCell<A>): Uint8Array | undefined {
    const bytes = cell.accum === undefined ? undefined : cell.snapshot();
    this.slot.journal()?.push(() => cell.restoreSnapshot(bytes));
    return bytes;
  }
  getAccum(): A {
    const accum = this.slot.peek()?.accum;
    return accum === undefined ? this.fn.createAccumulator() : accum;
  }
  mergeAccumulators(accumulators: Iterable<A>): A {
    return this.fn.mergeAccumulators(accumulators);
  }
  read(): Out {
    return this.fn.extractOutput(this.getAccum());
  }
  /** Deferred: reads whether the cell is empty at read(). */
  isEmpty(): ReadableState<boolean> {
    return deferredIsEmpty(this.slot);
  }
  clear(): void {
    if (this.slot.peek()?.isEmpty() === false) {
      const cell = this.slot.touch();
      this.remember(cell);
      cell.accum = undefined;
    }
  }
  readLater(): CombiningState<In, A, Out> {
    return this;
  }
  /** Handles of one cell (same table or backend, key scope, namespace and tag id) are equal. */
  equals(other: unknown): boolean {
    return other instanceof CombiningStateImpl && this.slot.sameCell(other.slot);
  }
}
