import type { Logger } from '../log.ts';
import type { EventualStateView } from './checkpoint-state-view.ts';
import { OwnerDeadlines } from './owner-deadlines.ts';
import { ETagMismatchError, StateUnavailableError, StateValueError } from './state-api-errors.ts';
import type { StateCommand, StateCommandResult, StateOperation } from './state-command.ts';
import type { Json } from './state-json.ts';
import type { KeyRead, StateOwners } from './state-owner.ts';
import type { StateStores } from './state-stores.ts';

/** Dapr's consistency option: `strong` reads from the key's owner, `eventual` from the latest checkpoint. */
export type Consistency = 'strong' | 'eventual';

/** One write of a save or a transaction, as the API takes it. */
export interface StateWrite {
  readonly op: 'upsert' | 'delete';
  readonly key: string;
  readonly value?: Json;
  /** Checked unless `firstWrite` is false (Dapr's last-write concurrency ignores an ETag). */
  readonly etag?: string;
  readonly firstWrite: boolean;
}

export interface StateServiceOptions {
  readonly stores: StateStores;
  /**
   * The keys' owners: this process's partitions, or in NATS mode whichever process runs each (undefined: none, e.g. the
   * CLI on a stopped job).
   */
  readonly owner?: StateOwners;
  /** Eventual reads from the job's checkpoints. */
  readonly view?: EventualStateView;
  /** How long a strong read or a write waits for the key's owner before 504. @default 5000 */
  readonly timeoutMs?: number;
  readonly logger: Logger;
}

/**
 * The state API's operations, whatever carries them (HTTP, the CLI). Errors are StateApiErrors with
 * the HTTP status to answer.
 */
export class StateService {
  readonly stores: StateStores;
  private readonly deadlines: OwnerDeadlines;

  constructor(private readonly options: StateServiceOptions) {
    this.stores = options.stores;
    this.deadlines = new OwnerDeadlines(options.timeoutMs ?? 5000);
  }

  /** The default consistency: strong where the job runs (read-your-writes), else eventual. */
  get defaultConsistency(): Consistency {
    return this.options.owner?.running === true ? 'strong' : 'eventual';
  }

  get(
    storeName: string,
    keys: readonly string[],
    consistency: Consistency = this.defaultConsistency,
  ): Promise<readonly KeyRead[]> {
    // Not async: the owner's or the view's promise is the answer (no promise around it per read).
    try {
      const store = this.stores.get(storeName);
      for (const key of keys) store.parseKey(key);
      if (consistency === 'strong') {
        const owner = this.options.owner;
        if (owner === undefined)
          throw new StateUnavailableError(
            `job ${this.stores.job.name} is not running in this process: a strong read needs its owner; read with consistency=eventual (from its checkpoints)`,
          );
        return this.deadlines.within(owner.read(store, keys), `a strong read of ${store.name}`);
      }
      const view = this.options.view;
      if (view === undefined)
        throw new StateUnavailableError(
          "this process has no access to the job's checkpoints for an eventual read; read with consistency=strong",
        );
      return view.read(store, keys).then(keysOf);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The answer of get() when it needs no wait: an eventual read of a loaded checkpoint (see
   * EventualStateView.readNow). Undefined otherwise (a strong read, a checkpoint still loading): call get().
   * @throws what get() rejects with for a store or key it refuses.
   */
  getNow(
    storeName: string,
    keys: readonly string[],
    consistency: Consistency = this.defaultConsistency,
  ): readonly KeyRead[] | undefined {
    const view = this.options.view;
    if (consistency !== 'eventual' || view === undefined) return undefined;
    const store = this.stores.get(storeName);
    for (const key of keys) store.parseKey(key);
    return view.readNow(store, keys);
  }

  /**
   * Applies writes: each partition's share as one command (a save is not atomic across keys, as in
   * Dapr), or all of them as one atomic command (`atomic`: every key in one partition).
   * @throws ETagMismatchError (409) naming the keys whose ETag did not match (not changed).
   */
  write(storeName: string, writes: readonly StateWrite[], atomic: boolean): Promise<void> {
    try {
      return this.writeOrThrow(storeName, writes, atomic);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** write(), throwing what it refuses before anything is sent (not async: one promise less per save). */
  private writeOrThrow(storeName: string, writes: readonly StateWrite[], atomic: boolean): Promise<void> {
    const store = this.stores.get(storeName);
    const owner = this.options.owner;
    if (owner === undefined)
      throw new StateUnavailableError(
        `job ${this.stores.job.name} is not running in this process: writes are applied by the running job`,
      );
    const ops: StateOperation[] = writes.map((w) => {
      const etag = w.firstWrite ? w.etag : undefined;
      if (w.op === 'delete')
        return etag === undefined ? { op: 'delete', key: w.key } : { op: 'delete', key: w.key, etag };
      return etag === undefined
        ? { op: 'upsert', key: w.key, value: w.value ?? null }
        : { op: 'upsert', key: w.key, value: w.value ?? null, etag };
    });
    const what = `a write to ${store.name} (it is logged and will be applied; read the key to see the outcome)`;
    if (atomic) {
      for (const w of writes) store.parseKey(w.key);
      // No request id: this call is the request's only sender (a forwarded one gets its own id).
      const command: StateCommand = { stage: store.stage.name, atomic: true, ops };
      return this.deadlines.within(owner.write(store, command, undefined), what).then(settle);
    }
    if (ops.length === 1) {
      // Each key parsed (400 for a key the coder rejects) as its partition is found.
      const partition = owner.partitionOf(store, ops[0]!.key);
      const command: StateCommand = { stage: store.stage.name, atomic: false, ops };
      return this.deadlines.within(owner.write(store, command, undefined, partition), what).then(settle);
    }
    const byPartition = new Map<number, StateOperation[]>();
    for (const op of ops) {
      const partition = owner.partitionOf(store, op.key);
      const partOps = byPartition.get(partition);
      if (partOps === undefined) byPartition.set(partition, [op]);
      else partOps.push(op);
    }
    const writing = [...byPartition].map(([partition, partOps]) =>
      owner.write(store, { stage: store.stage.name, atomic: false, ops: partOps }, undefined, partition),
    );
    return this.deadlines.within(Promise.all(writing), what).then((results) => settle(mergeResults(results)));
  }
}

function keysOf(read: { readonly keys: readonly KeyRead[] }): readonly KeyRead[] {
  return read.keys;
}

function settle(result: StateCommandResult): void {
  const { mismatched, rejected } = result;
  if (rejected.length > 0)
    throw new StateValueError(rejected.map((r) => `key ${JSON.stringify(r.key)}: ${r.reason}`).join('; '));
  if (mismatched.length > 0) throw new ETagMismatchError(mismatched);
}

/** The results of a save's commands (one per partition) as one. */
function mergeResults(results: readonly StateCommandResult[]): StateCommandResult {
  return { mismatched: results.flatMap((r) => r.mismatched), rejected: results.flatMap((r) => r.rejected) };
}
