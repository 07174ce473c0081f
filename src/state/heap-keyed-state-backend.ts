import {
  ByteWriter,
  CoderUtils,
  Context,
  StringUtf8Coder,
  type BoundedWindow,
  type Coder,
  type Instant,
} from '../../coders/index.ts';
import type { Undo } from './cell.ts';
import {
  decodeCellsAt,
  decodeEager,
  encodeCells,
  encodeEager,
  EntryShape,
  inspectEntry,
  KeyEntry,
  MAX_DEFERRED_CAPTURE,
} from './key-entry.ts';
import {
  asciiKeyGroupFor,
  asciiMurmur3,
  checkMaxKeyGroups,
  DEFAULT_MAX_KEY_GROUPS,
  keyGroupFor,
  murmur3,
} from './key-group.ts';
import { FLAG_STATE, FLAG_STATE_EAGER, FLAG_TOMBSTONE } from './key-group-part.ts';
import { RestoredKeyGroup, StoredKeyGroup, type RestoreHost } from './key-group-restore.ts';
import { copyStoredGroups } from './stored-group-copy.ts';
import type { CapturedChanges, KeyedStateBackend } from './keyed-state-backend.ts';
import { PendingCapture, type CaptureHost, type SpilledChanges } from './pending-capture.ts';
import { SpillLog } from './spill-log.ts';
import { LocalCellFormat, oneCellPayloadStart } from './local-cells.ts';
import { KeyFilter } from './key-filter.ts';
import { HeapCacheBudget } from './heap-cache-budget.ts';
import {
  storeKey,
  storeKeyBytes,
  storeKeyHeadLength,
  writeStoreKeyHead,
  type LocalStateStore,
  type LocalStoreWrite,
} from './local-state-store.ts';
import { PartCursor } from './key-group-part.ts';
import type { State, ValueState } from './state.ts';
import { BoundValueState, INLINE_VALUE_SLOTS, type InlineValueCell } from './bound-value-state.ts';
import { bindState, HandleCache, TagRegistry } from './state-binder.ts';
import { CurrentKeySlot, FixedKeySlot, type SlotHost } from './key-slots.ts';
import { StateError, StatePartCorruptError } from './state-errors.ts';
import { cachedState, type SlotMaker, type StateInternals, type StateInternalsFactory } from './state-internals.ts';
import { StateNamespaces, type StateNamespace } from './state-namespace.ts';
import type { StateTag } from './state-tag.ts';
import { HeapTimerInternals, type TimerHost } from './timer-internals.ts';
import { KEY_MAP_SHARD_ENTRIES, KeyMap } from './key-map.ts';
import { WatermarkHoldIndex } from './watermark-hold-index.ts';

/** Options of createKeyedStateBackend. */
export interface KeyedStateBackendOptions<K> {
  /** The key coder: keys are equal exactly when their encodings are; must be deterministic. */
  readonly keyCoder: Coder<K>;
  /** Total key groups, fixed for the job's lifetime. @default 128 */
  readonly maxKeyGroups?: number;
  /**
   * The window coder, used only to turn restored timers' namespaces back into window namespaces.
   * Without it a restored window namespace is 'unresolved' (same stringKey, no window object).
   */
  readonly windowCoder?: Coder<BoundedWindow>;
  /**
   * Makes the backend tiered: the heap holds at most about `memoryBytes` of keys (a cache, CLOCK
   * eviction between turns) and evicted keys live in `store`, read back at their next use. Without
   * it all state is on the heap.
   */
  readonly tier?: StateTierOptions;
}

/** A tiered backend's local store and heap budget (see KeyedStateBackendOptions.tier). */
export interface StateTierOptions {
  /** Where evicted keys are kept (a working copy: checkpoints stay the source of truth). */
  readonly store: LocalStateStore;
  /** Heap budget of the cached keys, in bytes (estimated per key, see HeapCacheBudget). */
  readonly memoryBytes: number;
  /**
   * The store is a warm copy: it holds exactly the partition's state of the checkpoint being
   * restored, as `writeBack` left it (the caller verified which checkpoint it reflects). The backend
   * serves that state from it, restoring its keys with timers or holds now and the others at their
   * first use, and takes no key-group parts. @default false
   */
  readonly reused?: boolean;
}

/**
 * The share of its key limit an eviction walk brings the cache down to. Every walk is one write
 * transaction, and a transaction of random keys rewrites every B-tree leaf page it touches, whatever
 * the number of keys in it: evicting a third of the limit at once writes about 40 % fewer bytes per
 * evicted key than a tenth would (docs/performance.md), for a cache a little emptier between walks.
 */
const EVICT_TO = 0.7;

/**
 * Writes per batch (one store write, a transaction) of a restore's copy into the local store: they
 * come in store-key order, so a batch changes about one leaf page per page's worth of keys, far
 * below the store's bound on the pages one transaction changes.
 */
const COPY_BATCH_WRITES = 16_384;

/** Longest key the local store takes (LMDB's default limit, less storeKey's length): longer keys stay in memory. */
const MAX_STORE_KEY_BYTES = 1975;

interface Tier {
  readonly store: LocalStateStore;
  readonly budget: HeapCacheBudget;
  readonly reused: boolean;
  /** How the store's values hold cells (its dictionary of cell heads). */
  readonly cells: LocalCellFormat;
}

interface ResolvedOptions<K> {
  readonly keyCoder: Coder<K>;
  readonly maxKeyGroups: number;
  readonly windowCoder: Coder<BoundedWindow> | undefined;
}

function resolveOptions<K>(options: KeyedStateBackendOptions<K>): ResolvedOptions<K> {
  const maxKeyGroups = options.maxKeyGroups ?? DEFAULT_MAX_KEY_GROUPS;
  checkMaxKeyGroups(maxKeyGroups);
  // Keys are compared by their bytes: a coder that can encode one key two ways would split its state.
  options.keyCoder.verifyDeterministic();
  if (options.tier !== undefined && !(Number.isFinite(options.tier.memoryBytes) && options.tier.memoryBytes > 0)) {
    throw new StateError(`tier.memoryBytes ${options.tier.memoryBytes} is not a positive number of bytes`);
  }
  return { keyCoder: options.keyCoder, maxKeyGroups, windowCoder: options.windowCoder };
}

/**
 * Bound (namespace, tag) pairs beyond this many use table lookups instead of a slot (bounds per-key memory with many
 * windows).
 */
const MAX_SLOTS = 64;
/** Keys a capture's completion applies between two looks at the clock. */
const COMPLETE_CLOCK_EVERY = 64;

/** One key's state (stateInternalsForKey): an object of a class, no functions made per call. */
class FixedKeyInternals<K> implements StateInternals<K>, SlotMaker {
  private readonly handles = new HandleCache(MAX_SLOTS);

  constructor(
    private readonly backend: SlotHost<K>,
    private readonly registry: TagRegistry,
    private readonly key: K,
  ) {}

  getKey(): K {
    return this.key;
  }

  state<S extends State>(namespace: StateNamespace, tag: StateTag<S>): S {
    return cachedState(this.registry, this.handles, namespace, tag, this);
  }

  slotFor(namespace: string, tag: StateTag<State>): FixedKeySlot<K> {
    return new FixedKeySlot(this.backend, this.key, namespace, tag);
  }
}

/**
 * The in-memory keyed state backend: a Map from key to the key's StateTable, with change tracking
 * for incremental checkpoints, lazy restore, timers and watermark holds. See KeyedStateBackend.
 *
 * Keys whose coder is consistentWithEquals (strings) are their own Map key, so the hot path does no
 * encoding; other keys are looked up by their coder's structural value.
 */
export class HeapKeyedStateBackend<K>
  implements KeyedStateBackend<K>, StateInternalsFactory<K>, TimerHost<K>, CaptureHost<K>
{
  readonly keyCoder: Coder<K>;
  readonly maxKeyGroups: number;
  /** Timers of all keys; set/delete act on the current key. */
  readonly timerInternals: HeapTimerInternals<K>;
  /** @internal Watermark holds of all keys. */
  readonly holds = new WatermarkHoldIndex();

  private readonly windowCoder: Coder<BoundedWindow> | undefined;
  private readonly identityKeys: boolean;
  /**
   * Key → its KeyEntry, or, for a key at rest whose only state is the value of the slot-0 ValueState
   * (see `compact`), that value itself: an entry object costs ~150 bytes, a Map slot ~30, and most
   * keys of a large state are at rest. Such a key gets its entry back at its next use (inflate).
   * A KeyMap once one `Map` is full (putEntry).
   */
  private entries: Map<unknown, unknown> | KeyMap<unknown> = new Map<unknown, unknown>();
  /** The slot-0 ValueState's shared cell and its (namespace, column), once bound: what a compact value is. */
  private compact:
    { readonly cell: InlineValueCell<unknown>; readonly ns: string; readonly column: string } | undefined = undefined;
  private readonly registry = new TagRegistry();
  private dirty: KeyEntry<K>[] = [];
  /** The last capture while its records are still being written (keys of it are `capturing`). */
  private pendingCapture: PendingCapture<K> | undefined = undefined;
  /** @internal The current key's entry; undefined when none or after a capture dropped it. */
  current: KeyEntry<K> | undefined = undefined;
  private readonly slotNumbers = new Map<string, number>();
  /** boundState's handles: the same (namespace, tag) gives the same handle (the first MAX_SLOTS pairs). */
  private readonly boundHandles = new HandleCache(MAX_SLOTS);
  private currentKey: { readonly key: K } | undefined = undefined;
  /** Set by clearCurrentKey: the message for a missing key names the callbacks without one. */
  private keyCleared = false;
  /** Restored key groups whose lazy records are not decoded yet. */
  private readonly pending = new Map<number, RestoredKeyGroup<K> | StoredKeyGroup<K>>();
  /** Capture's scratch writers (a timer/hold section, one cell payload, a key), reused across captures. */
  private readonly eagerScratch = new ByteWriter(64);
  private readonly cellScratch = new ByteWriter(256);
  private readonly keyScratch = new ByteWriter(64);
  private readonly stringKeys: boolean;
  private readonly namespaceCache = new Map<string, StateNamespace>();
  private readonly restoredGroups = new Set<number>();
  /** @internal The open turn's undo journal (undefined outside a turn). */
  journal: Undo[] | undefined = undefined;
  /** An entry whose pending record is being written because it is about to be used (see compactable). */
  private inUse: KeyEntry<K> | undefined = undefined;
  /** The local tier, when tiered. */
  private readonly tier: Tier | undefined;
  /** The eviction clock's hand: an iterator over the key map, restarted when it ends. */
  private clockHand: Iterator<unknown> | undefined = undefined;
  /** The cache size below which no eviction walk runs again (after one that fell short). */
  private nextEvictionAt = 0;
  /** The dirty list's length above which eviction drops the evicted keys from it. */
  private dirtyCompactionAt = 0;
  /** A capture's scratch for one evicted key's cells. */
  private readonly spillScratch = new ByteWriter(256);
  /** Records of keys evicted with changes since the last capture (a tiered backend's; see SpillLog). */
  private spillLog = new SpillLog();
  /**
   * Entries of keys the spill log may hold, made since the last capture (read back from the store,
   * or re-attached): the capture drops the log's older records of those keys. With their hashes.
   */
  private reloaded: KeyEntry<K>[] = [];
  private reloadedHashes = new Set<number>();
  /** The next capture checks every record of the log for older duplicates (a capture failed). */
  private resolveAll = false;
  /**
   * The keys ever written to a store that started empty (not a warm copy), by murmur3 of their key
   * bytes: a key it does not hold is new, and is not looked up in the store.
   */
  private readonly storedFilter: KeyFilter | undefined;
  /** The slot-0 ValueState's cell head's id in the local store's dictionary (0 while not numbered; see loadCompact). */
  private compactHeadId = 0;
  /** The dictionary's size when compactHeadId was last looked for. */
  private compactHeadsSeen = -1;
  /** A store key written from a key's chars or bytes (asciiStoreKey, scratchStoreKey), reused. */
  private storeKeyScratch = new Uint8Array(64);
  /** murmur3 of the key bytes of the last scratchStoreKey. */
  private scratchKeyHash = 0;
  /**
   * An eviction walk's writes: store keys and local values back to back, and per write where its
   * key starts, where it ends and where its value ends (the key's end for a delete). One buffer for
   * the walk, not two arrays per key.
   */
  private readonly evictBytes = new ByteWriter(4096);
  private readonly evictSpans: number[] = [];
  private used = false;

  constructor(options: KeyedStateBackendOptions<K>) {
    const resolved = resolveOptions(options);
    this.keyCoder = resolved.keyCoder;
    this.maxKeyGroups = resolved.maxKeyGroups;
    this.windowCoder = resolved.windowCoder;
    this.tier =
      options.tier === undefined
        ? undefined
        : {
            store: options.tier.store,
            budget: new HeapCacheBudget(options.tier.memoryBytes),
            reused: options.tier.reused ?? false,
            // A fresh store (or a cleared one) holds no heads: only a warm copy's are read.
            cells: new LocalCellFormat(options.tier.reused === true ? options.tier.store.heads() : []),
          };
    this.storedFilter = options.tier !== undefined && options.tier.reused !== true ? new KeyFilter() : undefined;
    this.identityKeys = this.keyCoder.consistentWithEquals();
    // A string key's record field (length + UTF-8) is exactly what writeUtf8 writes: no copy.
    this.stringKeys = this.keyCoder instanceof StringUtf8Coder;
    this.timerInternals = new HeapTimerInternals(this);
    this.restoreHost = {
      keyCoder: this.keyCoder,
      identityKeys: this.identityKeys,
      holds: this.holds,
      adopt: (entry, timers) => {
        for (const t of timers) {
          this.timerInternals.add(
            entry,
            this.namespaceFor(t.namespace),
            t.timerId,
            t.domain,
            t.timestamp,
            t.outputTimestamp,
            t.seq,
          );
        }
        this.putEntry(entry.id, entry);
      },
    };
    if (options.tier?.reused === true) this.adoptWarmEager();
  }

  /** A warm copy's keys with timers or holds, restored now (timers fire in order, holds bound the watermark). */
  private adoptWarmEager(): void {
    for (const { key: skey, value } of this.tier!.store.takeEager()) {
      const keyBytes = storeKeyBytes(skey);
      const key = CoderUtils.decodeFromByteArray(this.keyCoder, keyBytes);
      const entry = new KeyEntry(key, this.identityKeys ? key : this.keyCoder.structuralValue(key));
      entry.keyGroup = keyGroupFor(keyBytes, this.maxKeyGroups);
      entry.persisted = true;
      entry.attached = true;
      const cursor = new PartCursor(value, 0, value.length);
      const eagerStart = cursor.skip(cursor.length());
      const eager = value.subarray(eagerStart, cursor.pos);
      decodeCellsAt(cursor, entry.table);
      if (!cursor.atEnd())
        throw new StatePartCorruptError(`the local state store's eager record of key ${String(key)} is malformed`);
      this.restoreHost.adopt(entry, decodeEager(eager, entry.table, this.holds));
    }
  }

  setCurrentKey(key: K): void {
    const id = this.identityKeys ? key : this.keyCoder.structuralValue(key);
    const found = this.entries.get(id);
    if (found instanceof KeyEntry) {
      const entry = found as KeyEntry<K>;
      entry.referenced = true;
      this.current = entry;
      this.currentKey = entry;
      if (entry.capturing) {
        // Current while its record is written: a capture completing then keeps it an entry (and
        // may detach it when it is left empty, which drops `current`).
        this.pendingCapture!.writeNow(entry);
        this.current = entry;
      }
    } else {
      this.current = found === undefined ? this.lookupMiss(key, id) : this.inflate(key, found);
      this.currentKey = this.current;
    }
  }

  /** The entry of a compact key (see `entries`), back in the key map. */
  private inflate(key: K, value: unknown): KeyEntry<K> {
    const { cell, ns, column } = this.compact!;
    const entry = new KeyEntry(key, key);
    entry.attached = true;
    entry.persisted = true;
    entry.value0 = value;
    entry.table.put(ns, column, cell);
    entry.slot0 = cell;
    this.putEntry(key, entry);
    return entry;
  }

  /**
   * Whether a key just captured can be kept as its value alone: its only state is the slot-0
   * ValueState, and nothing holds its entry (not the current key, no timers, not changed since).
   * Only keys that are their own identity: a compact key is its Map key.
   */
  private compactable(entry: KeyEntry<K>): boolean {
    const compact = this.compact;
    return (
      compact !== undefined &&
      this.tier === undefined &&
      this.identityKeys &&
      entry !== this.current &&
      entry !== this.inUse &&
      !entry.dirty &&
      entry.value0 !== undefined &&
      entry.value1 === undefined &&
      entry.slots === undefined &&
      (entry.timers === undefined || entry.timers.size === 0) &&
      entry.table.soleEntry() === compact.cell
    );
  }

  getCurrentKey(): K {
    if (this.currentKey === undefined) {
      throw new StateError(
        this.keyCleared
          ? 'no key in scope: keyed state handles and timers act on the key of the message or timer being processed; ' +
              'use ctx.getStateInternals(keyCoder, key) in onWatermark/open/close'
          : 'no current key: call setCurrentKey(key) before using keyed state or timers',
      );
    }
    return this.currentKey.key;
  }

  /**
   * Leaves no key in scope: bound handles then throw a StateError ("no key in scope") instead of
   * acting on the key of the previous turn. Off the hot path: handles only look at the key again
   * when their cached entry is gone.
   */
  clearCurrentKey(): void {
    this.current = undefined;
    this.currentKey = undefined;
    this.keyCleared = true;
  }

  /** @internal The entry of the current key (re-resolved when a capture dropped it). */
  currentEntry(): KeyEntry<K> {
    const entry = this.current;
    if (entry !== undefined) return entry;
    const key = this.getCurrentKey();
    this.setCurrentKey(key);
    return this.current!;
  }

  /** @internal Whether two keys are one (their encodings are equal). */
  sameKey(a: K, b: K): boolean {
    return a === b || (!this.identityKeys && this.keyCoder.structuralValue(a) === this.keyCoder.structuralValue(b));
  }

  /** @internal The entry of any key. */
  entryForKey(key: K): KeyEntry<K> {
    const id = this.identityKeys ? key : this.keyCoder.structuralValue(key);
    const found = this.entries.get(id);
    if (found === undefined) return this.lookupMiss(key, id);
    if (!(found instanceof KeyEntry)) return this.inflate(key, found);
    const entry = found as KeyEntry<K>;
    entry.referenced = true;
    if (entry.capturing) this.writeBeforeUse(entry);
    return entry;
  }

  /** Writes the pending record of an entry about to be used; the capture's completion then leaves it an entry. */
  private writeBeforeUse(entry: KeyEntry<K>): void {
    this.inUse = entry;
    try {
      this.pendingCapture!.writeNow(entry);
    } finally {
      this.inUse = undefined;
    }
  }

  /** A key not in memory: it may be in a restored key group still pending, else it is new (detached until written). */
  private lookupMiss(key: K, id: unknown): KeyEntry<K> {
    this.used = true;
    // Encoding a new key once checks its type early (a wrong key fails here, not at the checkpoint)
    // and gives its key group. An ASCII string is its bytes: hashed from its chars, not encoded.
    let keyBytes: Uint8Array | undefined;
    let hash = this.stringKeys && typeof key === 'string' ? asciiMurmur3(key) : -1;
    if (hash < 0) {
      keyBytes = CoderUtils.encodeToByteArray(this.keyCoder, key);
      hash = murmur3(keyBytes);
    }
    const group = (hash % this.maxKeyGroups) | 0;
    if (this.pending.size > 0) {
      if (this.pending.has(group)) {
        this.materializeGroup(group);
        const restored = this.entries.get(id);
        if (restored !== undefined) return restored as KeyEntry<K>;
      }
    }
    if (this.tier !== undefined) {
      // Outside a turn nothing holds an entry but `current`: a good time to make room.
      if (this.journal === undefined) this.evictIfOver();
      const filter = this.storedFilter;
      const loaded = filter === undefined || filter.mayHold(hash) ? this.load(key, id, group, keyBytes) : undefined;
      const logged = this.spillLog.mayHold(hash);
      if (loaded !== undefined) {
        if (logged) this.noteReloaded(loaded, hash);
        return loaded;
      }
      if (logged) {
        // Maybe evicted empty with a tombstone in the log: the key's entry owes it now, should it
        // be captured (and it drops the log's record then).
        const owed = new KeyEntry(key, id);
        owed.keyGroup = group;
        owed.persisted = true;
        this.noteReloaded(owed, hash);
        return owed;
      }
    }
    const entry = new KeyEntry(key, id);
    entry.keyGroup = group;
    return entry;
  }

  /** @internal Records a change of `entry` (attaching a new key); call before changing it. */
  markDirty(entry: KeyEntry<K>): void {
    if (entry.dirty) return;
    if (entry.capturing) {
      // A key reached without setCurrentKey/entryForKey (a firing timer's) may still owe its record.
      this.writeBeforeUse(entry);
      if (entry.dirty) return; // the capture was abandoned, which marked its keys changed
    }
    // Detached and stored: an evicted entry something still held, changed now.
    const evicted = !entry.attached && entry.stored;
    entry.dirty = true;
    entry.stored = false;
    if (!entry.attached) {
      entry.attached = true;
      this.putEntry(entry.id, entry);
      if (evicted && this.spillLog.length > 0) {
        // An evicted entry something still held, changed: the log may hold an older record of it.
        const hash = murmur3(CoderUtils.encodeToByteArray(this.keyCoder, entry.key));
        if (this.spillLog.mayHold(hash)) this.noteReloaded(entry, hash);
      }
    }
    this.dirty.push(entry);
  }

  /**
   * A state handle of `tag` in `namespace` that acts on the key current at each call (Flink-style
   * keyed state). Obtain it once (in open()) and use it per message.
   * @throws StateTagConflictError when the id was bound with another kind or coders.
   */
  boundState<S extends State>(namespace: StateNamespace, tag: StateTag<S>): S {
    this.registry.check(tag);
    const ns = namespace.stringKey();
    const cached = this.boundHandles.get(ns, tag);
    if (cached !== undefined) return cached as S;
    const state = this.newBoundState(namespace, ns, tag);
    this.boundHandles.set(ns, tag, state);
    return state;
  }

  private newBoundState<S extends State>(namespace: StateNamespace, ns: string, tag: StateTag<S>): S {
    const pair = `${ns}\u0000${tag.columnKey}`;
    let slot = this.slotNumbers.get(pair);
    if (slot === undefined && this.slotNumbers.size < MAX_SLOTS) {
      slot = this.slotNumbers.size;
      this.slotNumbers.set(pair, slot);
    }
    if (tag.spec.kind === 'value' && slot !== undefined && slot < INLINE_VALUE_SLOTS) {
      const state = new BoundValueState(this, ns, tag as unknown as StateTag<ValueState<unknown>>, slot as 0 | 1);
      if (slot === 0) this.compact = { cell: state.cell, ns, column: tag.columnKey };
      return state as unknown as S;
    }
    return bindState(tag, new CurrentKeySlot(this, ns, tag, slot ?? -1), namespace);
  }

  /** The state of one given key, whatever the current key is (Beam's StateInternalsFactory). */
  stateInternalsForKey(key: K): StateInternals<K> {
    return new FixedKeyInternals(this, this.registry, key);
  }

  /** Every tag bound so far (by boundState or a StateInternals), the first of each id. */
  boundTags(): StateTag<State>[] {
    return this.registry.tags();
  }

  /**
   * The cells of `key` (every namespace; timers and watermark holds excluded) as a checkpoint record
   * holds them, or undefined when the key has no cell. Equal state gives equal bytes: tools outside
   * the task (the state API's ETag) digest it. Call between turns.
   */
  encodeKeyCells(key: K): Uint8Array | undefined {
    const id = this.identityKeys ? key : this.keyCoder.structuralValue(key);
    if (!this.entries.has(id) && this.pending.size === 0 && this.tier === undefined) return undefined;
    const entry = this.entryForKey(key);
    if (!entry.attached || inspectEntry(entry) === EntryShape.EMPTY) return undefined;
    let cells = 0;
    entry.table.forEach(() => cells++);
    if (cells === 0) return undefined;
    const out = new ByteWriter(64);
    encodeCells(entry, out, this.cellScratch);
    return out.toBytes();
  }

  /** The earliest watermark hold (WatermarkHoldState) over all keys, or undefined when none: O(1) amortized. */
  minimumWatermarkHold(): Instant | undefined {
    return this.holds.minimum();
  }

  /**
   * @internal A tiered backend's heap cache: the keys its budget holds by the current estimate of a
   * key's heap (HeapCacheBudget), and the keys cached now; undefined when not tiered.
   */
  get cache(): { readonly keyLimit: number; readonly keys: number } | undefined {
    return this.tier === undefined ? undefined : { keyLimit: this.tier.budget.keyLimit, keys: this.entries.size };
  }

  get keyCount(): number {
    let count = this.entries.size;
    for (const group of this.pending.values()) count += group.pendingKeys;
    // Keys both cached and stored count twice: an estimate, as the contract allows.
    if (this.tier !== undefined) count += this.tier.store.size;
    return count;
  }

  keys(): Iterable<K> {
    for (const group of [...this.pending.keys()]) this.materializeGroup(group);
    const entries = [...this.entries];
    const stored = this.tier === undefined ? [] : this.storedKeys();
    return (function* () {
      for (const [id, e] of entries) {
        if (!(e instanceof KeyEntry)) yield id as K;
        else if (e.attached && e.hasState()) yield e.key as K;
      }
      yield* stored;
    })();
  }

  /**
   * Opens a turn: until commitTurn or rollbackTurn, every state and timer change is journaled so a
   * failed callback can be undone. The task runner wraps each callback in a turn.
   * @throws StateError when a turn is already open.
   */
  beginTurn(): void {
    if (this.journal !== undefined)
      throw new StateError('beginTurn: a turn is already open; commit or roll it back first');
    if (this.tier !== undefined) this.evictIfOver();
    // A fresh array each turn: young-generation allocation is cheaper than storing new closures
    // into a long-lived array (measured: reusing one halves the throughput, write barriers).
    this.journal = [];
  }

  /** Keeps the open turn's changes. */
  commitTurn(): void {
    this.journal = undefined;
  }

  /**
   * Undoes every state and timer change of the open turn, newest first. Values come back as they
   * were; the one visible difference is that a Set/Map/Multimap key removed and restored moves to
   * the end of the iteration order.
   */
  rollbackTurn(): void {
    const journal = this.journal;
    this.journal = undefined;
    if (journal === undefined) return;
    for (let i = journal.length - 1; i >= 0; i--) journal[i]!();
  }

  /**
   * Swaps out the dirty list: O(keys changed), a flag per key. The records are written afterwards
   * (see PendingCapture): in background slices once the checkpoint layer calls settle(), and for a
   * key the task uses again, right before that use. A capture still pending when the next one is
   * taken is finished first.
   */
  captureChanges(): CapturedChanges {
    if (this.journal !== undefined)
      throw new StateError('captureChanges during a turn: capture between turns, after commitTurn or rollbackTurn');
    this.finishPendingCapture();
    // Evicted keys stay in the dirty list, no longer dirty: their records come from the store.
    const dirty = this.tier === undefined ? this.dirty : this.dirty.filter((e) => e.dirty);
    this.dirty = [];
    // Handles reach the current key through `current`: dropping it routes their next use through
    // setCurrentKey, which writes the key's record first.
    this.current = undefined;
    // The keys evicted changed since the last capture come with the spill log, taken whole.
    let spilled: SpilledChanges<K> | undefined;
    if (this.tier !== undefined && this.spillLog.length > 0) {
      spilled = {
        log: this.spillLog,
        candidates: this.resolveAll ? 'all' : this.reloadedHashes,
        superseding: this.resolveAll ? dirty : this.reloaded.filter((e) => e.dirty),
      };
      this.spillLog = new SpillLog();
    }
    this.reloaded = [];
    this.reloadedHashes = new Set();
    this.resolveAll = false;
    const capture = new PendingCapture(this, dirty, this.maxKeyGroups, spilled);
    if (dirty.length > MAX_DEFERRED_CAPTURE) {
      this.pendingCapture = capture;
      this.finishPendingCapture();
      return capture;
    }
    if (!capture.done) this.pendingCapture = capture;
    return capture;
  }

  /** Writes the rest of a pending capture now (its failure is reported by the capture itself). */
  private finishPendingCapture(): void {
    const pending = this.pendingCapture;
    if (pending === undefined) return;
    try {
      pending.settleNow();
    } catch {
      // The capture was abandoned and its keys are changed again: the next capture includes them.
    }
  }

  /** @internal CaptureHost: writes one key's record as the key is now (see PendingCapture). */
  encodeRecord(entry: KeyEntry<K>, out: ByteWriter): EntryShape {
    const shape = inspectEntry(entry);
    // Never checkpointed and now empty: nothing to delete.
    if (shape === EntryShape.EMPTY && !entry.persisted) return shape;
    const start = out.length;
    this.writeRecord(entry, shape, out);
    this.tier?.budget.observe(out.length - start);
    // A checkpoint now holds the key, from this record on, not only once the capture completes: a
    // tiered backend may evict the key emptied before then, and that eviction owes a tombstone.
    // (A tombstone's key still counts as persisted until completion, in case the capture fails.)
    if (shape !== EntryShape.EMPTY) entry.persisted = true;
    return shape;
  }

  private writeRecord(entry: KeyEntry<K>, shape: EntryShape, out: ByteWriter): void {
    this.writeKey(out, entry);
    if (shape === EntryShape.EMPTY) {
      out.writeByte(FLAG_TOMBSTONE);
    } else if (shape === EntryShape.EAGER) {
      out.writeByte(FLAG_STATE_EAGER);
      const eager = this.eagerScratch;
      eager.reset();
      encodeEager(entry, eager);
      out.writeVarLong(eager.length);
      out.writeBytes(eager.view());
      encodeCells(entry, out, this.cellScratch);
    } else {
      out.writeByte(FLAG_STATE);
      encodeCells(entry, out, this.cellScratch);
    }
  }

  /**
   * @internal CaptureHost: every record is written. Keys captured with state are persisted; keys
   * captured empty and not changed since leave the key map.
   */
  captureCompleted(entries: readonly KeyEntry<K>[], shapes: Uint8Array, from: number, deadline: number): number {
    let deletes: LocalStoreWrite[] | undefined;
    let i = from;
    for (; i < entries.length; i++) {
      if ((i - from) % COMPLETE_CLOCK_EVERY === 0 && i > from && performance.now() >= deadline) break;
      const entry = entries[i]!;
      if (shapes[i] !== EntryShape.EMPTY) {
        entry.persisted = true;
        if (shapes[i] === EntryShape.CELLS && this.compactable(entry)) {
          this.putEntry(entry.id, entry.value0);
          // A reference to it left anywhere re-enters the map if it is changed (markDirty).
          entry.attached = false;
        }
        continue;
      }
      // Changed again since its record was written: it has pending changes (and maybe state).
      if (entry.dirty) continue;
      // Evicted since (a tiered backend): the key's entry, if any, is another one now.
      if (!entry.attached) continue;
      // The store may hold an older copy (`stored` only says whether it holds the current one).
      if (this.tier !== undefined) {
        const key = this.storeKeyOf(entry);
        // A key too long for the store was never stored (LMDB refuses even its delete).
        if (storeKeyBytes(key).length <= MAX_STORE_KEY_BYTES) (deletes ??= []).push({ key, value: undefined });
      }
      entry.persisted = false;
      this.entries.delete(entry.id);
      entry.attached = false;
      if (this.current === entry) this.current = undefined;
    }
    if (deletes !== undefined) this.writeStore(deletes);
    // Done: the capture in completion is the pending one (a new capture settles it first) or none.
    if (i === entries.length) this.pendingCapture = undefined;
    return i;
  }

  /** Writes a batch to the local store, with the cell heads its values may use that it lacks. */
  private writeStore(batch: readonly LocalStoreWrite[]): void {
    const tier = this.tier!;
    tier.store.write(batch, tier.cells.unsaved());
    tier.cells.savedAll();
  }

  /** The key's key in the local store. */
  private storeKeyOf(entry: KeyEntry<K>): Uint8Array {
    const keyBytes = CoderUtils.encodeToByteArray(this.keyCoder, entry.key);
    if (entry.keyGroup < 0) entry.keyGroup = keyGroupFor(keyBytes, this.maxKeyGroups);
    return storeKey(keyBytes);
  }

  /** @internal CaptureHost: a record failed to encode; every key of the capture is changed again. */
  captureAbandoned(entries: readonly KeyEntry<K>[], spilled: SpillLog | undefined): void {
    if (this.pendingCapture !== undefined && this.pendingCapture.done) this.pendingCapture = undefined;
    // The log's records are owed to the next capture, before those logged since; which of its keys
    // were read back since is not known, so that capture checks them all.
    if (spilled !== undefined) this.spillLog = spilled.concat(this.spillLog);
    this.resolveAll = true;
    for (const entry of entries) {
      entry.endCapture();
      if (entry.attached || this.tier === undefined) {
        this.markDirty(entry);
        continue;
      }
      // Evicted since its record was written: the key's state is in the store (the log holds its
      // record if it was changed since), or read back into another entry.
      const now = this.entries.get(entry.id);
      if (now instanceof KeyEntry) {
        this.markDirty(now as KeyEntry<K>);
        continue;
      }
      const skey = this.storeKeyOf(entry);
      const keyBytes = storeKeyBytes(skey);
      const local = this.tier!.store.get(skey);
      const cells = local === undefined ? undefined : this.tier!.cells.toCheckpoint(local);
      this.spillLog.append(murmur3(keyBytes), entry.keyGroup, keyBytes, cells);
    }
  }

  /** A key's entry made while the spill log may hold a record of it (see `reloaded`). */
  private noteReloaded(entry: KeyEntry<K>, hash: number): void {
    this.reloaded.push(entry);
    this.reloadedHashes.add(hash | 0);
  }

  /** Writes the key's record field (length-prefixed key-coder bytes) and makes sure its key group is known. */
  private writeKey(out: ByteWriter, entry: KeyEntry<K>): void {
    if (this.stringKeys) {
      // An ASCII key's group from its chars: no bytes to encode (a compact key inflated by a write
      // has none yet, and a capture takes every changed key).
      if (entry.keyGroup < 0) entry.keyGroup = asciiKeyGroupFor(entry.key as string, this.maxKeyGroups);
      if (entry.keyGroup >= 0) {
        out.writeUtf8(entry.key as string, true);
        return;
      }
    }
    const scratch = this.keyScratch;
    scratch.reset();
    this.keyCoder.encode(entry.key, scratch, Context.OUTER);
    const keyBytes = scratch.view();
    if (entry.keyGroup < 0) entry.keyGroup = keyGroupFor(keyBytes, this.maxKeyGroups);
    out.writeVarLong(keyBytes.length);
    out.writeBytes(keyBytes);
  }

  /**
   * Verifies every part of the chain (checksums) and restores the keys with timers or holds now;
   * the other keys stay as bytes until a key of the group is first used (or keys() iterates).
   */
  restoreKeyGroup(keyGroup: number, chain: readonly Uint8Array[]): void {
    if (this.used || this.currentKey !== undefined) {
      throw new StateError(
        'restoreKeyGroup after keys were used: restore every key group before open() and before the first setCurrentKey',
      );
    }
    if (this.tier?.reused === true) {
      throw new StateError(
        `restoreKeyGroup on a backend over a warm copy: its store already holds the checkpoint's state (key group ${keyGroup} would apply twice)`,
      );
    }
    if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup >= this.maxKeyGroups) {
      throw new StateError(
        `key group ${keyGroup} is outside [0, ${this.maxKeyGroups}): was the checkpoint taken with another maxKeyGroups?`,
      );
    }
    if (this.restoredGroups.has(keyGroup)) {
      throw new StateError(
        `key group ${keyGroup} was already restored: hand over its whole chain (base, then increments) in one call`,
      );
    }
    const group =
      this.tier === undefined
        ? RestoredKeyGroup.restore(this.restoreHost, keyGroup, chain)
        : StoredKeyGroup.restore(this.restoreHost, keyGroup, chain);
    this.restoredGroups.add(keyGroup);
    if (group !== undefined) this.pending.set(keyGroup, group);
  }

  /** Sets a key's entry (or compact value); a key map that one `Map` cannot hold becomes a KeyMap. */
  private putEntry(id: unknown, value: unknown): void {
    const entries = this.entries;
    if (entries instanceof Map && entries.size >= KEY_MAP_SHARD_ENTRIES && !entries.has(id)) {
      this.entries = new KeyMap(KEY_MAP_SHARD_ENTRIES, entries);
      // The hand walked the old Map: it restarts over the whole key map.
      this.clockHand = undefined;
    }
    this.entries.set(id, value);
  }

  /**
   * Evicts keys until the cache is within EVICT_TO of its key limit (a CLOCK: the hand walks the key map
   * in insertion order; a key used since the hand last passed gets a second chance). Keys with
   * timers or watermark holds and the current key stay; a key whose capture record is pending has
   * it written first. An evicted key's cells go to the store when it has none or an older copy, in
   * one batch.
   * Only between turns: an open turn's undo journal holds entries.
   */
  private evictIfOver(): void {
    const tier = this.tier!;
    const entries = this.entries;
    const limit = tier.budget.keyLimit;
    if (entries.size <= limit || entries.size < this.nextEvictionAt) return;
    let toEvict = entries.size - Math.floor(limit * EVICT_TO);
    this.evictBytes.reset();
    this.evictSpans.length = 0;
    let hand = this.clockHand ?? entries.values();
    // Two turns of the clock at most: the first may only clear second chances.
    for (let budget = 2 * entries.size + 1; toEvict > 0 && budget > 0; budget--) {
      let next = hand.next();
      if (next.done === true) {
        hand = entries.values();
        next = hand.next();
        if (next.done === true) break;
      }
      const entry = next.value as KeyEntry<K>;
      if (entry === this.current) continue;
      if (entry.referenced) {
        entry.referenced = false;
        continue;
      }
      if (this.spill(entry)) toEvict--;
    }
    this.clockHand = hand;
    // Keys that must stay (timers, holds, keys too long for the store) may keep the cache over its
    // limit: the next walk waits until another tenth of the limit was added, not the next miss.
    this.nextEvictionAt = toEvict > 0 ? entries.size + Math.max(1, Math.floor(limit * 0.1)) : 0;
    if (this.evictSpans.length > 0) this.writeStore(writesOf(this.evictBytes, this.evictSpans));
    // Evicted keys stay in the dirty list, no longer dirty, for the next capture to skip: dropped
    // once the list outgrows the cache, else a long checkpoint keeps every key evicted since the
    // last capture on the heap (the budget would bound nothing).
    if (this.dirty.length > this.dirtyCompactionAt) {
      this.dirty = this.dirty.filter((e) => e.dirty);
      this.dirtyCompactionAt = Math.max(2 * limit, 2 * this.dirty.length);
    }
  }

  /** Takes one key out of the cache, adding its write (if any) to the walk's (evictBytes); false when it must stay. */
  private spill(entry: KeyEntry<K>): boolean {
    if (entry.timers !== undefined && entry.timers.size > 0) return false;
    const shape = inspectEntry(entry);
    if (shape === EntryShape.EAGER) return false;
    // Its capture record is written first (as before a use), so a capture still being written in
    // the background does not pin every key it took in the cache.
    if (entry.capturing) this.writeBeforeUse(entry);
    const changed = entry.dirty;
    // A key stored as it is needs no write (and was short enough for the store).
    if (shape === EntryShape.EMPTY || changed || !entry.stored) {
      let cells: Uint8Array | undefined;
      if (shape !== EntryShape.EMPTY) {
        const scratch = this.spillScratch;
        scratch.reset();
        try {
          encodeCells(entry, scratch, this.cellScratch);
        } catch {
          // A value changed in place into one its coder refuses: the capture reports it; keep the key.
          return false;
        }
        cells = scratch.view();
      }
      const skey = this.scratchStoreKey(entry);
      if (skey === undefined) return false;
      const hash = this.scratchKeyHash;
      const out = this.evictBytes;
      const keyStart = out.length;
      out.writeBytes(skey);
      const keyEnd = out.length;
      if (cells === undefined) {
        // Any older copy goes; a checkpoint holding the key needs the next capture's tombstone.
        if (changed && entry.persisted) this.spillLog.append(hash, entry.keyGroup, storeKeyBytes(skey), undefined);
      } else {
        this.tier!.cells.writeLocal(cells, out);
        if (!entry.inStore) {
          this.storedFilter?.add(hash);
          entry.inStore = true;
        }
        // Its record for the next capture, as it is now (the capture does not read the store).
        if (changed) this.spillLog.append(hash, entry.keyGroup, storeKeyBytes(skey), cells);
      }
      this.evictSpans.push(keyStart, keyEnd, out.length);
    }
    this.entries.delete(entry.id);
    entry.attached = false;
    // It stays in the dirty list until the next capture or compaction skips it (no longer dirty).
    entry.dirty = false;
    entry.stored = true;
    return true;
  }

  /**
   * The store key of an entry's key, a view of a scratch valid until the next call, or undefined
   * when the key is too long for the store; sets the entry's key group and scratchKeyHash.
   */
  private scratchStoreKey(entry: KeyEntry<K>): Uint8Array | undefined {
    const key = entry.key;
    let hash = this.stringKeys && typeof key === 'string' ? asciiMurmur3(key) : -1;
    let skey: Uint8Array;
    if (hash >= 0) {
      if ((key as string).length > MAX_STORE_KEY_BYTES) return undefined;
      skey = this.asciiStoreKey(key as string);
    } else {
      const scratch = this.keyScratch;
      scratch.reset();
      this.keyCoder.encode(key, scratch, Context.OUTER);
      const n = scratch.length;
      if (n > MAX_STORE_KEY_BYTES) return undefined;
      const keyBytes = scratch.view();
      hash = murmur3(keyBytes);
      const out = this.storeKeyScratchFor(n);
      out.set(keyBytes, writeStoreKeyHead(out, 0, n));
      skey = out.subarray(0, storeKeyHeadLength(n) + n);
    }
    if (entry.keyGroup < 0) entry.keyGroup = (hash % this.maxKeyGroups) | 0;
    this.scratchKeyHash = hash;
    return skey;
  }

  /**
   * A key the store holds, back in the cache; undefined when the store has none. `keyBytes`
   * undefined: the key is an ASCII string (its chars are its bytes).
   */
  private load(key: K, id: unknown, keyGroup: number, keyBytes: Uint8Array | undefined): KeyEntry<K> | undefined {
    const store = this.tier!.store;
    const skey = keyBytes === undefined ? this.asciiStoreKey(key as string) : storeKey(keyBytes);
    const peeked = store.peek !== undefined;
    const found = peeked ? store.peek!(skey) : store.get(skey);
    if (found === undefined) return undefined;
    const entry = new KeyEntry(key, id);
    entry.keyGroup = keyGroup;
    entry.persisted = true;
    if (!this.loadCompact(entry, found)) {
      // Its RawCells keep pointing into the bytes: a peeked view is copied.
      const cells = peeked ? Uint8Array.prototype.slice.call(found, 0, found.length) : found;
      const cursor = new PartCursor(cells, 0, cells.length);
      this.tier!.cells.decodeAt(cursor, entry.table);
      if (!cursor.atEnd())
        throw new StatePartCorruptError(
          `the local state store's record of key ${String(key)} has ${cells.length - cursor.pos} unexpected bytes`,
        );
    }
    entry.attached = true;
    this.putEntry(id, entry);
    entry.stored = true;
    entry.inStore = true;
    return entry;
  }

  /**
   * Reads a local record that holds only the slot-0 ValueState's value (its head's one-cell form,
   * oneCellPayloadStart) straight into the entry, as `inflate` makes a compact key's: no
   * RawCell and no copy of the bytes. False, reading nothing, for any other record.
   */
  private loadCompact(entry: KeyEntry<K>, bytes: Uint8Array): boolean {
    const compact = this.compact;
    if (compact === undefined) return false;
    const cells = this.tier!.cells;
    if (this.compactHeadId === 0 && this.compactHeadsSeen !== cells.size) {
      this.compactHeadsSeen = cells.size;
      this.compactHeadId = cells.find(compact.ns, compact.column, 'value', compact.cell.signature);
    }
    const start = oneCellPayloadStart(bytes, this.compactHeadId);
    if (start < 0) return false;
    const value = compact.cell.decodeValue(bytes, start, bytes.length);
    if (value === undefined) return false;
    entry.value0 = value;
    entry.table.put(compact.ns, compact.column, compact.cell);
    entry.slot0 = compact.cell;
    return true;
  }

  /** The store key of an ASCII string key, from its chars: a view of a scratch, valid until the next call. */
  private asciiStoreKey(key: string): Uint8Array {
    const n = key.length;
    const out = this.storeKeyScratchFor(n);
    const head = writeStoreKeyHead(out, 0, n);
    for (let i = 0; i < n; i++) out[head + i] = key.charCodeAt(i);
    return out.subarray(0, head + n);
  }

  /** The store key scratch, with room for the store key of `n` key bytes. */
  private storeKeyScratchFor(n: number): Uint8Array {
    const length = storeKeyHeadLength(n) + n;
    if (this.storeKeyScratch.length < length) this.storeKeyScratch = new Uint8Array(2 * length);
    return this.storeKeyScratch;
  }

  /** Keys only the store holds (not cached now). */
  private storedKeys(): K[] {
    const out: K[] = [];
    for (const skey of this.tier!.store.keys()) {
      const key = CoderUtils.decodeFromByteArray(this.keyCoder, storeKeyBytes(skey));
      const id = this.identityKeys ? key : this.keyCoder.structuralValue(key);
      if (!this.entries.has(id)) out.push(key);
    }
    return out;
  }

  /**
   * Decodes a restored key group's lazy records (the first use of one of its keys). A tiered
   * backend copies every restored key group still pending into its local store then, as bytes, in
   * one pass in store-key order (copyStoredGroups): the keys are then read from there at their use,
   * like evicted keys, and the heap holds none of them.
   */
  private materializeGroup(keyGroup: number): void {
    const group = this.pending.get(keyGroup);
    if (group === undefined) return;
    if (group instanceof RestoredKeyGroup) {
      this.pending.delete(keyGroup);
      group.materialize();
      return;
    }
    this.copyPendingGroups();
  }

  /**
   * Copies every pending key group into the local store (copyStoredGroups), in batches of
   * COPY_BATCH_WRITES writes: consecutive in store-key order, each changes few pages.
   */
  private copyPendingGroups(): void {
    const tier = this.tier!;
    const groups = [...this.pending.values()] as StoredKeyGroup<unknown>[];
    this.pending.clear();
    const bytes = new ByteWriter(1 << 16);
    const spans: number[] = [];
    const head = new Uint8Array(3);
    const flush = (): void => {
      if (spans.length > 0) this.writeStore(writesOf(bytes, spans));
      bytes.reset();
      spans.length = 0;
    };
    const add = (keyBytes: Uint8Array, cells: Uint8Array | undefined): void => {
      const keyStart = bytes.length;
      bytes.writeBytes(head.subarray(0, writeStoreKeyHead(head, 0, keyBytes.length)));
      bytes.writeBytes(keyBytes);
      const keyEnd = bytes.length;
      if (cells !== undefined) tier.cells.writeLocal(cells, bytes);
      spans.push(keyStart, keyEnd, bytes.length);
      if (spans.length === 3 * COPY_BATCH_WRITES) flush();
    };
    copyStoredGroups(groups, {
      accepts: (keyLength) => keyLength <= MAX_STORE_KEY_BYTES,
      put: (keyBytes, cells) => {
        add(keyBytes, cells);
        this.storedFilter?.add(murmur3(keyBytes));
      },
      delete: (keyBytes) => add(keyBytes, undefined),
    });
    flush();
  }

  /**
   * Writes the whole state into the local store, so that the store alone holds it (a warm copy the
   * next run can reuse, see StateTierOptions.reused): every cached key not stored as it is, every
   * restored key group not used yet, and the keys with timers or holds as eager records. Only when
   * nothing changed since the last capture, so that the store then holds exactly the state that
   * capture took; returns false, writing nothing, otherwise (and when not tiered, or a key is too
   * long for the store). Call between turns, after the last capture was written.
   */
  writeBack(): boolean {
    const tier = this.tier;
    if (tier === undefined || this.journal !== undefined) return false;
    this.finishPendingCapture();
    if (this.dirty.length > 0 || this.spillLog.length > 0) return false;
    // Copying restored key groups into the store changes no state: they are the checkpoint's.
    for (const group of [...this.pending.keys()]) this.materializeGroup(group);
    const cached: { entry: KeyEntry<K>; key: Uint8Array }[] = [];
    for (const found of this.entries.values()) {
      if (!(found instanceof KeyEntry)) return false;
      const entry = found as KeyEntry<K>;
      const key = this.storeKeyOf(entry);
      if (storeKeyBytes(key).length > MAX_STORE_KEY_BYTES) return false;
      cached.push({ entry, key });
    }
    const writes: LocalStoreWrite[] = [];
    const eager: { key: Uint8Array; value: Uint8Array }[] = [];
    for (const { entry, key } of cached) {
      const shape = inspectEntry(entry);
      if (shape === EntryShape.EAGER) {
        const record = new ByteWriter(64);
        this.eagerScratch.reset();
        encodeEager(entry, this.eagerScratch);
        record.writeVarLong(this.eagerScratch.length);
        record.writeBytes(this.eagerScratch.view());
        encodeCells(entry, record, this.cellScratch);
        eager.push({ key, value: record.toBytes() });
        writes.push({ key, value: undefined });
      } else if (shape === EntryShape.EMPTY) {
        writes.push({ key, value: undefined });
      } else if (!entry.stored) {
        const cells = this.spillScratch;
        cells.reset();
        encodeCells(entry, cells, this.cellScratch);
        writes.push({ key, value: tier.cells.toLocal(cells.view()) });
        this.storedFilter?.add(murmur3(storeKeyBytes(key)));
        entry.stored = true;
        entry.inStore = true;
      }
    }
    // In store-key order, the writes walk the B-tree once (cached keys are spread over it).
    writes.sort((a, b) => Buffer.compare(a.key, b.key));
    this.writeStore(writes);
    tier.store.writeEager(eager);
    return true;
  }

  /** How restored keys enter the key map. */
  private readonly restoreHost: RestoreHost<K>;

  private namespaceFor(stringKey: string): StateNamespace {
    let ns = this.namespaceCache.get(stringKey);
    if (ns === undefined) {
      ns = StateNamespaces.fromString(stringKey, this.windowCoder);
      this.namespaceCache.set(stringKey, ns);
    }
    return ns;
  }
}

/**
 * Writes kept in one buffer (store keys and values back to back; per write where its key starts,
 * where it ends and where its value ends: the key's end for a delete), as views of the buffer.
 */
function writesOf(buffer: ByteWriter, spans: readonly number[]): LocalStoreWrite[] {
  const view = buffer.view();
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.length);
  const writes: LocalStoreWrite[] = new Array<LocalStoreWrite>(spans.length / 3);
  for (let i = 0; i < spans.length; i += 3) {
    const keyEnd = spans[i + 1]!;
    const end = spans[i + 2]!;
    writes[i / 3] = {
      key: bytes.subarray(spans[i]!, keyEnd),
      value: end === keyEnd ? undefined : bytes.subarray(keyEnd, end),
    };
  }
  return writes;
}

/** A keyed state backend holding state in memory, checkpointed incrementally by key group. */
export function createKeyedStateBackend<K>(options: KeyedStateBackendOptions<K>): HeapKeyedStateBackend<K> {
  return new HeapKeyedStateBackend(options);
}
