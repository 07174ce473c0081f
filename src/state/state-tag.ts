import { CannotProvideCoderError, CoderRegistry, type Coder } from '../../coders/index.ts';
import type {
  BagState,
  CombineFn,
  CombineFnWithContext,
  CombiningState,
  MapState,
  MultimapState,
  OrderedListState,
  SetState,
  State,
  ValueState,
  WatermarkHoldState,
} from './state.ts';
import { TimestampCombiner } from './state.ts';

/** What a tag declares: the kind of state and the coders its cells are encoded with. */
export type StateSpec =
  | { readonly kind: 'value'; readonly coder: Coder<any> }
  | { readonly kind: 'bag'; readonly elemCoder: Coder<any> }
  | { readonly kind: 'set'; readonly elemCoder: Coder<any> }
  | { readonly kind: 'map'; readonly keyCoder: Coder<any>; readonly valueCoder: Coder<any> }
  | { readonly kind: 'multimap'; readonly keyCoder: Coder<any>; readonly valueCoder: Coder<any> }
  | { readonly kind: 'orderedList'; readonly elemCoder: Coder<any> }
  | {
      readonly kind: 'combining';
      readonly accumCoder: Coder<any>;
      /** A CombineFn, or a CombineFnWithContext when `withContext`. */
      readonly combineFn: CombineFn<any, any, any> | CombineFnWithContext<any, any, any>;
      readonly withContext: boolean;
    }
  | { readonly kind: 'watermark'; readonly timestampCombiner: TimestampCombiner };

export type StateKind = StateSpec['kind'];

/**
 * The column of the state table (Beam's StateTag): an id, user or system, and the spec. A tag is
 * identified by its id, not by the object: two tag objects with the same id address the same cell,
 * and must then declare the same kind and coders (else StateTagConflictError).
 *
 * `S` is the state interface the tag binds to (phantom type: it only guides `state(namespace, tag)`).
 */
export interface StateTag<S extends State | WatermarkHoldState = State> {
  /** The id given at creation (Beam's getId()). */
  readonly id: string;
  /** 'user' for tags made by StateTags factories, 'system' after makeSystemTagInternal. */
  readonly origin: 'user' | 'system';
  /**
   * The column key: Beam's structured id, 'u' or 's' followed by the id, so system tags never collide with user tags.
   */
  readonly columnKey: string;
  readonly spec: StateSpec;
  /**
   * The kind and coders as a string, e.g. `map(StringUtf8Coder, VarLongCoder)`: written with each
   * checkpointed cell and compared when two tags share an id or a restored cell is first read.
   */
  readonly signature: string;
  /** Phantom field carrying `S`; never set. */
  readonly __state?: S;
  /**
   * Beam's StateTag.equals: the same id (and user/system origin), whatever the kind, coders or
   * CombineFn. (Binding two such tags with different kinds or coders is still refused.)
   */
  equals(other: unknown): boolean;
}

class SimpleStateTag {
  readonly columnKey: string;
  readonly signature: string;
  constructor(
    readonly id: string,
    readonly origin: 'user' | 'system',
    readonly spec: StateSpec,
  ) {
    this.columnKey = (origin === 'user' ? 'u' : 's') + id;
    this.signature = signatureOf(spec);
  }
  equals(other: unknown): boolean {
    return other instanceof SimpleStateTag && other.columnKey === this.columnKey;
  }
  toString(): string {
    return `StateTag(${this.origin === 'system' ? 'system:' : ''}${this.id}, ${this.signature})`;
  }
}

function signatureOf(spec: StateSpec): string {
  switch (spec.kind) {
    case 'value':
      return `value(${spec.coder.toString()})`;
    case 'bag':
    case 'set':
    case 'orderedList':
      return `${spec.kind}(${spec.elemCoder.toString()})`;
    case 'map':
    case 'multimap':
      return `${spec.kind}(${spec.keyCoder.toString()}, ${spec.valueCoder.toString()})`;
    case 'combining':
      return `combining(${spec.accumCoder.toString()})`;
    case 'watermark':
      return `watermark(${spec.timestampCombiner})`;
  }
}

function makeTag<S extends State>(id: string, origin: 'user' | 'system', spec: StateSpec): StateTag<S> {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('a state tag id must be a non-empty string');
  return Object.freeze(new SimpleStateTag(id, origin, spec)) as StateTag<S>;
}

let standardRegistry: CoderRegistry | undefined;

function accumulatorCoderOf<In, Accum>(combineFn: CombineFn<In, Accum, unknown>, inputCoder: Coder<In>): Coder<Accum> {
  const what = `the accumulator coder of ${combineFn.constructor.name === 'Object' ? 'a CombineFn' : combineFn.constructor.name} for input coder ${inputCoder.toString()}`;
  if (typeof combineFn.getAccumulatorCoder !== 'function') {
    throw new CannotProvideCoderError(
      `cannot determine ${what}: the CombineFn has no getAccumulatorCoder(registry, inputCoder); give it one, or use StateTags.combiningValue(id, accumCoder, combineFn)`,
    );
  }
  let coder: Coder<Accum>;
  try {
    coder = combineFn.getAccumulatorCoder((standardRegistry ??= CoderRegistry.withStandardCoders()), inputCoder);
  } catch (err) {
    throw new CannotProvideCoderError(
      `cannot determine ${what}: getAccumulatorCoder threw (${err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
  if (coder === null || typeof coder !== 'object' || typeof coder.encode !== 'function') {
    throw new CannotProvideCoderError(
      `cannot determine ${what}: getAccumulatorCoder returned ${String(coder)}, not a Coder`,
    );
  }
  return coder;
}

/** Factories for state tags, as Beam's runners-core StateTags. */
export const StateTags = {
  value<T>(id: string, coder: Coder<T>): StateTag<ValueState<T>> {
    return makeTag(id, 'user', { kind: 'value', coder });
  },
  bag<T>(id: string, elemCoder: Coder<T>): StateTag<BagState<T>> {
    return makeTag(id, 'user', { kind: 'bag', elemCoder });
  },
  /** Elements compare by the coder's structural value, so the coder must be deterministic. */
  set<T>(id: string, elemCoder: Coder<T>): StateTag<SetState<T>> {
    elemCoder.verifyDeterministic();
    return makeTag(id, 'user', { kind: 'set', elemCoder });
  },
  /** Map keys compare by the key coder's structural value, so it must be deterministic. */
  map<K, V>(id: string, keyCoder: Coder<K>, valueCoder: Coder<V>): StateTag<MapState<K, V>> {
    keyCoder.verifyDeterministic();
    return makeTag(id, 'user', { kind: 'map', keyCoder, valueCoder });
  },
  multimap<K, V>(id: string, keyCoder: Coder<K>, valueCoder: Coder<V>): StateTag<MultimapState<K, V>> {
    keyCoder.verifyDeterministic();
    return makeTag(id, 'user', { kind: 'multimap', keyCoder, valueCoder });
  },
  orderedList<T>(id: string, elemCoder: Coder<T>): StateTag<OrderedListState<T>> {
    return makeTag(id, 'user', { kind: 'orderedList', elemCoder });
  },
  /**
   * A combining cell. The CombineFn is not part of the tag's identity (functions cannot be compared);
   * two tags with one id and accumulator coder but different CombineFns are not detected.
   */
  combiningValue<In, Accum, Out>(
    id: string,
    accumCoder: Coder<Accum>,
    combineFn: CombineFn<In, Accum, Out>,
  ): StateTag<CombiningState<In, Accum, Out>> {
    return makeTag(id, 'user', { kind: 'combining', accumCoder, combineFn, withContext: false });
  },
  /**
   * A combining cell whose accumulator coder the CombineFn derives from the input coder (Beam's
   * combiningValueFromInputInternal: `combineFn.getAccumulatorCoder(registry, inputCoder)` with the
   * standard coders' registry). Same cell as combiningValue with that accumulator coder.
   * @throws CannotProvideCoderError when the CombineFn has no getAccumulatorCoder, or it throws.
   */
  combiningValueFromInputInternal<In, Accum, Out>(
    id: string,
    inputCoder: Coder<In>,
    combineFn: CombineFn<In, Accum, Out>,
  ): StateTag<CombiningState<In, Accum, Out>> {
    return StateTags.combiningValue(id, accumulatorCoderOf(combineFn, inputCoder), combineFn);
  },
  /**
   * A combining cell whose CombineFn gets the state's context (Beam's combiningValueWithContext):
   * the namespace, and its window. Same cell and checkpoint format as combiningValue.
   */
  combiningValueWithContext<In, Accum, Out>(
    id: string,
    accumCoder: Coder<Accum>,
    combineFn: CombineFnWithContext<In, Accum, Out>,
  ): StateTag<CombiningState<In, Accum, Out>> {
    return makeTag(id, 'user', { kind: 'combining', accumCoder, combineFn, withContext: true });
  },
  /**
   * A bag of accumulators with the id of a combining tag (Beam's convertToBagTagInternal, for runners
   * that keep a combining cell's accumulators unmerged). A user tag, as Beam's. Binding it and the
   * combining tag on one StateInternals is refused (StateTagConflictError): they share the id.
   */
  convertToBagTagInternal<In, Accum, Out>(
    combiningTag: StateTag<CombiningState<In, Accum, Out>>,
  ): StateTag<BagState<Accum>> {
    const spec = combiningTag.spec;
    if (spec.kind !== 'combining')
      throw new TypeError(`convertToBagTagInternal needs a combining tag, got ${spec.kind} tag '${combiningTag.id}'`);
    return makeTag(combiningTag.id, 'user', { kind: 'bag', elemCoder: spec.accumCoder });
  },
  /** A watermark hold combining added timestamps with `timestampCombiner`. */
  watermarkStateInternal(id: string, timestampCombiner: TimestampCombiner): StateTag<WatermarkHoldState> {
    if (!Object.values(TimestampCombiner).includes(timestampCombiner)) {
      throw new TypeError(`unknown TimestampCombiner '${String(timestampCombiner)}'`);
    }
    return makeTag(id, 'user', { kind: 'watermark', timestampCombiner }) as StateTag<WatermarkHoldState>;
  },
  /** The same tag as a system tag: a column that never collides with a user tag of the same id. */
  makeSystemTagInternal<S extends State>(tag: StateTag<S>): StateTag<S> {
    return makeTag(tag.id, 'system', tag.spec);
  },
};
