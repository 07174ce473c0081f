import { ByteReader } from '../../coders/index.ts';
import { RawCell, type Cell, type CellSlot, type HoldListener } from './cell.ts';
import { BagCell, BagStateImpl } from './bag-state.ts';
import { CombiningCell, CombiningStateImpl } from './combining-state.ts';
import { MapCell, MapStateImpl } from './map-state.ts';
import { MultimapCell, MultimapStateImpl } from './multimap-state.ts';
import { OrderedListCell, OrderedListStateImpl } from './ordered-list-state.ts';
import { SetCell, SetStateImpl } from './set-state.ts';
import type { CombineFn, CombineFnWithContext, State, StateContext } from './state.ts';
import { RestoredStateMismatchError, StateError, StateTagConflictError } from './state-errors.ts';
import type { StateNamespace } from './state-namespace.ts';
import type { BoundedWindow } from '../../coders/index.ts';
import type { StateSpec, StateTag } from './state-tag.ts';
import { ValueCell, ValueStateImpl } from './value-state.ts';
import { WatermarkHoldCell, WatermarkHoldStateImpl } from './watermark-hold-state.ts';

/** A new, empty cell for `spec`. */
export function createCell(tag: StateTag<State>, holds: HoldListener | undefined): Cell {
  const cell = newCell(tag.spec, holds);
  cell.signature = tag.signature;
  return cell;
}

function newCell(spec: StateSpec, holds: HoldListener | undefined): Cell {
  switch (spec.kind) {
    case 'value':
      return new ValueCell(spec.coder);
    case 'bag':
      return new BagCell(spec.elemCoder);
    case 'set':
      return new SetCell(spec.elemCoder);
    case 'map':
      return new MapCell(spec.keyCoder, spec.valueCoder);
    case 'multimap':
      return new MultimapCell(spec.keyCoder, spec.valueCoder);
    case 'orderedList':
      return new OrderedListCell(spec.elemCoder);
    case 'combining':
      return new CombiningCell(spec.accumCoder);
    case 'watermark':
      return new WatermarkHoldCell(spec.timestampCombiner, holds);
  }
}

/** Decodes a cell's checkpoint payload (all of `bytes`) with `spec`'s coders. */
export function decodeCell(tag: StateTag<State>, bytes: Uint8Array, holds: HoldListener | undefined): Cell {
  const spec = tag.spec;
  const reader = new ByteReader(bytes);
  let cell: Cell;
  switch (spec.kind) {
    case 'value':
      cell = ValueCell.decode(spec.coder, reader);
      break;
    case 'bag':
      cell = BagCell.decode(spec.elemCoder, reader);
      break;
    case 'set':
      cell = SetCell.decode(spec.elemCoder, reader);
      break;
    case 'map':
      cell = MapCell.decode(spec.keyCoder, spec.valueCoder, reader);
      break;
    case 'multimap':
      cell = MultimapCell.decode(spec.keyCoder, spec.valueCoder, reader);
      break;
    case 'orderedList':
      cell = OrderedListCell.decode(spec.elemCoder, reader);
      break;
    case 'combining':
      cell = CombiningCell.decode(spec.accumCoder, reader);
      break;
    case 'watermark':
      cell = WatermarkHoldCell.decode(spec.timestampCombiner, holds, reader);
      break;
  }
  if (!reader.isAtEnd()) throw new RangeError(`${reader.remaining} trailing bytes after the cell`);
  cell.signature = tag.signature;
  return cell;
}

/**
 * Turns restored bytes into a live cell for the tag now reading them.
 * @throws RestoredStateMismatchError when the tag's kind or coders differ from the stored ones, or
 *   the bytes do not decode with its coders.
 */
export function materialize(
  raw: RawCell,
  tag: StateTag<State>,
  namespace: string,
  holds: HoldListener | undefined,
): Cell {
  if (raw.storedKind !== tag.spec.kind || raw.signature !== tag.signature) {
    throw new RestoredStateMismatchError(tag.id, namespace, raw.signature, tag.signature);
  }
  try {
    return decodeCell(tag, raw.bytes, holds);
  } catch (cause) {
    throw new RestoredStateMismatchError(
      tag.id,
      namespace,
      raw.signature,
      `${tag.signature} (its coders cannot read the stored bytes)`,
      { cause },
    );
  }
}

/** The state object of `tag`'s kind over `slot`, in `namespace` (the context of a CombineFnWithContext). */
export function bindState<S extends State>(tag: StateTag<S>, slot: CellSlot<Cell>, namespace: StateNamespace): S {
  const spec = tag.spec;
  const s = slot as CellSlot<any>;
  let state: State;
  switch (spec.kind) {
    case 'value':
      state = new ValueStateImpl(s);
      break;
    case 'bag':
      state = new BagStateImpl(s);
      break;
    case 'set':
      state = new SetStateImpl(s, spec.elemCoder);
      break;
    case 'map':
      state = new MapStateImpl(s, spec.keyCoder);
      break;
    case 'multimap':
      state = new MultimapStateImpl(s, spec.keyCoder);
      break;
    case 'orderedList':
      state = new OrderedListStateImpl(s);
      break;
    case 'combining':
      state = new CombiningStateImpl(
        s,
        spec.withContext
          ? bindContext(spec.combineFn as CombineFnWithContext<any, any, any>, contextOf(namespace))
          : (spec.combineFn as CombineFn<any, any, any>),
      );
      break;
    case 'watermark':
      state = new WatermarkHoldStateImpl(s, spec.timestampCombiner);
      break;
  }
  return state as S;
}

/** Beam's StateContext for a namespace: its window, when it has one. */
function contextOf(namespace: StateNamespace): StateContext {
  return {
    namespace,
    window(): BoundedWindow {
      const window = namespace.window;
      if (window === undefined) throw new StateError(`state in namespace ${namespace.toString()} has no window`);
      return window;
    },
  };
}

/** Beam's CombineFnUtil.bindContext: a CombineFn calling `fn` with `context`. */
function bindContext<In, A, Out>(fn: CombineFnWithContext<In, A, Out>, context: StateContext): CombineFn<In, A, Out> {
  return {
    createAccumulator: () => fn.createAccumulator(context),
    addInput: (accumulator, input) => fn.addInput(accumulator, input, context),
    mergeAccumulators: (accumulators) => fn.mergeAccumulators(accumulators, context),
    extractOutput: (accumulator) => fn.extractOutput(accumulator, context),
  };
}

/**
 * The tags bound in one table or backend, by column key: one id gets one kind and one set of coders.
 * Coders are compared by their description (toString), so two instances of the same coder agree.
 */
export class TagRegistry {
  private readonly byColumn = new Map<string, StateTag<State>>();
  check(tag: StateTag<State>): void {
    const existing = this.byColumn.get(tag.columnKey);
    if (existing === undefined) this.byColumn.set(tag.columnKey, tag);
    else if (existing.signature !== tag.signature)
      throw new StateTagConflictError(tag.id, existing.signature, tag.signature);
  }
  /** Every tag bound so far, the first of each id, in binding order. */
  tags(): StateTag<State>[] {
    return [...this.byColumn.values()];
  }
}

/**
 * Handles already made, by (namespace, tag id), so that `state(namespace, tag)` called twice gives
 * the same handle (Beam's in-memory StateInternals caches them the same way). Holds at most `limit`
 * handles: past that, new handles are made (equal to one another by equals(), not the same object),
 * so memory does not grow with the number of namespaces (windows) ever used.
 */
export class HandleCache {
  private readonly handles = new Map<string, { readonly tag: StateTag<State>; readonly state: State }>();
  constructor(private readonly limit: number) {}
  get(namespace: string, tag: StateTag<State>): State | undefined {
    const hit = this.handles.get(`${namespace}\u0000${tag.columnKey}`);
    if (hit === undefined) return undefined;
    return hit.tag === tag || sameBinding(hit.tag, tag) ? hit.state : undefined;
  }
  set(namespace: string, tag: StateTag<State>, state: State): void {
    if (this.handles.size < this.limit) this.handles.set(`${namespace}\u0000${tag.columnKey}`, { tag, state });
  }
}

/** Whether a handle made for `a` serves `b`: same kind and coders, and for combining cells the same CombineFn. */
function sameBinding(a: StateTag<State>, b: StateTag<State>): boolean {
  if (a.signature !== b.signature) return false;
  if (a.spec.kind === 'combining' && b.spec.kind === 'combining') return a.spec.combineFn === b.spec.combineFn;
  return true;
}
