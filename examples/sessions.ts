// Sessions: groups each user's page views into sessions that end after 30 minutes without a view
// (event time). Input: JSON lines {"user", "ts" (epoch millis), "page"}, up to 10 s out of order.
// A BagState collects the session's pages, ValueStates its start and last view, and an event-time
// timer at last view + gap closes it: when the watermark passes the timer, the session is emitted
// as {"user", "start", "end", "pages"}. (A view more than a gap after the last one also closes the
// session, for when it arrives before the watermark passed the timer.) At the end of a bounded
// input the final watermark closes every open session.
//
//   npx stator run examples/sessions.ts --input examples/data/clicks.jsonl --output out/sessions.jsonl
import { StatefulTask, StateTags, StringUtf8Coder, TimeDomain, VarLongCoder } from '../src/index.ts';
import type { BagState, FiredTimer, Message, OutputContext, ProcessContext, Timer, TimerContext, ValueState } from '../src/index.ts';
import { defineJob, json, jsonLines } from '../runtime/index.ts';

export interface PageView {
  readonly user: string;
  readonly ts: number;
  readonly page: string;
}

export interface Session {
  readonly user: string;
  readonly start: number;
  readonly end: number;
  readonly pages: readonly string[];
}

/** A session ends after this long without a page view. */
export const SESSION_GAP_MS = 30 * 60 * 1000;

export class Sessionize extends StatefulTask<PageView, Session, string> {
  private static readonly PAGES = StateTags.bag('pages', StringUtf8Coder.of());
  private static readonly START = StateTags.value('start', VarLongCoder.of());
  private static readonly LAST = StateTags.value('last', VarLongCoder.of());
  private pages!: BagState<string>;
  private start!: ValueState<number | bigint>;
  private last!: ValueState<number | bigint>;
  private gapTimer!: Timer;

  override open(): void {
    this.pages = this.state(Sessionize.PAGES);
    this.start = this.state(Sessionize.START);
    this.last = this.state(Sessionize.LAST);
    this.gapTimer = this.timer('gap', TimeDomain.EVENT_TIME);
  }

  override invoke(message: Message<PageView, string>, ctx: ProcessContext<Session, string>): void {
    const ts = message.value.ts;
    // The watermark moves after a message, so a view can arrive before the timer of the session
    // it ends has fired (nobody clicked in between): close that session here first.
    const previous = this.last.read();
    if (previous !== null && ts - Number(previous) >= SESSION_GAP_MS) this.closeSession(message.key, ctx);
    const start = this.start.read();
    const last = this.last.read();
    if (start === null || ts < Number(start)) this.start.write(ts);
    const newLast = last === null || ts > Number(last) ? ts : Number(last);
    this.last.write(newLast);
    this.pages.add(message.value.page);
    // One timer per user: setting it again moves it to the new end of the session.
    this.gapTimer.set(newLast + SESSION_GAP_MS);
  }

  override onTimer(timer: FiredTimer<string>, ctx: TimerContext<Session, string>): void {
    this.closeSession(timer.key, ctx);
  }

  private closeSession(user: string, ctx: OutputContext<Session, string>): void {
    ctx.emit({
      user,
      start: Number(this.start.read()),
      end: Number(this.last.read()),
      pages: [...this.pages.read()],
    });
    this.pages.clear();
    this.start.clear();
    this.last.clear();
  }
}

export const job = defineJob({ name: 'sessions' })
  .source(jsonLines<PageView>({ timestamp: (view) => view.ts, maxOutOfOrdernessMs: 10_000 }))
  .keyBy((view) => view.user, StringUtf8Coder.of())
  .process(() => new Sessionize(), { name: 'sessionize', parallelism: 2 })
  .sink(json<Session>());

export default job;
