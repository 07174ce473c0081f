import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BoundedWindow,
  GlobalWindow,
  IntervalWindow,
  IntervalWindowCoder,
  StringUtf8Coder,
  VarIntCoder,
  type Instant,
} from '../../coders/index.ts';
import { StateNamespaces, StateTags, TimeDomain, type ValueState } from '../../src/state/index.ts';
import {
  OutputTimestampError,
  StatefulTask,
  TaskHarness,
  TimerError,
  TimerSpecs,
  type FiredTimer,
  type Message,
  type ProcessContext,
  type Timer,
  type TimerContext,
} from '../../src/task/index.ts';
import { alignedTarget } from '../../src/task/timer.ts';

const keyCoder = StringUtf8Coder.of();

/** A command per message: which timer to touch and how. */
type Command =
  | { op: 'set'; id: string; at: Instant; output?: Instant }
  | { op: 'relative'; id: string; offset?: number; align?: number }
  | { op: 'clear'; id: string }
  | { op: 'processing'; id: string; offset: number };

/** Sets event-time timers by command; on firing, emits `key:id@time` and may set a follow-up timer. */
class TimerTask extends StatefulTask<Command, string, string> {
  private timers = new Map<string, Timer>();
  chained: { from: string; to: string; at: (t: Instant) => Instant } | undefined;

  private timerFor(id: string, domain: TimeDomain = TimeDomain.EVENT_TIME): Timer {
    let t = this.timers.get(domain + id);
    if (t === undefined) {
      t = this.timer(id, domain);
      this.timers.set(domain + id, t);
    }
    return t;
  }

  invoke(m: Message<Command, string>): void {
    const c = m.value;
    if (c.op === 'set') {
      const t = this.timerFor(c.id);
      if (c.output !== undefined) t.withOutputTimestamp(c.output);
      t.set(c.at);
    } else if (c.op === 'relative') {
      const t = this.timerFor(c.id);
      if (c.offset !== undefined) t.offset(c.offset);
      if (c.align !== undefined) t.align(c.align);
      t.setRelative();
    } else if (c.op === 'clear') {
      this.timerFor(c.id).clear();
    } else {
      this.timerFor(c.id, TimeDomain.PROCESSING_TIME).offset(c.offset).setRelative();
    }
  }

  override onTimer(timer: FiredTimer<string>, ctx: TimerContext<string, string>): void {
    ctx.emit(`${ctx.key}:${timer.timerId}@${timer.timestamp}`);
    const chain = this.chained;
    if (chain !== undefined && timer.timerId === chain.from) this.timerFor(chain.to).set(chain.at(timer.timestamp));
  }
}

async function harness(task = new TimerTask()): Promise<TaskHarness<Command, string, string>> {
  const h = TaskHarness.of(() => task, { keyCoder });
  await h.open();
  return h;
}

test('timers fire in timestamp order across keys, once the watermark passes them', async () => {
  const h = await harness();
  await h.process('b', { op: 'set', id: 't', at: 30 }, 1);
  await h.process('a', { op: 'set', id: 't', at: 10 }, 1);
  await h.process('c', { op: 'set', id: 't', at: 20 }, 1);
  await h.advanceWatermark(20);
  assert.equal(
    h.outputValues(),
    ['a:t@10'],
    'a timer at exactly the watermark has not fired yet (Beam: fires once passed)',
  );
  await h.advanceWatermark(31);
  assert.equal(h.outputValues(), ['a:t@10', 'c:t@20', 'b:t@30']);
  assert.equal(
    h.firedTimers.map((t) => [t.key, t.timerId, t.timestamp, t.domain]),
    [
      ['a', 't', 10, 'EVENT_TIME'],
      ['c', 't', 20, 'EVENT_TIME'],
      ['b', 't', 30, 'EVENT_TIME'],
    ],
  );
});

test('timers with equal timestamps fire in the order they were set', async () => {
  const h = await harness();
  for (const key of ['k3', 'k1', 'k2']) await h.process(key, { op: 'set', id: 'x', at: 50 }, 1);
  await h.process('k1', { op: 'set', id: 'y', at: 50 }, 1);
  await h.advanceWatermark(51);
  assert.equal(h.outputValues(), ['k3:x@50', 'k1:x@50', 'k2:x@50', 'k1:y@50']);
});

test('setting a timer again replaces its firing time (one per key, namespace and id)', async () => {
  const h = await harness();
  await h.process('a', { op: 'set', id: 't', at: 10 }, 1);
  await h.process('a', { op: 'set', id: 't', at: 40 }, 2);
  await h.process('b', { op: 'set', id: 't', at: 10 }, 3);
  await h.advanceWatermark(20);
  assert.equal(h.outputValues(), ['b:t@10']);
  await h.advanceWatermark(100);
  assert.equal(h.outputValues(), ['b:t@10', 'a:t@40']);
});

test('clear removes a pending timer; clearing an unset timer does nothing', async () => {
  const h = await harness();
  await h.process('a', { op: 'set', id: 't', at: 10 }, 1);
  await h.process('a', { op: 'clear', id: 't' }, 2);
  await h.process('b', { op: 'clear', id: 'never' }, 2);
  await h.advanceWatermarkToInfinity();
  assert.equal(h.outputValues(), []);
  assert.equal(h.keys(), []);
});

test('a timer set while firing that is already due fires in the same advance', async () => {
  const task = new TimerTask();
  task.chained = { from: 'first', to: 'second', at: (t) => (t as number) + 5 };
  const h = await harness(task);
  await h.process('a', { op: 'set', id: 'first', at: 10 }, 1);
  await h.process('b', { op: 'set', id: 'x', at: 12 }, 1);
  await h.advanceWatermark(16);
  assert.equal(h.outputValues(), ['a:first@10', 'b:x@12', 'a:second@15']);
});

test('setRelative counts from the input watermark, shifted by offset', async () => {
  const h = await harness();
  await h.advanceWatermark(1_000);
  await h.process('a', { op: 'relative', id: 't', offset: 250 }, 1_000);
  await h.advanceWatermark(1_251);
  assert.equal(h.outputValues(), ['a:t@1250']);
});

test('align rounds the relative target up to the next period boundary, offset shifting the grid', () => {
  assert.is(alignedTarget(1_000, 0, 0), 1_000);
  assert.is(alignedTarget(1_000, 30, 0), 1_030);
  assert.is(alignedTarget(1_000, 0, 60), 1_020, 'next multiple of 60 at or after 1000');
  assert.is(alignedTarget(1_020, 0, 60), 1_020, 'already on the grid: stays');
  assert.is(alignedTarget(1_000, 10, 60), 1_010, '(t + 10) % 60 == 0');
  assert.is(alignedTarget(-25, 0, 60), 0, 'floor remainder before 1970');
  assert.is(alignedTarget(-70, 0, 60), -60);
  const min = BoundedWindow.TIMESTAMP_MIN_VALUE;
  const aligned = alignedTarget(min, 0, 1_000);
  assert.ok(
    aligned >= min && BigInt(aligned) % 1000n === 0n && BigInt(aligned) - BigInt(min) < 1000n,
    'works on bigint instants',
  );
});

test('align and offset apply to one turn only, as a Beam Timer lives for one invocation', async () => {
  const h = await harness();
  await h.advanceWatermark(1_000);
  await h.process('a', { op: 'relative', id: 't', align: 60 }, 1_000);
  await h.process('b', { op: 'relative', id: 't' }, 1_000); // same handle: no align any more
  await h.advanceWatermark(BoundedWindow.TIMESTAMP_MAX_VALUE);
  assert.equal(h.outputValues(), ['b:t@1000', 'a:t@1020']);
});

test('processing-time timers fire when processing time passes them, not on the watermark', async () => {
  const h = TaskHarness.of(() => new TimerTask(), { keyCoder, initialProcessingTime: 5_000 });
  await h.open();
  await h.process('a', { op: 'processing', id: 'p', offset: 100 }, 1);
  await h.advanceWatermarkToInfinity();
  assert.equal(h.outputValues(), []);
  await h.advanceProcessingTime(5_100);
  assert.equal(h.outputValues(), []);
  await h.advanceProcessingTime(5_101);
  assert.equal(h.outputValues(), ['a:p@5100']);
  assert.is(h.firedTimers[0]?.domain, TimeDomain.PROCESSING_TIME);
  assert.is(
    h.firedTimers[0]?.outputTimestamp,
    1,
    "a processing-time timer's output timestamp defaults to the element's",
  );
  await h.advanceProcessingTime(10); // clocks may step back: ignored
  assert.is(h.processingTime, 5_101);
});

test('timers survive snapshot and restore, and fire in the restored task', async () => {
  const h = await harness();
  await h.process('a', { op: 'set', id: 't', at: 30 }, 1);
  await h.process('b', { op: 'set', id: 't', at: 10 }, 1);
  await h.process('c', { op: 'processing', id: 'p', offset: 7 }, 1);
  await h.advanceWatermark(5);
  const snap = h.snapshot();
  await h.close();
  const h2 = await TaskHarness.restore(() => new TimerTask(), snap, { keyCoder });
  assert.is(h2.inputWatermark, 5);
  await h2.advanceWatermark(100);
  await h2.advanceProcessingTime(8);
  assert.equal(h2.outputValues(), ['b:t@10', 'a:t@30', 'c:p@7']);
});

test('a timer cleared after a snapshot stays cleared after the next snapshot is restored', async () => {
  const h = await harness();
  await h.process('a', { op: 'set', id: 't', at: 30 }, 1);
  h.snapshot();
  await h.process('a', { op: 'clear', id: 't' }, 2);
  const snap = h.snapshot();
  const h2 = await TaskHarness.restore(() => new TimerTask(), snap, { keyCoder });
  await h2.advanceWatermarkToInfinity();
  assert.equal(h2.outputValues(), []);
});

class OutputTimestampTask extends StatefulTask<{ at: Instant; output?: Instant; none?: boolean }, string, string> {
  override allowedTimestampSkewMs = 0;
  private t!: Timer;
  override open(): void {
    this.t = this.timer('t', TimerSpecs.timer(TimeDomain.EVENT_TIME));
  }
  invoke(m: Message<{ at: Instant; output?: Instant; none?: boolean }, string>): void {
    if (m.value.output !== undefined) this.t.withOutputTimestamp(m.value.output);
    if (m.value.none === true) this.t.withNoOutputTimestamp();
    this.t.set(m.value.at);
  }
  override onTimer(timer: FiredTimer<string>, ctx: TimerContext<string, string>): void {
    if (timer.outputTimestamp === BoundedWindow.TIMESTAMP_MAX_VALUE) return;
    if (ctx.timestamp > BoundedWindow.TIMESTAMP_MAX_VALUE) ctx.emitWithTimestamp('explicit', timer.timestamp);
    else ctx.emit(`fired@${timer.timestamp}`);
  }
}

test('withOutputTimestamp holds the output watermark and stamps the outputs of onTimer', async () => {
  const h = TaskHarness.of(() => new OutputTimestampTask(), { keyCoder });
  await h.open();
  await h.process('a', { at: 100, output: 40 }, 40);
  assert.is(await h.advanceWatermark(90), 40, 'held at the timer output timestamp');
  assert.is(await h.advanceWatermark(101), 101, 'released once fired');
  assert.equal(h.outputs, [{ key: 'a', value: 'fired@100', timestamp: 40 }]);
});

test('an event-time timer stamps outputs with its firing time by default; withNoOutputTimestamp holds nothing and needs explicit timestamps', async () => {
  const h = TaskHarness.of(() => new OutputTimestampTask(), { keyCoder });
  await h.open();
  await h.process('a', { at: 50 }, 10);
  await h.process('b', { at: 60, none: true }, 10);
  await h.process('c', { at: 70, output: 20 }, 10);
  assert.is(await h.advanceWatermark(55), 20, 'only c holds');
  assert.is(await h.advanceWatermark(71), 71);
  assert.equal(h.outputs, [
    { key: 'a', value: 'fired@50', timestamp: 50 },
    { key: 'b', value: 'explicit', timestamp: 60 },
    { key: 'c', value: 'fired@70', timestamp: 20 },
  ]);
});

test('an output timestamp before the element timestamp (minus the skew) is refused', async () => {
  const h = TaskHarness.of(() => new OutputTimestampTask(), { keyCoder });
  await h.open();
  try {
    await h.process('a', { at: 100, output: 9 }, 10);
    assert.unreachable('should refuse');
  } catch (err) {
    assert.instance((err as Error).cause, OutputTimestampError);
    assert.match((err as Error).message, /no earlier than the current input's timestamp 10/);
  }
});

test('an event-time timer beyond its window is refused; setRelative is clamped to the window end', async () => {
  const window = new IntervalWindow(0, 100);
  class WindowTask extends StatefulTask<'abs' | 'rel', string, string> {
    invoke(m: Message<'abs' | 'rel', string>): void {
      const t = this.timer('end', TimeDomain.EVENT_TIME, StateNamespaces.window(IntervalWindowCoder.of(), window));
      if (m.value === 'abs') t.set(500);
      else t.offset(1_000).setRelative();
    }
    override onTimer(timer: FiredTimer<string>, ctx: TimerContext<string, string>): void {
      ctx.emit(`${timer.timestamp}`);
    }
  }
  const h = TaskHarness.of(() => new WindowTask(), { keyCoder });
  await h.open();
  try {
    await h.process('a', 'abs', 1);
    assert.unreachable('should refuse');
  } catch (err) {
    assert.instance((err as Error).cause, TimerError);
  }
  await h.advanceWatermark(50);
  await h.process('a', 'rel', 60); // 50 + 1000 lies beyond the window: clamped to its end
  await h.advanceWatermarkToInfinity();
  assert.equal(h.outputValues(), [String(window.maxTimestamp())]);
});

test('timers cannot be set in onWatermark, where no key is in scope', async () => {
  class WatermarkTimerTask extends StatefulTask<string, string, string> {
    invoke(): void {}
    override onWatermark(): void {
      this.timer('t', TimeDomain.EVENT_TIME).set(10);
    }
  }
  const h = TaskHarness.of(() => new WatermarkTimerTask(), { keyCoder });
  await h.open();
  try {
    await h.advanceWatermark(5);
    assert.unreachable('should refuse');
  } catch (err) {
    assert.instance((err as Error).cause, TimerError);
  }
});

test('timer families: dynamic timer ids fire with their family id', async () => {
  class FamilyTask extends StatefulTask<string, string, string> {
    invoke(m: Message<string, string>): void {
      const family = this.timerFamily('expiry', TimeDomain.EVENT_TIME);
      family.set(m.value, 10);
      family.get(`${m.value}-late`).set(20);
    }
    override onTimer(timer: FiredTimer<string>, ctx: TimerContext<string, string>): void {
      ctx.emit(`${timer.timerFamilyId}/${timer.timerId}@${timer.timestamp}`);
    }
  }
  const h = TaskHarness.of(() => new FamilyTask(), { keyCoder });
  await h.open();
  await h.process('k', 'x', 1);
  await h.process('k', 'y', 1);
  const h2 = await TaskHarness.restore(() => new FamilyTask(), h.snapshot(), { keyCoder });
  await h2.advanceWatermarkToInfinity();
  assert.equal(h2.outputValues(), ['expiry/x@10', 'expiry/y@10', 'expiry/x-late@20', 'expiry/y-late@20']);
});

test('an event-time timer at the end of the global window fires at the final watermark', async () => {
  class EndTask extends StatefulTask<string, string, string> {
    invoke(_m: Message<string, string>, ctx: ProcessContext<string, string>): void {
      this.timer('end', TimeDomain.EVENT_TIME).withOutputTimestamp(ctx.timestamp).set(GlobalWindow.MAX_TIMESTAMP);
    }
    override onTimer(_timer: FiredTimer<string>, ctx: TimerContext<string, string>): void {
      ctx.emit('done');
    }
  }
  const h = TaskHarness.of(() => new EndTask(), { keyCoder });
  await h.open();
  await h.process('k', 'x', 7);
  await h.advanceWatermark(Number.MAX_SAFE_INTEGER);
  assert.equal(h.outputValues(), []);
  assert.is(h.outputWatermark, 7, 'the pending timer holds the output watermark at its output timestamp');
  await h.advanceWatermarkToInfinity();
  assert.equal(h.outputs, [{ key: 'k', value: 'done', timestamp: 7 }]);
});

// A counter reading state in onTimer, to check timers see their key's state.
test("onTimer runs with the timer's key in scope", async () => {
  const COUNT = StateTags.value('count', VarIntCoder.of());
  class CountThenReport extends StatefulTask<string, string, string> {
    private count!: ValueState<number>;
    private report!: Timer;
    override open(): void {
      this.count = this.state(COUNT);
      this.report = this.timer('report', TimeDomain.EVENT_TIME);
    }
    invoke(_m: Message<string, string>, ctx: ProcessContext<string, string>): void {
      this.count.write((this.count.read() ?? 0) + 1);
      this.report.set(ctx.timestamp);
    }
    override onTimer(_t: FiredTimer<string>, ctx: TimerContext<string, string>): void {
      ctx.emit(`${ctx.key}=${this.count.read()}`);
    }
  }
  const h = TaskHarness.of(() => new CountThenReport(), { keyCoder });
  await h.open();
  await h.processAll([
    { key: 'a', value: '', timestamp: 5 },
    { key: 'b', value: '', timestamp: 3 },
    { key: 'a', value: '', timestamp: 6 },
  ]);
  await h.advanceWatermark(10);
  assert.equal(h.outputValues(), ['b=1', 'a=2']);
});

test.run();
