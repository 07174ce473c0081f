/**
 * Where a step sends what it produces: the next step fused in the same turn (stateless steps), a
 * keyed exchange (to partition mailboxes), or a sink. One interface for data and for control
 * markers, so markers stay in order with the data they follow.
 */
export interface Outlet {
  /**
   * One message. `position` is the input position it derives from (byte offset in the source, or
   * -1 for timer outputs), carried so a dead letter can say where its message came from.
   */
  data(value: unknown, timestamp: number, position: number): void;
  /**
   * Upstream input `from` reached `watermark`, having processed input up to `position` (the
   * source position when the marker was sent: it tells order-keeping merges that quiet partitions
   * have progressed).
   */
  watermark(from: number, watermark: number, position: number): void;
  /** Upstream input `from` went idle. */
  idle(from: number): void;
  /** True when something downstream is over its bound: producers should stop and await `whenUncongested`. */
  readonly congested: boolean;
  /** Resolves once nothing downstream is over its bound. */
  whenUncongested(): Promise<void>;
}

/** What is written to the dead-letter sink: a message that could not be processed, and why. */
export interface DeadLetter {
  /** The step that failed: the source name (undecodable input), a step name, or a stage name. */
  readonly stage: string;
  readonly partition?: number;
  /** Byte offset (embedded) or sequence (NATS) of the input message; -1 when not from an input message (timers). */
  readonly position: number;
  readonly error: unknown;
  readonly attempts: number;
  /** The raw input text, when the message could not be decoded. */
  readonly raw?: string;
  /** The original input bytes, when they are not valid UTF-8 text (there is no `raw` then). */
  readonly bytes?: Uint8Array;
  readonly key?: unknown;
  readonly value?: unknown;
}

/** Receives dead letters; never throws (a failure to record one fails the job instead). */
export type DeadLetterReceiver = (letter: DeadLetter) => void;

type StatelessStep =
  | { readonly kind: 'map'; readonly name: string; readonly fn: (value: unknown) => unknown }
  | { readonly kind: 'flatMap'; readonly name: string; readonly fn: (value: unknown) => Iterable<unknown> }
  | { readonly kind: 'filter'; readonly name: string; readonly fn: (value: unknown) => boolean };

/**
 * Fuses a stateless step in front of `next` (operator chaining): it runs in the turn of whatever
 * produced the value, with no mailbox hop. A throwing function sends the message to the dead-letter
 * sink at once: stateless functions are expected to be pure, so a retry would throw again.
 */
export function statelessOutlet(step: StatelessStep, next: Outlet, deadLetter: DeadLetterReceiver): Outlet {
  const fail = (value: unknown, position: number, error: unknown): void =>
    deadLetter({ stage: step.name, position, error, attempts: 1, value });
  let data: (value: unknown, timestamp: number, position: number) => void;
  switch (step.kind) {
    case 'map': {
      const fn = step.fn;
      data = (value, timestamp, position) => {
        let out: unknown;
        try {
          out = fn(value);
        } catch (error) {
          fail(value, position, error);
          return;
        }
        next.data(out, timestamp, position);
      };
      break;
    }
    case 'filter': {
      const fn = step.fn;
      data = (value, timestamp, position) => {
        let keep: boolean;
        try {
          keep = fn(value);
        } catch (error) {
          fail(value, position, error);
          return;
        }
        if (keep) next.data(value, timestamp, position);
      };
      break;
    }
    case 'flatMap': {
      const fn = step.fn;
      data = (value, timestamp, position) => {
        let out: Iterable<unknown>;
        try {
          out = fn(value);
        } catch (error) {
          fail(value, position, error);
          return;
        }
        // Arrays (the common case) are iterated by index: no iterator object per message.
        if (Array.isArray(out)) {
          for (let i = 0; i < out.length; i++) next.data(out[i], timestamp, position);
          return;
        }
        // A generator may throw half-way: what it yielded before stays emitted, the rest is a dead letter.
        try {
          for (const item of out) next.data(item, timestamp, position);
        } catch (error) {
          fail(value, position, error);
        }
      };
      break;
    }
  }
  return {
    data,
    watermark: (from, watermark, position) => next.watermark(from, watermark, position),
    idle: (from) => next.idle(from),
    get congested() {
      return next.congested;
    },
    whenUncongested: () => next.whenUncongested(),
  };
}
