import type { Instant } from '../../coders/index.ts';
import type { Undo } from './cell.ts';
import { Heap } from './heap.ts';
import { timerKey, TimerRecord, type KeyEntry } from './key-entry.ts';
import { StateError } from './state-errors.ts';
import type { StateNamespace } from './state-namespace.ts';
import { TimeDomain } from './time-domain.ts';
import type { TimerData } from './timer-data.ts';
import { checkTimestamp } from './timestamps.ts';

/**
 * The timers of a backend's keys (Beam runners-core's TimerInternals, reduced to what a runner
 * needs). Timers belong to keys: they are checkpointed with the key's state and restored eagerly.
 */
export interface TimerInternals<K = unknown> {
  /**
   * Sets a timer for `timer.key`, or for the current key when omitted. A key has one timer per
   * (namespace, timerId, domain): setting it again replaces the previous firing time.
   * @throws StateError on a non-integer timestamp, or when no key is given and none is current.
   */
  setTimer(timer: TimerData<K>): void;
  /** Deletes the current key's timer; deleting a timer that is not set does nothing. */
  deleteTimer(namespace: StateNamespace, timerId: string, domain: TimeDomain): void;
  /** The current key's timer, if set. */
  getTimer(namespace: StateNamespace, timerId: string, domain: TimeDomain): TimerData<K> | undefined;
  /**
   * Removes and returns the earliest timer of `domain` whose timestamp is at or before `upTo`
   * (inclusive), over all keys; ties fire in the order they were set. undefined when none is due.
   * A runner that wants Beam's "fires once the watermark passes t" passes `watermark - 1`.
   */
  removeNextDueTimer(domain: TimeDomain, upTo: Instant): TimerData<K> | undefined;
  /** The earliest firing time of `domain` over all keys, or undefined when no timer is set. */
  nextTimerTimestamp(domain: TimeDomain): Instant | undefined;
  /**
   * The earliest output timestamp of any pending timer (both domains): a hold on the output watermark. undefined when
   * none.
   */
  minimumOutputTimestamp(): Instant | undefined;
  /** Number of pending timers over all keys. */
  readonly size: number;
}

/** What the timer internals need from their backend. */
export interface TimerHost<K> {
  currentEntry(): KeyEntry<K>;
  entryForKey(key: K): KeyEntry<K>;
  markDirty(entry: KeyEntry<K>): void;
  /** The open turn's undo journal, if any. */
  readonly journal: Undo[] | undefined;
}

const byTimestamp = <K>(a: TimerRecord<K>, b: TimerRecord<K>): boolean =>
  a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.seq < b.seq);
const byOutput = <K>(a: TimerRecord<K>, b: TimerRecord<K>): boolean =>
  a.outputTimestamp < b.outputTimestamp || (a.outputTimestamp === b.outputTimestamp && a.seq < b.seq);

/**
 * Heaps per domain plus one by output timestamp; a replaced or deleted timer is marked dead and
 * skipped when it reaches the top (compacted when dead records outnumber live ones).
 */
export class HeapTimerInternals<K> implements TimerInternals<K> {
  private readonly eventTime = new Heap<TimerRecord<K>>(byTimestamp);
  private readonly processingTime = new Heap<TimerRecord<K>>(byTimestamp);
  private readonly output = new Heap<TimerRecord<K>>(byOutput);
  private live = 0;
  private dead = 0;
  private seq = 0;

  constructor(private readonly host: TimerHost<K>) {}

  get size(): number {
    return this.live;
  }

  setTimer(timer: TimerData<K>): void {
    const entry = timer.key === undefined ? this.host.currentEntry() : this.host.entryForKey(timer.key);
    const timestamp = checkTimestamp(timer.timestamp, `timer '${timer.timerId}'`);
    const outputTimestamp = checkTimestamp(
      timer.outputTimestamp ?? timestamp,
      `timer '${timer.timerId}' output timestamp`,
    );
    if (timer.domain !== TimeDomain.EVENT_TIME && timer.domain !== TimeDomain.PROCESSING_TIME) {
      throw new StateError(
        `timer '${timer.timerId}': time domain '${String(timer.domain)}' is not supported by the runtime; use TimeDomain.EVENT_TIME or PROCESSING_TIME`,
      );
    }
    this.host.markDirty(entry);
    this.journalTimer(entry, timerKey(timer.namespace.stringKey(), timer.timerId, timer.domain));
    this.add(entry, timer.namespace, timer.timerId, timer.domain, timestamp, outputTimestamp, this.seq++);
  }

  /** Adds a timer record (also used by restore, with the stored sequence number). */
  add(
    entry: KeyEntry<K>,
    namespace: StateNamespace,
    timerId: string,
    domain: TimeDomain,
    timestamp: Instant,
    outputTimestamp: Instant,
    seq: number,
  ): void {
    const key = timerKey(namespace.stringKey(), timerId, domain);
    entry.timers ??= new Map();
    const previous = entry.timers.get(key);
    if (previous !== undefined) this.kill(previous);
    const record = new TimerRecord(entry, namespace, timerId, domain, timestamp, outputTimestamp, seq);
    entry.timers.set(key, record);
    this.heapFor(domain).push(record);
    this.output.push(record);
    this.live++;
    if (seq >= this.seq) this.seq = seq + 1;
  }

  deleteTimer(namespace: StateNamespace, timerId: string, domain: TimeDomain): void {
    const entry = this.host.currentEntry();
    const key = timerKey(namespace.stringKey(), timerId, domain);
    const record = entry.timers?.get(key);
    if (record === undefined) return;
    this.host.markDirty(entry);
    this.journalTimer(entry, key);
    entry.timers!.delete(key);
    this.kill(record);
  }

  getTimer(namespace: StateNamespace, timerId: string, domain: TimeDomain): TimerData<K> | undefined {
    const record = this.host.currentEntry().timers?.get(timerKey(namespace.stringKey(), timerId, domain));
    return record === undefined ? undefined : toTimerData(record);
  }

  removeNextDueTimer(domain: TimeDomain, upTo: Instant): TimerData<K> | undefined {
    const heap = this.heapFor(domain);
    const top = this.top(heap);
    if (top === undefined || top.timestamp > upTo) return undefined;
    heap.pop();
    const key = timerKey(top.namespace.stringKey(), top.timerId, top.domain);
    // Before the change: a key of a capture still being written gets its record first.
    this.host.markDirty(top.entry);
    this.journalTimer(top.entry, key);
    top.entry.timers!.delete(key);
    this.kill(top, true);
    return toTimerData(top);
  }

  /** In a turn, remembers the key's timer `key` as it is now, to put it back on rollback. */
  private journalTimer(entry: KeyEntry<K>, key: string): void {
    const journal = this.host.journal;
    if (journal === undefined) return;
    const previous = entry.timers?.get(key);
    journal.push(() => {
      const now = entry.timers?.get(key);
      if (now !== undefined) {
        entry.timers!.delete(key);
        this.kill(now);
      }
      // A fresh record with the old sequence number: it fires exactly where it would have.
      if (previous !== undefined)
        this.add(
          entry,
          previous.namespace,
          previous.timerId,
          previous.domain,
          previous.timestamp,
          previous.outputTimestamp,
          previous.seq,
        );
    });
  }

  nextTimerTimestamp(domain: TimeDomain): Instant | undefined {
    return this.top(this.heapFor(domain))?.timestamp;
  }

  minimumOutputTimestamp(): Instant | undefined {
    return this.top(this.output)?.outputTimestamp;
  }

  private heapFor(domain: TimeDomain): Heap<TimerRecord<K>> {
    return domain === TimeDomain.EVENT_TIME ? this.eventTime : this.processingTime;
  }

  private top(heap: Heap<TimerRecord<K>>): TimerRecord<K> | undefined {
    for (;;) {
      const top = heap.peek();
      if (top === undefined || top.live) return top;
      heap.pop();
      this.dead--; // each dead record sits in two heaps; counted once per heap below
    }
  }

  private kill(record: TimerRecord<K>, poppedFromDomainHeap = false): void {
    record.live = false;
    this.live--;
    // A dead record stays in the output heap and (unless popped) in its domain heap.
    this.dead += poppedFromDomainHeap ? 1 : 2;
    if (this.dead > 1024 && this.dead > 2 * this.live) {
      const alive = (r: TimerRecord<K>): boolean => r.live;
      this.eventTime.retain(alive);
      this.processingTime.retain(alive);
      this.output.retain(alive);
      this.dead = 0;
    }
  }
}

function toTimerData<K>(record: TimerRecord<K>): TimerData<K> {
  return {
    key: record.entry.key,
    namespace: record.namespace,
    timerId: record.timerId,
    domain: record.domain,
    timestamp: record.timestamp,
    outputTimestamp: record.outputTimestamp,
  };
}
