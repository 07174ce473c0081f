// Sessions: groups each user's page views into sessions that end after 30 minutes without a view
// (event time), the Beam way: Sessions.withGapDuration(30 min) windows the views; each view's window
// [ts, ts + gap) merges with the user's overlapping windows (StateMerging merges their pages); when
// the watermark passes the end of a session window, the session is emitted as
// {"user", "start", "end" (the last view), "pages"}. Input: JSON lines {"user", "ts" (epoch millis),
// "page"}, up to 10 s out of order. At the end of a bounded input the final watermark closes every
// open session.
//
//   npx stator run examples/sessions.ts --input examples/data/clicks.jsonl --output out/sessions.jsonl
import { IntervalWindow, StateMerging, StateTags, StringUtf8Coder } from '../src/index.ts';
import { Sessions, WindowedTask, WindowingStrategy } from '../src/index.ts';
import type { OnMergeContext, OnTriggerContext, ProcessValueContext, WindowContext } from '../src/index.ts';
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

export class Sessionize extends WindowedTask<PageView, Session, string, IntervalWindow> {
  private static readonly PAGES = StateTags.bag('pages', StringUtf8Coder.of());

  constructor() {
    super(WindowingStrategy.of(Sessions.withGapDuration(SESSION_GAP_MS)));
  }

  protected processValue(c: ProcessValueContext<PageView, string, IntervalWindow>): void {
    c.state(Sessionize.PAGES).add(c.value.page);
  }

  protected override onMerge(c: OnMergeContext<string, IntervalWindow>): void {
    StateMerging.mergeBags(c, Sessionize.PAGES);
  }

  protected onTrigger(c: OnTriggerContext<Session, string, IntervalWindow>): void {
    // A session window runs from its first view to its last view + the gap.
    c.output({
      user: c.key,
      start: Number(c.window.start),
      end: Number(c.window.end) - SESSION_GAP_MS,
      pages: [...c.state(Sessionize.PAGES).read()],
    });
  }

  protected clearState(c: WindowContext<string, IntervalWindow>): void {
    c.state(Sessionize.PAGES).clear();
  }
}

export const job = defineJob({ name: 'sessions' })
  .source(jsonLines<PageView>({ timestamp: (view) => view.ts, maxOutOfOrdernessMs: 10_000 }))
  .keyBy((view) => view.user, StringUtf8Coder.of())
  .process(() => new Sessionize(), { name: 'sessionize', parallelism: 2 })
  .sink(json<Session>());

export default job;
