import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JsonCoder, StringUtf8Coder, TimestampedValue, VarIntCoder, type Instant } from '../../coders/index.ts';
import * as Stator from '../../src/index.ts';
import {
  StateTags,
  TimeDomain,
  TimestampCombiner,
  type BagState,
  type CombineFn,
  type CombiningState,
  type MapState,
  type OrderedListState,
  type SetState,
  type ValueState,
  type WatermarkHoldState,
} from '../../src/state/index.ts';
import {
  StatefulTask,
  TaskHarness,
  TimerSpecs,
  type FiredTimer,
  type Message,
  type ProcessContext,
  type Timer,
  type TimerContext,
} from '../../src/task/index.ts';

// A stateful DoFn written the way a Beam Java user writes one, with only TypeScript syntax changed:
// Beam's "buffer until a timer, then flush" pattern (the Beam blog's "Timely (and Stateful)
// Processing" example), extended to exercise each state kind.
//
//   @StateId("buffer") StateSpec<BagState<Event>>            -> StateTags.bag('buffer', coder)
//   @StateId("count")  StateSpec<ValueState<Integer>>        -> StateTags.value('count', VarIntCoder.of())
//   @TimerId("expiry") TimerSpec = TimerSpecs.timer(EVENT_TIME) -> this.timer('expiry', TimerSpecs.timer(...))
//   @ProcessElement process(ctx, @StateId... , @TimerId...)  -> invoke(message, ctx), handles from open()
//   @OnTimer("expiry") onExpiry(OnTimerContext ctx, ...)     -> onTimer(timer, ctx), switch on timer.timerId

interface Event {
  readonly user: string;
  readonly page: string;
  readonly ms: number;
}

interface Summary {
  readonly user: string;
  readonly reason: 'full' | 'expired' | 'stale';
  readonly events: number;
  readonly pages: string[];
  readonly hitsPerPage: Record<string, number>;
  readonly inOrder: string[];
  readonly totalMs: number;
}

const SumMs: CombineFn<number, number, number> = {
  createAccumulator: () => 0,
  addInput: (acc, input) => acc + input,
  mergeAccumulators: (accs) => [...accs].reduce((a, b) => a + b, 0),
  extractOutput: (acc) => acc,
};

const MAX_BUFFER_SIZE = 3;
const ALLOWED_LATENESS_MS = 1_000;
const STALE_AFTER_MS = 10_000;

class EnrichEvents extends StatefulTask<Event, Summary, string> {
  static readonly BUFFER = StateTags.bag('buffer', JsonCoder.of<Event>());
  static readonly COUNT = StateTags.value('count', VarIntCoder.of());
  static readonly PAGES = StateTags.set('pages', StringUtf8Coder.of());
  static readonly HITS = StateTags.map('hits', StringUtf8Coder.of(), VarIntCoder.of());
  static readonly ORDERED = StateTags.orderedList('ordered', StringUtf8Coder.of());
  static readonly TOTAL_MS = StateTags.combiningValue('totalMs', VarIntCoder.of(), SumMs);
  static readonly HOLD = StateTags.watermarkStateInternal('hold', TimestampCombiner.EARLIEST);
  static readonly EXPIRY = TimerSpecs.timer(TimeDomain.EVENT_TIME);

  private bufferState!: BagState<Event>;
  private countState!: ValueState<number>;
  private pages!: SetState<string>;
  private hits!: MapState<string, number>;
  private ordered!: OrderedListState<string>;
  private totalMs!: CombiningState<number, number, number>;
  private hold!: WatermarkHoldState;
  private expiryTimer!: Timer;
  private staleTimer!: Timer;

  override open(): void {
    this.bufferState = this.state(EnrichEvents.BUFFER);
    this.countState = this.state(EnrichEvents.COUNT);
    this.pages = this.state(EnrichEvents.PAGES);
    this.hits = this.state(EnrichEvents.HITS);
    this.ordered = this.state(EnrichEvents.ORDERED);
    this.totalMs = this.state(EnrichEvents.TOTAL_MS);
    this.hold = this.state(EnrichEvents.HOLD);
    this.expiryTimer = this.timer('expiry', EnrichEvents.EXPIRY);
    this.staleTimer = this.timer('stale', TimeDomain.EVENT_TIME);
  }

  invoke(message: Message<Event, string>, context: ProcessContext<Summary, string>): void {
    const event = message.value;
    // expiryTimer.set(window.maxTimestamp().plus(allowedLateness)) — a per-minute window here.
    const windowEnd = Math.floor((message.timestamp as number) / 60_000) * 60_000 + 59_999;
    this.expiryTimer.withOutputTimestamp(message.timestamp).set(windowEnd + ALLOWED_LATENESS_MS);
    // A garbage-collection timer aligned to 10-second boundaries after the current watermark.
    this.staleTimer.offset(STALE_AFTER_MS).align(STALE_AFTER_MS).setRelative();

    const count = (this.countState.read() ?? 0) + 1;
    this.countState.write(count);
    this.bufferState.add(event);
    this.pages.add(event.page);
    this.hits.put(event.page, (this.hits.get(event.page).read() ?? 0) + 1);
    this.ordered.add(TimestampedValue.of(event.page, message.timestamp));
    this.totalMs.add(event.ms);
    this.hold.add(message.timestamp);

    if (count >= MAX_BUFFER_SIZE) {
      context.output(this.summarize(message.key, 'full'));
      this.clearAll();
    }
  }

  override onTimer(timer: FiredTimer<string>, context: TimerContext<Summary, string>): void {
    switch (timer.timerId) {
      case 'expiry':
      case 'stale':
        if (!this.bufferState.isEmpty().read()) {
          const at = this.hold.read() ?? context.timestamp;
          context.outputWithTimestamp(
            this.summarize(context.key, timer.timerId === 'expiry' ? 'expired' : 'stale'),
            at,
          );
          this.clearAll();
        }
        break;
    }
  }

  // Outputs at the hold (the earliest buffered timestamp) are behind the timer's own timestamp.
  override allowedTimestampSkewMs = Number.POSITIVE_INFINITY;

  private summarize(user: string, reason: Summary['reason']): Summary {
    const hitsPerPage: Record<string, number> = {};
    for (const [page, n] of this.hits.entries().read()) hitsPerPage[page] = n;
    return {
      user,
      reason,
      events: [...this.bufferState.read()].length,
      pages: [...this.pages.read()].sort(),
      hitsPerPage,
      inOrder: [...this.ordered.read()].map((tv) => tv.value),
      totalMs: this.totalMs.read(),
    };
  }

  private clearAll(): void {
    this.bufferState.clear();
    this.countState.clear();
    this.pages.clear();
    this.hits.clear();
    this.ordered.clear();
    this.totalMs.clear();
    this.hold.clear();
    this.expiryTimer.clear();
    this.staleTimer.clear();
  }
}

const options = { keyCoder: StringUtf8Coder.of() };
const ev = (user: string, page: string, ms: number): Event => ({ user, page, ms });

test('Beam-style buffering DoFn: flushes when the buffer is full, with every state kind', async () => {
  const h = TaskHarness.of(() => new EnrichEvents(), options);
  await h.open();
  await h.process('ann', ev('ann', '/b', 5), 3_000);
  await h.process('ann', ev('ann', '/a', 7), 1_000);
  await h.process('ann', ev('ann', '/b', 11), 2_000);
  assert.equal(h.outputs, [
    {
      key: 'ann',
      timestamp: 2_000,
      value: {
        user: 'ann',
        reason: 'full',
        events: 3,
        pages: ['/a', '/b'],
        hitsPerPage: { '/b': 2, '/a': 1 },
        inOrder: ['/a', '/b', '/b'],
        totalMs: 23,
      },
    },
  ]);
  assert.equal(h.keys(), [], 'everything cleared, timers too');
});

test('Beam-style buffering DoFn: the stale timer flushes early; the hold keeps the output on time', async () => {
  const h = TaskHarness.of(() => new EnrichEvents(), options);
  await h.open();
  await h.advanceWatermark(1_000);
  await h.process('bob', ev('bob', '/x', 1), 1_500);
  await h.process('bob', ev('bob', '/y', 2), 1_200);
  assert.is(await h.advanceWatermark(9_000), 1_200, 'held at the earliest buffered element');
  assert.is(await h.advanceWatermark(10_001), 10_001);
  assert.equal(h.outputs, [
    {
      key: 'bob',
      timestamp: 1_200,
      value: {
        user: 'bob',
        reason: 'stale',
        events: 2,
        pages: ['/x', '/y'],
        hitsPerPage: { '/x': 1, '/y': 1 },
        inOrder: ['/y', '/x'],
        totalMs: 3,
      },
    },
  ]);
  assert.equal(
    h.firedTimers.map((t) => [t.timerId, t.timestamp]),
    [['stale', 10_000]],
    'stale: watermark 1000 + offset 10000, aligned up to the 10 s grid shifted by the offset; expiry was cleared by the flush',
  );
});

test('Beam-style buffering DoFn: state and timers survive a snapshot; the restored task flushes on expiry', async () => {
  const h = TaskHarness.of(() => new EnrichEvents(), options);
  await h.open();
  await h.process('cy', ev('cy', '/p', 4), 61_000);
  const snapshot = h.snapshot();
  await h.close();
  const restored = await TaskHarness.restore(() => new EnrichEvents(), snapshot, options);
  assert.equal(restored.state('cy', EnrichEvents.COUNT).read(), 1);
  assert.equal([...restored.state('cy', EnrichEvents.PAGES).read()], ['/p']);
  await restored.advanceWatermarkToInfinity();
  assert.equal(
    restored.outputs.map((o) => [o.value.reason, o.timestamp]),
    [['stale', 61_000]],
    'the stale timer (watermark at MIN + 10 s) comes first, then nothing is left for expiry',
  );
});

test('the README counter runs as shown, through the package barrel', async () => {
  const COUNT = Stator.StateTags.value('count', Stator.VarLongCoder.of());
  class CountPerKey extends Stator.StatefulTask<string, string, string> {
    private count!: Stator.ValueState<number | bigint>;
    override open() {
      this.count = this.state(COUNT);
    }
    invoke(message: Stator.Message<string, string>, ctx: Stator.ProcessContext<string, string>) {
      const n = Number(this.count.read() ?? 0) + 1;
      this.count.write(n);
      ctx.emit(`${message.key}: ${n}`);
    }
  }
  const h = Stator.TaskHarness.of(() => new CountPerKey(), { keyCoder: Stator.StringUtf8Coder.of() });
  await h.open();
  for (const word of ['to', 'be', 'or', 'not', 'to', 'be']) await h.process(word, word, 1_000);
  assert.equal(h.outputValues(), ['to: 1', 'be: 1', 'or: 1', 'not: 1', 'to: 2', 'be: 2']);
  assert.is(h.state('to', COUNT).read(), 2);
  const h2 = await Stator.TaskHarness.restore(() => new CountPerKey(), h.snapshot(), {
    keyCoder: Stator.StringUtf8Coder.of(),
  });
  await h2.process('to', 'to', 2_000);
  assert.equal(h2.outputValues(), ['to: 3']);
});

test('handles act on the key in scope: one handle, many keys', async () => {
  const LAST = StateTags.value('last', StringUtf8Coder.of());
  class Last extends StatefulTask<string, string, string> {
    private last!: ValueState<string>;
    override open(): void {
      this.last = this.state(LAST);
    }
    invoke(m: Message<string, string>, ctx: ProcessContext<string, string>): void {
      ctx.emit(`${m.key} was ${this.last.read()}`);
      this.last.write(m.value);
    }
  }
  const h = TaskHarness.of(() => new Last(), options);
  await h.open();
  await h.processAll([
    { key: 'a', value: '1' },
    { key: 'b', value: '2' },
    { key: 'a', value: '3' },
  ]);
  assert.equal(h.outputValues(), ['a was null', 'b was null', 'a was 1']);
  assert.is(h.state('b', LAST).read(), '2');
});

test('onWatermark is called after due timers, with the watermark', async () => {
  const seen: string[] = [];
  class Watch extends StatefulTask<string, string, string> {
    invoke(): void {
      this.timer('t', TimeDomain.EVENT_TIME).set(5);
    }
    override onTimer(t: FiredTimer<string>): void {
      seen.push(`timer ${t.timestamp}`);
    }
    override onWatermark(w: Instant): void {
      seen.push(`watermark ${w}`);
    }
  }
  const h = TaskHarness.of(() => new Watch(), options);
  await h.open();
  await h.process('k', '', 1);
  await h.advanceWatermark(10);
  assert.equal(seen, ['timer 5', 'watermark 10']);
});

test.run();
