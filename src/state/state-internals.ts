import { RawCell, type Cell, type CellSlot, type HoldListener } from './cell.ts';
import type { State } from './state.ts';
import { bindState, createCell, HandleCache, materialize, TagRegistry } from './state-binder.ts';
import type { StateNamespace } from './state-namespace.ts';
import type { StateTag } from './state-tag.ts';
import { StateTable } from './state-table.ts';

/**
 * The state of one key (Beam runners-core's StateInternals): `state(namespace, tag)` gives the cell
 * of that row and column as a state object of the tag's kind.
 */
export interface StateInternals<K = unknown> {
  /** The key this state belongs to. */
  getKey(): K;
  /**
   * The state of `tag` in `namespace`. Called twice with the same namespace and tag id, it gives the
   * same handle (InMemoryStateInternals always; the runtime's internals for the first 64 pairs) or
   * else handles that are `equals()`; handles of other namespaces or tag ids are never equal.
   * @throws StateTagConflictError when the tag's id was bound with another kind or coders before.
   * @throws RestoredStateMismatchError when restored state under this id has another kind or coders.
   */
  state<S extends State>(namespace: StateNamespace, tag: StateTag<S>): S;
}

/** Makes the StateInternals of any key (Beam's StateInternalsFactory). */
export interface StateInternalsFactory<K> {
  stateInternalsForKey(key: K): StateInternals<K>;
}

/** Makes the slot of a (namespace, tag) pair for a StateInternals (see cachedState). */
export interface SlotMaker {
  slotFor(namespace: string, tag: StateTag<State>): CellSlot<Cell>;
}

/**
 * StateInternals.state() over a cache of handles: the handle bound before for the pair, or a new
 * one bound to `maker`'s slot, then cached.
 */
export function cachedState<S extends State>(
  registry: TagRegistry,
  handles: HandleCache,
  namespace: StateNamespace,
  tag: StateTag<S>,
  maker: SlotMaker,
): S {
  registry.check(tag);
  const ns = namespace.stringKey();
  const cached = handles.get(ns, tag);
  if (cached !== undefined) return cached as S;
  const state = bindState(tag, maker.slotFor(ns, tag), namespace);
  handles.set(ns, tag, state);
  return state;
}

/**
 * A slot over one table, for a table whose key is fixed. `changed` is called before every mutation
 * (the backend uses it to mark the key dirty).
 */
export class TableSlot implements CellSlot<Cell> {
  constructor(
    private readonly table: () => StateTable,
    readonly namespace: string,
    readonly tag: StateTag<State>,
    private readonly holds: HoldListener | undefined,
    private readonly changed: () => void,
    /** What the table belongs to: slots of one owner, namespace and tag id reach one cell. */
    private readonly owner: object,
  ) {}
  scope(): unknown {
    return undefined;
  }
  peekIn(): Cell | undefined {
    return this.peek();
  }
  sameCell(other: CellSlot<Cell>): boolean {
    return (
      other instanceof TableSlot &&
      other.owner === this.owner &&
      other.namespace === this.namespace &&
      other.tag.columnKey === this.tag.columnKey
    );
  }
  journal(): undefined {
    return undefined;
  }
  peek(): Cell | undefined {
    const table = this.table();
    const entry = table.get(this.namespace, this.tag.columnKey);
    if (entry instanceof RawCell) {
      const cell = materialize(entry, this.tag, this.namespace, this.holds);
      table.put(this.namespace, this.tag.columnKey, cell);
      return cell;
    }
    return entry;
  }
  touch(): Cell {
    let cell = this.peek();
    if (cell === undefined) {
      cell = createCell(this.tag, this.holds);
      this.table().put(this.namespace, this.tag.columnKey, cell);
    }
    this.changed();
    return cell;
  }
}

/**
 * Beam's InMemoryStateInternals: the state of one key in memory, for tests and tools. Not
 * checkpointed; use a KeyedStateBackend for that.
 */
export class InMemoryStateInternals<K> implements StateInternals<K> {
  private readonly table = new StateTable();
  private readonly registry = new TagRegistry();
  private readonly handles = new HandleCache(Infinity);
  private readonly slots: SlotMaker = {
    slotFor: (ns, tag) => new TableSlot(() => this.table, ns, tag, undefined, noop, this),
  };
  private constructor(private readonly key: K) {}

  static forKey<K>(key: K): InMemoryStateInternals<K> {
    return new InMemoryStateInternals(key);
  }

  getKey(): K {
    return this.key;
  }

  state<S extends State>(namespace: StateNamespace, tag: StateTag<S>): S {
    return cachedState(this.registry, this.handles, namespace, tag, this.slots);
  }

  /** True when no cell holds anything. */
  isEmpty(): boolean {
    return this.table.isEmpty();
  }
}

function noop(): void {}
