/** What a mailbox entry is: a data message or a control marker, kept in order with the data. */
export const EntryKind = {
  DATA: 0,
  /** A watermark from upstream input `key` (a number); the value slot is unused, the time is in `timestamp`. */
  WATERMARK: 1,
  /** Upstream input `key` went idle: exclude it from the watermark until it sends a watermark again. */
  IDLE: 2,
  /** Processing time advanced to `timestamp`: fire due processing-time timers. */
  PROCESSING_TIME: 3,
  /**
   * A call from outside the task (the state API: a strong read, an external write), run between
   * turns in order with the messages: `value` is an ActorCall.
   */
  CALL: 4,
} as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

/**
 * A partition's inbox: a FIFO ring buffer of (kind, key, value, timestamp, position), stored in parallel
 * arrays so that enqueueing a message allocates nothing.
 *
 * `capacity` is the bound producers respect: a source awaits `whenWritable()` when `isFull()`.
 * Actors emitting downstream may overshoot it by the outputs of one message (they cannot pause in
 * the middle of a turn); the ring grows then, and the upstream actor stops taking messages until
 * this mailbox drains (see PartitionActor), so memory stays bounded by capacity + one turn's output.
 */
export class Mailbox {
  private kinds: Uint8Array;
  private keys: unknown[];
  private values: unknown[];
  private timestamps: Float64Array;
  private positions: Float64Array;
  private head = 0;
  private count = 0;
  private mask: number;
  private waiters: (() => void)[] = [];

  constructor(readonly capacity: number) {
    let size = 16;
    while (size < capacity) size *= 2;
    this.kinds = new Uint8Array(size);
    this.keys = new Array<unknown>(size);
    this.values = new Array<unknown>(size);
    this.timestamps = new Float64Array(size);
    this.positions = new Float64Array(size);
    this.mask = size - 1;
  }

  get size(): number {
    return this.count;
  }

  isFull(): boolean {
    return this.count >= this.capacity;
  }

  push(kind: EntryKind, key: unknown, value: unknown, timestamp: number, position: number): void {
    if (this.count > this.mask) this.grow();
    const i = (this.head + this.count) & this.mask;
    this.kinds[i] = kind;
    this.keys[i] = key;
    this.values[i] = value;
    this.timestamps[i] = timestamp;
    this.positions[i] = position;
    this.count++;
  }

  // Reading the head is split in accessors + shift so the actor's loop allocates no tuple.
  peekKind(): EntryKind {
    return this.kinds[this.head] as EntryKind;
  }
  peekKey(): unknown {
    return this.keys[this.head];
  }
  peekValue(): unknown {
    return this.values[this.head];
  }
  peekTimestamp(): number {
    return this.timestamps[this.head]!;
  }
  peekPosition(): number {
    return this.positions[this.head]!;
  }

  /** Drops the head entry (releasing its references so they can be collected). */
  shift(): void {
    const i = this.head;
    this.keys[i] = undefined;
    this.values[i] = undefined;
    this.head = (i + 1) & this.mask;
    this.count--;
  }

  /** Resolves once the mailbox is at most half full (at once when it already is). */
  whenWritable(): Promise<void> {
    if (this.count <= this.capacity >> 1) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Called by the consumer after taking messages: wakes producers once there is room again. */
  notifyIfWritable(): void {
    if (this.waiters.length === 0) return;
    if (this.count > this.capacity >> 1) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const kinds = new Uint8Array(size);
    const keys = new Array<unknown>(size);
    const values = new Array<unknown>(size);
    const timestamps = new Float64Array(size);
    const positions = new Float64Array(size);
    for (let n = 0; n < this.count; n++) {
      const i = (this.head + n) & this.mask;
      kinds[n] = this.kinds[i]!;
      keys[n] = this.keys[i];
      values[n] = this.values[i];
      timestamps[n] = this.timestamps[i]!;
      positions[n] = this.positions[i]!;
    }
    this.kinds = kinds;
    this.keys = keys;
    this.values = values;
    this.timestamps = timestamps;
    this.positions = positions;
    this.head = 0;
    this.mask = size - 1;
  }
}
