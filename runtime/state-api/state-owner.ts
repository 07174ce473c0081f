// The keyed state of the partitions this process runs, as the state API reaches it: strong reads
// and writes become mailbox entries of the key's partition, so they are ordered with its messages
// and run between turns. Writes are logged durably before they are applied, and the log position is
// checkpointed like an input position (see docs/state-api.md, "Exactly once").
import { CoderUtils } from '../../coders/index.ts';
import type { TaskRunner } from '../../src/task/index.ts';
import type { KeyGrouping } from '../engine/key-router.ts';
import { EntryKind } from '../engine/mailbox.ts';
import type { Outlet } from '../engine/outlet.ts';
import type { PartitionActor } from '../engine/partition-actor.ts';
import type { Pipeline } from '../engine/pipeline.ts';
import type { SideInput } from '../checkpoint-procedure.ts';
import type { Logger } from '../log.ts';
import { StateRequestError, StateUnavailableError } from './state-api-errors.ts';
import type { StateCommand, StateCommandLog, StateCommandRecord, StateCommandResult } from './state-command.ts';
import { etagOf } from './etag.ts';
import { applyKeyWrite, clearKey, parseKeyWrite, readKeyJson } from './state-json.ts';
import type { Json } from './state-json.ts';
import type { StateStore, StateStores } from './state-stores.ts';

/** A key as read: its value (absent: the key has no state) and ETag. */
export interface KeyRead {
  readonly key: string;
  readonly value?: Record<string, Json>;
  readonly etag?: string;
}

/** The name under which checkpoints record the command log's position (an input position). */
export const STATE_COMMANDS_INPUT = 'state-commands';

type Actor = PartitionActor<unknown, unknown, unknown>;
type Runner = TaskRunner<unknown, unknown, unknown>;

/** A live write waiting to be taken in (while a checkpoint is captured or the replay runs). */
interface PendingWrite {
  readonly store: StateStore;
  readonly command: StateCommand;
  readonly actor: Actor;
  readonly resolve: (result: StateCommandResult) => void;
  readonly reject: (error: unknown) => void;
}

/** The key's current ETag (undefined: no state). */
function keyETag(runner: Runner, store: StateStore, key: unknown): string | undefined {
  return etagOf(CoderUtils.encodeToByteArray(store.stage.keyCoder, key), runner.encodeKeyCells(key));
}

/** Reads a key's value and ETag on its owner (between turns). */
export function readKey(runner: Runner, store: StateStore, keyText: string): KeyRead {
  const key = store.parseKey(keyText);
  const etag = keyETag(runner, store, key);
  if (etag === undefined) return { key: keyText };
  const value = runner.inspectKey(key, (state) => readKeyJson(state, runner.boundTags()));
  return value === undefined ? { key: keyText, etag } : { key: keyText, value, etag };
}

/**
 * Applies a command in one turn of its partition: the ETag checks first (an atomic command with a
 * mismatch changes nothing), then every write. A value its tag rejects (the job's tags changed
 * since the command was logged) skips that operation and is reported, as a mismatch is. A replay
 * sees the same state at the same place among the messages, so it comes to the same result.
 */
export function applyCommand(runner: Runner, store: StateStore, command: StateCommand): StateCommandResult {
  const tags = runner.boundTags();
  const mismatched: string[] = [];
  const rejected: { key: string; reason: string }[] = [];
  const planned: { key: unknown; apply: (state: Parameters<typeof clearKey>[0]) => void }[] = [];
  for (const op of command.ops) {
    const key = store.parseKey(op.key);
    if (op.etag !== undefined && keyETag(runner, store, key) !== op.etag) {
      mismatched.push(op.key);
      continue;
    }
    if (op.op === 'delete') {
      planned.push({ key, apply: (state) => clearKey(state, tags) });
      continue;
    }
    try {
      const write = parseKeyWrite(op.value, tags);
      planned.push({ key, apply: (state) => applyKeyWrite(state, write) });
    } catch (error) {
      rejected.push({ key: op.key, reason: (error as Error).message });
    }
  }
  const etags: Record<string, string | undefined> = {};
  if (command.atomic && (mismatched.length > 0 || rejected.length > 0)) return { mismatched, rejected, etags };
  runner.changeState((stateOf) => {
    for (const { key, apply } of planned) apply(stateOf(key));
  });
  for (const op of command.ops) etags[op.key] = keyETag(runner, store, store.parseKey(op.key));
  return { mismatched, rejected, etags };
}

/**
 * The state API's access to the partitions of a running pipeline. Attached by the job runtime once
 * the pipeline exists, opened after restore (replaying the commands the checkpoint does not cover),
 * paused and resumed around each checkpoint capture, detached when the run ends.
 */
export class LocalStateOwner implements SideInput {
  readonly name = STATE_COMMANDS_INPUT;
  private pipeline: Pipeline | undefined;
  private grouping: KeyGrouping | undefined;
  private sourcePosition: () => number = () => -1;
  /** Commands logged but not applied when the checkpoint was taken: injected at their place among the messages. */
  private replay: StateCommandRecord[] = [];
  private opened = false;
  private paused = false;
  private held: PendingWrite[] = [];
  /** The last command taken in (enqueued to its partition): the position a checkpoint records. */
  private lastSeq = 0;
  private readonly waiting = new Set<(error: unknown) => void>();

  constructor(
    private readonly stores: StateStores,
    private readonly log: StateCommandLog | undefined,
    private readonly logger: Logger,
  ) {}

  /** Whether a pipeline is attached and open: strong reads and writes are answered. */
  get running(): boolean {
    return this.pipeline !== undefined && this.opened;
  }

  /** The position of the command log a checkpoint records (every command up to it is applied once drained). */
  get position(): number {
    return this.lastSeq;
  }

  attach(pipeline: Pipeline, grouping: KeyGrouping, sourcePosition: () => number): void {
    this.pipeline = pipeline;
    this.grouping = grouping;
    this.sourcePosition = sourcePosition;
  }

  /**
   * The source's outlet with the replayed commands put back at their places: a command taken in
   * after source position `p` runs before the first message after `p`.
   */
  wrapEntry(entry: Outlet): Outlet {
    return {
      data: (value, timestamp, position) => {
        if (this.replay.length > 0) this.injectReplay(position - 1);
        entry.data(value, timestamp, position);
      },
      watermark: (from, watermark, position) => {
        entry.watermark(from, watermark, position);
        if (this.replay.length > 0) this.injectReplay(this.sourcePosition());
      },
      idle: (from) => {
        entry.idle(from);
        if (this.replay.length > 0) this.injectReplay(this.sourcePosition());
      },
      get congested() {
        return entry.congested;
      },
      whenUncongested: () => entry.whenUncongested(),
    };
  }

  /**
   * After restore and the runners' open: reads the commands after `afterSeq` (the checkpoint's
   * position) and injects those taken in at or before the source's position now.
   */
  async open(afterSeq: number | undefined): Promise<void> {
    this.lastSeq = afterSeq ?? 0;
    if (this.log !== undefined) {
      const records = await this.log.readAfter(this.lastSeq);
      this.replay = records;
      if (records.length > 0) this.logger.info(`state API: replaying ${records.length} write(s) the last checkpoint does not cover (from ${this.log.description})`);
    }
    this.opened = true;
    this.injectReplay(this.sourcePosition());
  }

  /** The source reached its end (or stopped): the rest of the replay is applied now. */
  sourceFinished(): void {
    if (this.replay.length > 0) this.injectReplay(Number.POSITIVE_INFINITY);
  }

  /** Stops taking writes in (for a checkpoint capture); returns the position to record. */
  pause(): number {
    this.paused = true;
    return this.lastSeq;
  }

  resume(): void {
    this.paused = false;
    if (this.pipeline !== undefined) this.releaseHeld();
  }

  /** The run ended: what still waits is answered 503. */
  detach(): void {
    this.pipeline = undefined;
    this.opened = false;
    const notTaken = new StateUnavailableError('the job stopped before the write was taken in: it was not applied');
    for (const pending of this.held) pending.reject(notTaken);
    this.held = [];
    const error = new StateUnavailableError('the job stopped before the request was answered');
    for (const reject of this.waiting) reject(error);
    this.waiting.clear();
  }

  /** Strong reads: each key answered by its partition after every entry before it. */
  read(store: StateStore, keyTexts: readonly string[]): Promise<KeyRead[]> {
    return Promise.all(
      keyTexts.map((keyText) => {
        const actor = this.ownerOf(store, store.parseKey(keyText));
        return this.call<KeyRead>(actor, (runner, settle) => settle(() => readKey(runner, store, keyText)));
      }),
    );
  }

  /**
   * Checks a command against the partition's tags (400 before anything is logged), then logs it
   * and applies it in a turn of the partition once it is durable.
   * @throws StateRequestError when the keys span partitions, StateValueError for a value its tag rejects.
   */
  write(store: StateStore, command: StateCommand): Promise<StateCommandResult> {
    if (this.log === undefined) throw new StateUnavailableError('this process takes no writes (no command log)');
    const actor = this.ownerOfAll(store, command.ops.map((op) => op.key));
    const tags = actor.runner.boundTags();
    for (const op of command.ops) if (op.op === 'upsert') parseKeyWrite(op.value, tags);
    return new Promise<StateCommandResult>((resolve, reject) => {
      const pending: PendingWrite = { store, command, actor, resolve, reject };
      if (this.pipeline === undefined) {
        reject(new StateUnavailableError(`job is not running here: writes need the job running (stator run)`));
        return;
      }
      if (!this.opened || this.paused || this.replay.length > 0) this.held.push(pending);
      else this.takeIn(pending);
    });
  }

  /** Splits keys by partition, for a save of keys of several partitions (one command each). */
  partitionOf(store: StateStore, keyText: string): number {
    return this.partitionIndex(store, store.parseKey(keyText));
  }

  private releaseHeld(): void {
    if (this.paused || !this.opened || this.replay.length > 0) return;
    const held = this.held;
    this.held = [];
    for (const pending of held) this.takeIn(pending);
  }

  private takeIn(pending: PendingWrite): void {
    const log = this.log!;
    const record: StateCommandRecord = { seq: ++this.lastSeq, after: this.sourcePosition(), command: pending.command };
    const durable = log.append(record);
    durable.catch(() => {});
    const run = (runner: Runner): Promise<void> =>
      durable.then(
        () => {
          try {
            pending.resolve(applyCommand(runner, pending.store, pending.command));
          } catch (error) {
            pending.reject(error);
          }
        },
        (error: unknown) => pending.reject(error),
      );
    pending.actor.enqueue(EntryKind.CALL, undefined, run, 0, -1);
  }


  private injectReplay(upTo: number): void {
    if (!this.opened) return;
    while (this.replay.length > 0 && this.replay[0]!.after <= upTo) {
      const record = this.replay.shift()!;
      this.lastSeq = record.seq;
      const store = this.stores.forStage(record.command.stage);
      if (store === undefined) {
        this.logger.warn(`state API: skipped logged write ${record.seq} to stage ${record.command.stage}, which the job no longer has`);
        continue;
      }
      let actor: Actor;
      try {
        actor = this.ownerOfAll(store, record.command.ops.map((op) => op.key));
      } catch (error) {
        this.logger.warn(`state API: skipped logged write ${record.seq}: ${(error as Error).message}`);
        continue;
      }
      const run = (runner: Runner): void => {
        try {
          const result = applyCommand(runner, store, record.command);
          if (result.rejected.length > 0) this.logger.warn(`state API: replayed write ${record.seq}: ${result.rejected.map((r) => r.reason).join('; ')}`);
        } catch (error) {
          this.logger.warn(`state API: replayed write ${record.seq} failed: ${(error as Error).message}`);
        }
      };
      actor.enqueue(EntryKind.CALL, undefined, run, 0, -1);
    }
    if (this.replay.length === 0) this.releaseHeld();
  }

  /** Runs `body` on the actor between turns; rejects when the run ends first. */
  private call<T>(actor: Actor, body: (runner: Runner, settle: (f: () => T) => void) => void): Promise<T> {
    if (!this.running) return Promise.reject(new StateUnavailableError('job is not running here: a strong read needs the job running; read with consistency=eventual (from its checkpoints)'));
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      const settle = (f: () => T): void => {
        this.waiting.delete(reject);
        try {
          resolve(f());
        } catch (error) {
          reject(error);
        }
      };
      actor.enqueue(EntryKind.CALL, undefined, (runner: Runner) => body(runner, settle), 0, -1);
    });
  }

  private stageActors(store: StateStore): readonly Actor[] {
    const stage = this.pipeline?.stages.find((s) => s.name === store.stage.name);
    if (stage === undefined) throw new StateUnavailableError(`job is not running here: stage ${store.stage.name} has no partitions in this process`);
    return stage.actors;
  }

  private partitionIndex(store: StateStore, key: unknown): number {
    const grouping = this.grouping!;
    const actors = this.stageActors(store);
    const keyGroup = grouping.keyGroupFor(CoderUtils.encodeToByteArray(store.stage.keyCoder, key), grouping.maxKeyGroups);
    return grouping.partitionForKeyGroup(keyGroup, grouping.maxKeyGroups, actors.length);
  }

  private ownerOf(store: StateStore, key: unknown): Actor {
    if (this.pipeline === undefined) throw new StateUnavailableError('job is not running here: a strong read needs the job running; read with consistency=eventual (from its checkpoints)');
    return this.stageActors(store)[this.partitionIndex(store, key)]!;
  }

  /** The one partition owning every key. @throws StateRequestError naming the keys when they span partitions. */
  private ownerOfAll(store: StateStore, keyTexts: readonly string[]): Actor {
    if (this.pipeline === undefined) throw new StateUnavailableError('job is not running here: writes need the job running (stator run)');
    const byPartition = new Map<number, string[]>();
    for (const text of keyTexts) {
      const partition = this.partitionIndex(store, store.parseKey(text));
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), text]);
    }
    if (byPartition.size > 1) {
      const spans = [...byPartition].map(([p, keys]) => `partition ${p}: ${keys.map((k) => JSON.stringify(k)).join(', ')}`).join('; ');
      throw new StateRequestError('ERR_STATE_TRANSACTION', `a transaction is atomic within one partition of ${store.name}, and its keys fall in ${byPartition.size} (${spans}): split it by partition`);
    }
    return this.stageActors(store)[[...byPartition.keys()][0] ?? 0]!;
  }
}

