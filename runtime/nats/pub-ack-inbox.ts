// The JetStream acknowledgements of plain publishes, all on one inbox subscription: a publish that
// asks for one names `<inbox><ordinal>.<attempt>` as its reply subject, and its answer is routed back
// by those two numbers, with no request, promise or timer per message. One timer looks for answers
// overdue, armed while the owner has publishes out.
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { natsCore } from '../deferred-packages.ts';

/** The fields of a JetStream API error, as its JSON answer carries them. */
export interface PubAckErrorFields {
  readonly code?: number;
  readonly err_code?: number;
  readonly description?: string;
}

/** What JetStream answered to one publish attempt. */
export type PubAckAnswer =
  /** Stored at `seq`, or recognised as a duplicate of the message stored there. */
  | { readonly kind: 'stored'; readonly seq: number; readonly duplicate: boolean }
  /** An API error (the publish was not stored). */
  | { readonly kind: 'error'; readonly error: PubAckErrorFields }
  /** No stream listens on the subject (or, while a server restarts, not yet). */
  | { readonly kind: 'no-responders' }
  /** Not a PubAck nor an API error. */
  | { readonly kind: 'unreadable'; readonly text: string; readonly cause: unknown };

export interface PubAckInboxHandlers {
  /** The answer to attempt `attempt` of publish `ordinal` (the numbers of its reply subject). */
  onAnswer(ordinal: number, attempt: number, answer: PubAckAnswer): void;
  /**
   * A check for answers overdue, `watch`ed for: returns in how many ms to check again, or undefined
   * when nothing is out (the next watch() arms the check again).
   */
  onOverdueCheck(): number | undefined;
  /** The subscription failed: no answer comes any more. Unset, such errors are ignored. */
  onSubscriptionError?(error: Error): void;
}

const decoder = new TextDecoder();
const SEQ_FIELD = '"seq":';

/**
 * Reads an answer. The common PubAck (no error) is read without JSON.parse: a sink that asks for
 * every message's acknowledgement reads one per message.
 */
export function readPubAck(data: Uint8Array): PubAckAnswer {
  const text = decoder.decode(data);
  if (!text.includes('"error"')) {
    const seq = seqOf(text);
    // nats-server writes `"duplicate":true`; a JSON writer may put a space after the colon.
    if (seq >= 0)
      return { kind: 'stored', seq, duplicate: text.includes('"duplicate"') && /"duplicate":\s*true/.test(text) };
  }
  let parsed: { seq?: unknown; duplicate?: unknown; error?: PubAckErrorFields };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (cause) {
    return { kind: 'unreadable', text, cause };
  }
  if (typeof parsed !== 'object' || parsed === null) return { kind: 'unreadable', text, cause: undefined };
  if (parsed.error !== undefined) return { kind: 'error', error: parsed.error };
  if (typeof parsed.seq !== 'number') return { kind: 'unreadable', text, cause: undefined };
  return { kind: 'stored', seq: parsed.seq, duplicate: parsed.duplicate === true };
}

/** The `seq` field's digits (after optional spaces), or -1 when the text has no such field. */
function seqOf(text: string): number {
  const at = text.indexOf(SEQ_FIELD);
  if (at < 0) return -1;
  let i = at + SEQ_FIELD.length;
  while (text.charCodeAt(i) === 0x20) i++;
  let seq = 0;
  const from = i;
  for (let c = text.charCodeAt(i); c >= 0x30 && c <= 0x39; c = text.charCodeAt(++i)) seq = seq * 10 + (c - 0x30);
  return i === from ? -1 : seq;
}

/** See the top of this file. close() unsubscribes and stops the timer. */
export class PubAckInbox {
  /** Reply subjects are `<prefix><ordinal>.<attempt>`. */
  private readonly prefix = `${natsCore().createInbox()}.`;
  private readonly subscription: Subscription;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly handlers: PubAckInboxHandlers,
  ) {
    this.subscription = nc.subscribe(`${this.prefix}>`, {
      callback: (error, msg) => {
        if (error === null) this.route(msg);
        else handlers.onSubscriptionError?.(error);
      },
    });
  }

  /** The reply subject of attempt `attempt` of publish `ordinal`. */
  replySubject(ordinal: number, attempt: number): string {
    return `${this.prefix}${ordinal}.${attempt}`;
  }

  /** Checks for answers overdue in `delayMs`, unless a check is armed already. */
  watch(delayMs: number): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(this.check, Math.max(1, delayMs));
  }

  private readonly check = (): void => {
    this.timer = undefined;
    const next = this.handlers.onOverdueCheck();
    if (next !== undefined) this.watch(next);
  };

  private route(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    const dot = token.indexOf('.');
    const ordinal = Number(token.slice(0, dot));
    const attempt = Number(token.slice(dot + 1));
    const answer: PubAckAnswer =
      msg.data.length === 0 && msg.headers?.code === 503 ? { kind: 'no-responders' } : readPubAck(msg.data);
    this.handlers.onAnswer(ordinal, attempt, answer);
  }

  /** Stops the overdue checks and the subscription. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.nc.isClosed()) this.subscription.unsubscribe();
  }
}
