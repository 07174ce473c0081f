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
import type { Pipeline, StageInstance } from '../engine/pipeline.ts';
import type { SideInput } from '../checkpoint-procedure.ts';
import type { Logger } from '../log.ts';
import { StateRequestError, StateTimeoutError, StateUnavailableError } from './state-api-errors.ts';
import type {
  AppendDone,
  AppendedCommand,
  CommandLane,
  CommandLanes,
  LoggedCommand,
  StateCommand,
  StateCommandRecord,
  StateCommandResult,
} from './state-command.ts';
import { unappliedRecords } from './state-command.ts';
import { etagOf } from './etag.ts';
import { applyKeyWrite, clearKey, parseKeyWrite, readKeyJson } from './state-json.ts';
import type { Json, KeyWrite } from './state-json.ts';
import type { State, StateTag } from '../../src/state/index.ts';
import type { StateStore, StateStores } from './state-stores.ts';

/** A key as read: its value (absent: the key has no state) and ETag. */
export interface KeyRead {
  readonly key: string;
  readonly value?: Record<string, Json>;
  readonly etag?: string;
}

/** The name under which checkpoints record the embedded command log's position (an input position). */
export const STATE_COMMANDS_INPUT = 'state-commands';

/**
 * How the state API reaches the owners of keys: the partitions of this process (LocalStateOwner),
 * or, in NATS mode, whichever process runs each partition.
 */
export interface StateOwners {
  /** Whether the keys' owners run in this process (strong reads are then the default). */
  readonly running: boolean;
  /** Strong reads: each key answered by its partition after every entry before it. */
  read(store: StateStore, keyTexts: readonly string[]): Promise<KeyRead[]>;
  /**
   * Logs a command (keys of one partition) durably, then applies it in a turn of the partition.
   * `id` names the request: a retry with the same id is answered, not applied, again. Undefined: the
   * request is this call's alone (taken in by this process and never sent again), so no answer is
   * kept for a retry and no id is logged.
   * `partition`: the caller found the one partition of every key (it is not looked up again).
   * @throws StateRequestError when the keys span partitions, StateValueError for a value its tag rejects.
   */
  write(
    store: StateStore,
    command: StateCommand,
    id: string | undefined,
    partition?: number,
  ): Promise<StateCommandResult>;
  /** The partition of a key, to split a save of keys of several partitions (one command each). */
  partitionOf(store: StateStore, keyText: string): number;
}

/** Answers kept for retried requests (by id); the oldest are dropped first. */
const RECENT_ANSWERS = 10_000;

type Actor = PartitionActor<unknown, unknown, unknown>;
type Runner = TaskRunner<unknown, unknown, unknown>;

/**
 * A live write, from its check to its answer: held while it may not be taken in yet (a checkpoint
 * capture, the replay), then logged and enqueued to its partition, whose turn applies it once the
 * log made it durable. A turn that reaches it after that applies it at once (no wait, no promise).
 */
class PendingWrite implements AppendDone {
  /** The log's answer: durable at a position, or failed (undefined: not yet). */
  private logged: { readonly appended: AppendedCommand } | { readonly error: unknown } | undefined;
  /** The lane it was logged in, once taken in. */
  lane: Lane | undefined;
  /** The partition's turn waiting for the log's answer. */
  private turn: { readonly runner: Runner; readonly done: () => void } | undefined;

  constructor(
    readonly store: StateStore,
    readonly command: StateCommand,
    /** Undefined: nobody can send the request again (see StateOwners.write). */
    readonly id: string | undefined,
    readonly actor: Actor,
    readonly partition: number,
    /** Each operation's value as checked when the write was taken (undefined for a delete), applied as it is. */
    readonly parsed: readonly (KeyWrite | undefined)[],
    /** The partition's bound tags `parsed` was checked against. */
    readonly tags: readonly StateTag<State>[],
    /** `command` as JSON text, when the caller serialized it already. */
    readonly commandJson: string | undefined,
    readonly resolve: (result: StateCommandResult) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  durable(appended: AppendedCommand): void {
    const lane = this.lane!;
    if (appended.position > lane.maxPosition) lane.maxPosition = appended.position;
    this.logged = { appended };
    this.settleTurn();
  }

  failed(error: unknown): void {
    this.logged = { error };
    this.settleTurn();
  }

  /** The partition's turn for this write: applies it now when durable, else holds the partition until it is. */
  run(runner: Runner): Promise<void> | undefined {
    if (this.logged !== undefined) {
      this.apply(runner);
      return undefined;
    }
    return new Promise<void>((done) => (this.turn = { runner, done }));
  }

  private settleTurn(): void {
    const turn = this.turn;
    if (turn === undefined) return;
    this.turn = undefined;
    this.apply(turn.runner);
    turn.done();
  }

  private apply(runner: Runner): void {
    const logged = this.logged!;
    if ('error' in logged) {
      this.reject(logged.error);
      return;
    }
    if (logged.appended.duplicate) {
      // The log holds this request from an attempt answered before this process's answers
      // begin (an earlier run): it was applied then, once.
      this.reject(
        new StateTimeoutError(
          `the write was applied by an earlier attempt of the same request (log position ${logged.appended.position}), whose answer was lost: read the key to see its outcome`,
        ),
      );
      return;
    }
    try {
      this.resolve(applyCommand(runner, this.store, this.command, this.parsed, this.tags));
    } catch (error) {
      this.reject(error);
    }
  }
}

/**
 * A strong read of keys of one partition, answered in a turn of it (one object per read, its
 * methods called by the mailbox and by the owner: no closures made per request).
 */
class PartitionRead {
  private resolveAnswer: ((reads: KeyRead[]) => void) | undefined;
  private rejectAnswer: ((error: unknown) => void) | undefined;

  constructor(
    /** The owner's reads waiting for their turn (this one leaves it when its turn comes). */
    private readonly waiting: Set<PartitionRead>,
    /** Whether the owner still surely holds its partitions (see LocalStateOwner). */
    private readonly confirmed: () => boolean,
    private readonly store: StateStore,
    private readonly keyTexts: readonly string[],
    private readonly partition: number,
  ) {}

  /** The caller's answer; call once, before the turn can run. */
  answer(): Promise<KeyRead[]> {
    return new Promise<KeyRead[]>((resolve, reject) => {
      this.resolveAnswer = resolve;
      this.rejectAnswer = reject;
    });
  }

  /** The turn: reads every key (must not throw: the answer carries the failure). */
  run(runner: Runner): void {
    this.waiting.delete(this);
    let reads: KeyRead[];
    try {
      // Checked in the turn that reads: a worker that stalled past its lease may no longer own the partition.
      if (!this.confirmed()) throw unconfirmed(this.store, this.partition);
      reads = this.keyTexts.map((keyText) => readKey(runner, this.store, keyText));
    } catch (error) {
      this.rejectAnswer!(error);
      return;
    }
    this.resolveAnswer!(reads);
  }

  /** The run ended before the turn. */
  fail(error: unknown): void {
    this.rejectAnswer!(error);
  }
}

/** What a caller in this process passes along with a write that is its alone. */
export interface DirectWrite {
  /** The command as JSON text (the caller checked its size): the logged record is built around it. */
  readonly commandJson: string;
}

/** JSON.stringify(record), around the command's JSON text made before. */
function recordJson(record: StateCommandRecord, commandJson: string): string | undefined {
  if (!Number.isFinite(record.after)) return undefined;
  const id = record.id === undefined ? '' : `,"id":${JSON.stringify(record.id)}`;
  return `{"seq":${record.seq},"after":${record.after},"command":${commandJson}${id}}`;
}

/** The key's current ETag (undefined: no state). */
function keyETag(runner: Runner, store: StateStore, key: unknown): string | undefined {
  return etagOf(CoderUtils.encodeToByteArray(store.stage.keyCoder, key), runner.encodeKeyCells(key));
}

/** A key's last read on a runner, with the bytes of its cells then (its ETag's input). */
interface KnownRead {
  readonly cells: Uint8Array;
  readonly read: KeyRead;
}

/** Reads remembered per runner (a runner is one partition of one stage), by key text. */
const knownReads = new WeakMap<Runner, Map<string, KnownRead>>();
/** Keys remembered per runner at most; past this many the runner's memory starts over. */
const KNOWN_READS = 10_000;
/** Larger states are not remembered (a read is then worth its memory no more). */
const KNOWN_READ_MAX_CELL_BYTES = 512;

/**
 * Reads a key's value and ETag on its owner (between turns). Both follow from the key's cells, so
 * a key read again with the same cell bytes gets the answer made for them (the same value object:
 * callers only serialize it), without the digest and the value's conversion to JSON.
 */
export function readKey(runner: Runner, store: StateStore, keyText: string): KeyRead {
  const key = store.parseKey(keyText);
  const cells = runner.encodeKeyCells(key);
  if (cells === undefined) return { key: keyText };
  let known = knownReads.get(runner);
  const before = known?.get(keyText);
  if (before !== undefined && sameBytes(before.cells, cells)) return before.read;
  const etag = etagOf(CoderUtils.encodeToByteArray(store.stage.keyCoder, key), cells)!;
  const value = runner.inspectKey(key, (state) => readKeyJson(state, runner.boundTags()));
  const read: KeyRead = value === undefined ? { key: keyText, etag } : { key: keyText, value, etag };
  if (cells.length <= KNOWN_READ_MAX_CELL_BYTES) {
    if (known === undefined) knownReads.set(runner, (known = new Map()));
    else if (known.size >= KNOWN_READS && before === undefined) known.clear();
    known.set(keyText, { cells, read });
  }
  return read;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Applies a command in one turn of its partition: the ETag checks first (an atomic command with a
 * mismatch changes nothing), then every write. A value its tag rejects (the job's tags changed
 * since the command was logged) skips that operation and is reported, as a mismatch is. A replay
 * sees the same state at the same place among the messages, so it comes to the same result.
 * `parsed` and `boundTags`: the values as checked when the write was taken in, and the tags checked against.
 */
export function applyCommand(
  runner: Runner,
  store: StateStore,
  command: StateCommand,
  parsed?: readonly (KeyWrite | undefined)[],
  boundTags?: readonly StateTag<State>[],
): StateCommandResult {
  const tags = boundTags ?? runner.boundTags();
  const mismatched: string[] = [];
  const rejected: { key: string; reason: string }[] = [];
  // Each key to change with its write (null: the key is deleted), in the command's order.
  const planned: { key: unknown; write: KeyWrite | null }[] = [];
  for (const [index, op] of command.ops.entries()) {
    const key = store.parseKey(op.key);
    if (op.etag !== undefined && keyETag(runner, store, key) !== op.etag) {
      mismatched.push(op.key);
      continue;
    }
    if (op.op === 'delete') {
      planned.push({ key, write: null });
      continue;
    }
    try {
      planned.push({ key, write: parsed?.[index] ?? parseKeyWrite(op.value, tags) });
    } catch (error) {
      rejected.push({ key: op.key, reason: (error as Error).message });
    }
  }
  if (command.atomic && (mismatched.length > 0 || rejected.length > 0)) return { mismatched, rejected };
  runner.changeState((stateOf) => {
    for (const { key, write } of planned) {
      if (write === null) clearKey(stateOf(key), tags);
      else applyKeyWrite(stateOf(key), write);
    }
  });
  return { mismatched, rejected };
}

/**
 * One command log as a checkpoint input. `seq` counts the commands taken in (the order they are
 * applied in); the position to record is `readFrom`, below which every record was applied, plus
 * `seq` when they differ. Log positions may not follow `seq` (a JetStream publish retried after a
 * lost acknowledgement is stored after later ones), so a replay reads after `readFrom` and keeps
 * only records with a larger `seq`, in `seq` order.
 */
interface Lane extends CommandLane {
  seq: number;
  readFrom: number;
  /** The largest log position of the records taken in (durable once the partition drained). */
  maxPosition: number;
  /** Logged records the restored checkpoint does not cover, in `seq` order, not yet injected. */
  replay: LoggedCommand[];
}

/**
 * The state API's access to the partitions of a running pipeline. Attached by the job runtime once
 * the pipeline exists, opened after restore (replaying the commands the checkpoint does not cover),
 * paused and resumed around each checkpoint capture, detached when the run ends.
 */
export class LocalStateOwner implements SideInput, StateOwners {
  private pipeline: Pipeline | undefined;
  private grouping: KeyGrouping | undefined;
  private sourcePosition: () => number = () => -1;
  private readonly lanes = new Map<string, Lane>();
  /** The lane of each stage's partitions, once attached. */
  private laneOf = new Map<string, Map<number, Lane>>();
  /** The actor of each stage's partitions in this process, once attached. */
  private actors = new Map<string, Map<number, Actor>>();
  private opened = false;
  private paused = false;
  private held: PendingWrite[] = [];
  private readonly waiting = new Set<PartitionRead>();
  /** The lane positions of the newest committed checkpoint: records up to them are trimmed at the next commit. */
  private committedInputs: Readonly<Record<string, number>> | undefined;
  /** Answers by request id, so a retried request gets the first answer instead of a second application. */
  private readonly answers = new Map<string, Promise<StateCommandResult>>();
  /**
   * The answers in the order they were remembered, oldest first from `answersHead` (an entry whose
   * id was forgotten or remembered again since is skipped). Dropping the oldest through this queue
   * costs the same whatever the map's size; `answers.keys().next()` walks the holes that deletions
   * leave at the map's front, thousands per call with 10,000 answers.
   */
  private answerOrder: { readonly id: string; readonly answer: Promise<StateCommandResult> }[] = [];
  private answersHead = 0;

  /**
   * @param confirmed whether this process surely still owns its partitions (a scaled-out worker:
   * its group membership is confirmed); strong reads are refused (503) otherwise, since another
   * owner may have taken a partition and changed its keys. Writes need no such check: a former
   * owner's appends are refused by the new owner's claim of the command log.
   */
  constructor(
    private readonly stores: StateStores,
    private readonly logs: CommandLanes | undefined,
    private readonly logger: Logger,
    private readonly confirmed: () => boolean = () => true,
  ) {}

  /** Whether a pipeline is attached and open: strong reads and writes are answered. */
  get running(): boolean {
    return this.pipeline !== undefined && this.opened;
  }

  /** This owner when it runs partition `partition` of `stage` now (LocalPartitions of one process). */
  owning(stage: string, partition: number): LocalStateOwner | undefined {
    return this.runs(stage, partition) ? this : undefined;
  }

  /** Whether this process runs partition `partition` of `stage` now. */
  runs(stage: string, partition: number): boolean {
    return this.running && this.actors.get(stage)?.has(partition) === true;
  }

  attach(pipeline: Pipeline, grouping: KeyGrouping, sourcePosition: () => number): void {
    this.pipeline = pipeline;
    this.grouping = grouping;
    this.sourcePosition = sourcePosition;
    this.actors = new Map(
      pipeline.stages.map((stage) => [stage.name, new Map(stage.actors.map((actor) => [actor.partition, actor]))]),
    );
    this.lanes.clear();
    this.laneOf = new Map();
    if (this.logs === undefined) return;
    for (const stage of pipeline.stages) {
      if (this.stores.forStage(stage.name) === undefined) continue;
      const lanes = new Map<number, Lane>();
      for (const { partition } of stage.actors) {
        const commandLane = this.logs(stage.name, partition);
        let lane = this.lanes.get(commandLane.name);
        if (lane === undefined) {
          lane = { ...commandLane, seq: 0, readFrom: 0, maxPosition: 0, replay: [] };
          this.lanes.set(commandLane.name, lane);
        }
        lanes.set(partition, lane);
      }
      this.laneOf.set(stage.name, lanes);
    }
  }

  /**
   * The source's outlet with the replayed commands put back at their places: a command taken in
   * after source position `p` runs before the first message after `p`.
   */
  wrapEntry(entry: Outlet): Outlet {
    return {
      data: (value, timestamp, position) => {
        if (this.replaying) this.injectReplay(position - 1);
        entry.data(value, timestamp, position);
      },
      watermark: (from, watermark, position) => {
        entry.watermark(from, watermark, position);
        if (this.replaying) this.injectReplay(this.sourcePosition());
      },
      idle: (from) => {
        entry.idle(from);
        if (this.replaying) this.injectReplay(this.sourcePosition());
      },
      get congested() {
        return entry.congested;
      },
      whenUncongested: () => entry.whenUncongested(),
    };
  }

  /**
   * After restore and the runners' open: reads the commands the checkpoint's `inputs` do not cover
   * and injects those taken in at or before the source's position now.
   */
  async open(inputs: Readonly<Record<string, number>> | undefined): Promise<void> {
    this.committedInputs = inputs;
    for (const lane of this.lanes.values()) {
      await lane.log.claim?.();
      const { readFrom, seq, records } = await unappliedRecords(lane, inputs);
      lane.readFrom = readFrom;
      lane.maxPosition = readFrom;
      lane.seq = Math.max(seq, ...records.map((logged) => logged.record.seq));
      lane.replay = records;
      if (records.length > 0)
        this.logger.info(
          `state API: replaying ${records.length} write(s) the last checkpoint does not cover (from ${lane.log.description})`,
        );
    }
    this.opened = true;
    this.injectReplay(this.sourcePosition());
  }

  /** The source reached its end (or stopped): the rest of the replay is applied now. */
  sourceFinished(): void {
    if (this.replaying) this.injectReplay(Number.POSITIVE_INFINITY);
  }

  /** Stops taking writes in (for a checkpoint capture). */
  pause(): void {
    this.paused = true;
  }

  /**
   * The positions a checkpoint records (once the partitions drained, every write taken in is
   * durable and applied): per lane, where a replay reads from, and the last `seq` taken in when
   * it differs.
   */
  positions(): Readonly<Record<string, number>> {
    const positions: Record<string, number> = {};
    for (const lane of this.lanes.values()) {
      const readFrom = lane.replay.length > 0 ? lane.readFrom : Math.max(lane.readFrom, lane.maxPosition);
      positions[lane.name] = readFrom;
      if (lane.seq !== readFrom) positions[`${lane.name}.seq`] = lane.seq;
    }
    return positions;
  }

  resume(): void {
    this.paused = false;
    if (this.pipeline !== undefined) this.releaseHeld();
  }

  /**
   * Trims each lane's log up to what the checkpoint before this one recorded: a restore reads after
   * the newest checkpoint's positions, or after the previous one's when it falls back from an
   * unreadable newest, never before.
   */
  committed(inputs: Readonly<Record<string, number>>): void {
    const previous = this.committedInputs;
    this.committedInputs = inputs;
    if (previous === undefined) return;
    for (const lane of this.lanes.values()) {
      const through = previous[lane.name];
      if (through === undefined || lane.log.trimThrough === undefined) continue;
      lane.log.trimThrough(through).catch((error: unknown) => {
        // Not fatal: the next checkpoint trims further.
        this.logger.debug(`state API: could not trim ${lane.log.description} through ${through}: ${String(error)}`);
      });
    }
  }

  /** The run ended: what still waits is answered 503. */
  detach(): void {
    this.pipeline = undefined;
    this.opened = false;
    const notTaken = new StateUnavailableError('the job stopped before the write was taken in: it was not applied');
    for (const pending of this.held) pending.reject(notTaken);
    this.held = [];
    const error = new StateUnavailableError('the job stopped before the request was answered');
    for (const read of this.waiting) read.fail(error);
    this.waiting.clear();
  }

  /**
   * Strong reads: each key answered by its partition after every entry before it. `partition`, when
   * the caller knows it holds every key, saves finding it again (the keys are read in one turn).
   */
  read(store: StateStore, keyTexts: readonly string[], partition?: number): Promise<KeyRead[]> {
    const actor = partition === undefined ? undefined : this.liveActorOf(store, partition);
    if (actor !== undefined)
      return this.call(actor, new PartitionRead(this.waiting, this.confirmed, store, keyTexts, partition!));
    return Promise.all(
      keyTexts.map((keyText) => {
        const key = store.parseKey(keyText);
        const actor = this.ownerOf(store, key);
        return this.call(
          actor,
          new PartitionRead(this.waiting, this.confirmed, store, [keyText], actor.partition),
        ).then(([read]) => read!);
      }),
    );
  }

  /**
   * Checks a command against the partition's tags (400 before anything is logged), then logs it
   * and applies it in a turn of the partition once it is durable. A request id seen before gets the
   * answer of its first attempt; `id` undefined: the request is this call's alone, nothing is kept
   * for a retry (see StateOwners.write). `knownPartition`: the caller found the one partition of the
   * keys. `direct`: what the caller prepared (the command's JSON).
   * @throws StateRequestError when the keys span partitions, StateValueError for a value its tag rejects.
   */
  write(
    store: StateStore,
    command: StateCommand,
    id: string | undefined,
    knownPartition?: number,
    direct?: DirectWrite,
  ): Promise<StateCommandResult> {
    if (this.logs === undefined) throw new StateUnavailableError('this process takes no writes (no command log)');
    const live = knownPartition === undefined ? undefined : this.liveActorOf(store, knownPartition);
    const { actor, partition } =
      live !== undefined
        ? { actor: live, partition: knownPartition! }
        : this.ownerOfAll(
            store,
            command.ops.map((op) => op.key),
          );
    const tags = actor.runner.boundTags();
    // Checked here (400 before anything is logged); applied as checked, with the same bound tags.
    const parsed = command.ops.map((op) => (op.op === 'upsert' ? parseKeyWrite(op.value, tags) : undefined));
    if (id !== undefined) {
      const known = this.answers.get(id);
      if (known !== undefined) return known;
    }
    const answer = new Promise<StateCommandResult>((resolve, reject) => {
      if (this.pipeline === undefined) {
        reject(new StateUnavailableError(`job is not running here: writes need the job running (stator run)`));
        return;
      }
      const pending = new PendingWrite(
        store,
        command,
        id,
        actor,
        partition,
        parsed,
        tags,
        direct?.commandJson,
        resolve,
        reject,
      );
      if (!this.opened || this.paused || this.replaying) this.held.push(pending);
      else this.takeIn(pending);
    });
    if (id !== undefined) this.remember(id, answer);
    return answer;
  }

  /** Splits keys by partition, for a save of keys of several partitions (one command each). */
  partitionOf(store: StateStore, keyText: string): number {
    return this.partitionIndex(store, store.parseKey(keyText));
  }

  private get replaying(): boolean {
    for (const lane of this.lanes.values()) if (lane.replay.length > 0) return true;
    return false;
  }

  private remember(id: string, answer: Promise<StateCommandResult>): void {
    this.answers.set(id, answer);
    // A failed attempt (not taken in, or not durable) may be retried for real.
    answer.catch(() => {
      if (this.answers.get(id) === answer) this.answers.delete(id);
    });
    this.answerOrder.push({ id, answer });
    while (this.answers.size > RECENT_ANSWERS && this.answersHead < this.answerOrder.length) {
      const oldest = this.answerOrder[this.answersHead++]!;
      if (this.answers.get(oldest.id) === oldest.answer) this.answers.delete(oldest.id);
    }
    if (this.answerOrder.length - this.answersHead > 2 * RECENT_ANSWERS) {
      // Mostly forgotten ones (failed attempts): keep the entries still remembered.
      this.answerOrder = this.answerOrder
        .slice(this.answersHead)
        .filter((entry) => this.answers.get(entry.id) === entry.answer);
      this.answersHead = 0;
    } else if (this.answersHead > 1024 && this.answersHead * 2 > this.answerOrder.length) {
      this.answerOrder = this.answerOrder.slice(this.answersHead);
      this.answersHead = 0;
    }
  }

  private lane(stage: string, partition: number): Lane {
    const lane = this.laneOf.get(stage)?.get(partition);
    if (lane === undefined)
      throw new StateUnavailableError(`stage ${stage} partition ${partition} has no command log in this process`);
    return lane;
  }

  private releaseHeld(): void {
    if (this.paused || !this.opened || this.replaying) return;
    const held = this.held;
    this.held = [];
    for (const pending of held) this.takeIn(pending);
  }

  private takeIn(pending: PendingWrite): void {
    const lane = this.lane(pending.store.stage.name, pending.partition);
    const seq = ++lane.seq;
    const after = this.sourcePosition();
    const record: StateCommandRecord =
      pending.id === undefined
        ? { seq, after, command: pending.command }
        : { seq, after, command: pending.command, id: pending.id };
    pending.lane = lane;
    lane.log.append(
      record,
      pending.commandJson === undefined ? undefined : recordJson(record, pending.commandJson),
      pending,
    );
    pending.actor.enqueue(EntryKind.CALL, undefined, (runner: Runner) => pending.run(runner), 0, -1);
  }

  private injectReplay(upTo: number): void {
    if (!this.opened) return;
    for (const lane of this.lanes.values()) {
      while (lane.replay.length > 0 && lane.replay[0]!.record.after <= upTo) {
        const { position, record } = lane.replay.shift()!;
        lane.maxPosition = Math.max(lane.maxPosition, position);
        this.inject(record);
      }
    }
    if (!this.replaying) this.releaseHeld();
  }

  /** Enqueues a replayed record to its partition; its answer is kept for a retry of its request. */
  private inject(record: StateCommandRecord): void {
    const store = this.stores.forStage(record.command.stage);
    if (store === undefined) {
      this.logger.warn(
        `state API: skipped logged write ${record.seq} to stage ${record.command.stage}, which the job no longer has`,
      );
      return;
    }
    let actor: Actor;
    try {
      actor = this.ownerOfAll(
        store,
        record.command.ops.map((op) => op.key),
      ).actor;
    } catch (error) {
      this.logger.warn(`state API: skipped logged write ${record.seq}: ${(error as Error).message}`);
      return;
    }
    let answer: { resolve: (result: StateCommandResult) => void; reject: (error: unknown) => void } | undefined;
    if (record.id !== undefined)
      this.remember(record.id, new Promise((resolve, reject) => (answer = { resolve, reject })));
    const run = (runner: Runner): void => {
      try {
        const result = applyCommand(runner, store, record.command);
        answer?.resolve(result);
        if (result.rejected.length > 0)
          this.logger.warn(
            `state API: replayed write ${record.seq}: ${result.rejected.map((r) => r.reason).join('; ')}`,
          );
      } catch (error) {
        answer?.reject(error);
        this.logger.warn(`state API: replayed write ${record.seq} failed: ${(error as Error).message}`);
      }
    };
    actor.enqueue(EntryKind.CALL, undefined, run, 0, -1);
  }

  /** Runs `read` on the actor between turns; rejects when the run ends first. */
  private call(actor: Actor, read: PartitionRead): Promise<KeyRead[]> {
    if (!this.running)
      return Promise.reject(
        new StateUnavailableError(
          'job is not running here: a strong read needs the job running; read with consistency=eventual (from its checkpoints)',
        ),
      );
    const answer = read.answer();
    this.waiting.add(read);
    actor.enqueue(EntryKind.CALL, undefined, (runner: Runner) => read.run(runner), 0, -1);
    return answer;
  }

  /** The stage's partitions in this process (all of them, or a scaled-out unit's one). */
  private stageInstance(store: StateStore): StageInstance {
    const stage = this.pipeline?.stages.find((s) => s.name === store.stage.name);
    if (stage === undefined)
      throw new StateUnavailableError(
        `job is not running here: stage ${store.stage.name} has no partitions in this process`,
      );
    return stage;
  }

  private partitionIndex(store: StateStore, key: unknown): number {
    const grouping = this.grouping!;
    const keyGroup = grouping.keyGroupFor(
      CoderUtils.encodeToByteArray(store.stage.keyCoder, key),
      grouping.maxKeyGroups,
    );
    return grouping.partitionForKeyGroup(keyGroup, grouping.maxKeyGroups, this.stageInstance(store).parallelism);
  }

  /** The actor of `partition`. @throws StateUnavailableError when this process does not run it. */
  private actorOf(store: StateStore, partition: number): Actor {
    const actor = this.actors.get(this.stageInstance(store).name)?.get(partition);
    if (actor === undefined)
      throw new StateUnavailableError(
        `partition ${partition} of ${store.name} does not run in this process (it moved to another worker)`,
      );
    return actor;
  }

  /** The actor of `partition` while the job runs here and has it (else the callers' usual checks explain why not). */
  private liveActorOf(store: StateStore, partition: number): Actor | undefined {
    return this.running ? this.actors.get(store.stage.name)?.get(partition) : undefined;
  }

  private ownerOf(store: StateStore, key: unknown): Actor {
    if (this.pipeline === undefined)
      throw new StateUnavailableError(
        'job is not running here: a strong read needs the job running; read with consistency=eventual (from its checkpoints)',
      );
    return this.actorOf(store, this.partitionIndex(store, key));
  }

  /** The one partition owning every key. @throws StateRequestError naming the keys when they span partitions. */
  private ownerOfAll(store: StateStore, keyTexts: readonly string[]): { actor: Actor; partition: number } {
    if (this.pipeline === undefined)
      throw new StateUnavailableError('job is not running here: writes need the job running (stator run)');
    const byPartition = new Map<number, string[]>();
    for (const text of keyTexts) {
      const partition = this.partitionIndex(store, store.parseKey(text));
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), text]);
    }
    if (byPartition.size > 1) throw spanningPartitions(store, byPartition);
    const partition = [...byPartition.keys()][0] ?? 0;
    return { actor: this.actorOf(store, partition), partition };
  }
}

/** A strong read refused because the worker's hold on the partition is not confirmed (503). */
function unconfirmed(store: StateStore, partition: number): StateUnavailableError {
  return new StateUnavailableError(
    `partition ${partition} of ${store.name} may have moved: this worker's hold on it is not confirmed (no heartbeat acknowledged lately); ask again`,
  );
}

/** A transaction whose keys fall in several partitions: 400 naming the keys of each. */
export function spanningPartitions(
  store: StateStore,
  byPartition: ReadonlyMap<number, readonly string[]>,
): StateRequestError {
  const spans = [...byPartition]
    .map(([p, keys]) => `partition ${p}: ${keys.map((k) => JSON.stringify(k)).join(', ')}`)
    .join('; ');
  return new StateRequestError(
    'ERR_STATE_TRANSACTION',
    `a transaction is atomic within one partition of ${store.name}, and its keys fall in ${byPartition.size} (${spans}): split it by partition`,
  );
}
