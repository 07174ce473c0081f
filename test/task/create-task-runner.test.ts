/* eslint-disable @typescript-eslint/no-floating-promises -- the tasks here are synchronous, so the runner's turns
   return void; this file checks that synchronous path (async tasks are awaited where they appear) */
import { test } from 'uvu';
import { types } from 'node:util';
import * as assert from 'uvu/assert';
import { BoundedWindow, StringUtf8Coder, VarIntCoder, type Instant } from '../../coders/index.ts';
import {
  StateNamespaces,
  StateTags,
  TimeDomain,
  TimestampCombiner,
  type BagState,
  type ValueState,
  type WatermarkHoldState,
} from '../../src/state/index.ts';
import {
  createTaskRunner,
  OutputTimestampError,
  StatefulTask,
  TaskAbandonedError,
  TaskCallbackError,
  TaskLifecycleError,
  WatermarkRegressionError,
  type FiredTimer,
  type Message,
  type ProcessContext,
  type TaskContext,
  type TaskOutput,
  type TimerContext,
  type WatermarkContext,
} from '../../src/task/index.ts';

const keyCoder = StringUtf8Coder.of();
const COUNT = StateTags.value('count', VarIntCoder.of());
const LOG = StateTags.bag('log', StringUtf8Coder.of());

function runner<In, Out>(task: StatefulTask<In, Out, string>) {
  const outputs: TaskOutput<Out, string>[] = [];
  const r = createTaskRunner(task, { keyCoder, output: (o) => outputs.push(o) });
  return { r, outputs };
}

class Counter extends StatefulTask<string, number, string> {
  private count!: ValueState<number>;
  override open(): void {
    this.count = this.state(COUNT);
  }
  invoke(m: Message<string, string>, ctx: ProcessContext<number, string>): void {
    const next = (this.count.read() ?? 0) + 1;
    this.count.write(next);
    if (m.value === 'boom') throw new Error('boom');
    ctx.emit(next);
  }
}

test('a synchronous task runs synchronously: processElement returns undefined, not a promise', () => {
  const { r, outputs } = runner(new Counter());
  assert.is(r.open(), undefined);
  assert.is(r.processElement('a', 'x', 1), undefined);
  assert.is(r.processElement('a', 'x', 2), undefined);
  assert.equal(outputs, [
    { key: 'a', value: 1, timestamp: 1 },
    { key: 'a', value: 2, timestamp: 2 },
  ]);
});

test('turns before open() or after close() are refused with what to do', () => {
  const { r } = runner(new Counter());
  assert.throws(
    () => r.processElement('a', 'x', 1),
    (e: Error) => e instanceof TaskLifecycleError && /call \(and await\) open\(\) first/.test(e.message),
  );
  r.open();
  r.close();
  r.close(); // idempotent
  assert.throws(
    () => r.processElement('a', 'x', 1),
    (e: Error) => e instanceof TaskLifecycleError,
  );
});

test('handles declared as field initializers bind when the task opens, and the fields then hold the bound handles', () => {
  class Declared extends StatefulTask<string, string, string> {
    private readonly count = this.state(COUNT);
    private readonly log = this.state(StateNamespaces.global(), LOG);
    private readonly flush = this.timer('flush', TimeDomain.EVENT_TIME);
    readonly seenAtOpen: boolean[] = [];
    override open(): void {
      this.seenAtOpen.push(types.isProxy(this.count), types.isProxy(this.log), types.isProxy(this.flush));
    }
    invoke(m: Message<string, string>, ctx: ProcessContext<string, string>): void {
      const n = (this.count.read() ?? 0) + 1;
      this.count.write(n);
      this.log.add(m.value);
      this.flush.set(100);
      ctx.emit(`${m.key}:${n}`);
    }
    override onTimer(_t: FiredTimer<string>, ctx: TimerContext<string, string>): void {
      ctx.emit(`flush ${[...this.log.read()].join(',')}`);
    }
  }
  const task = new Declared();
  const { r, outputs } = runner(task);
  r.open();
  assert.equal(task.seenAtOpen, [false, false, false]);
  r.processElement('a', 'x', 1);
  r.processElement('b', 'y', 2);
  r.processElement('a', 'z', 3);
  r.advanceWatermark(200);
  const values = outputs.map((o) => o.value);
  assert.equal(values.slice(0, 3), ['a:1', 'b:1', 'a:2']);
  // Both keys' timers are due at 100: their order across keys is the runner's.
  assert.equal(values.slice(3).sort(), ['flush x,z', 'flush y']);
});

test('a declared handle kept outside a field still forwards to the bound handle', () => {
  class Nested extends StatefulTask<string, number, string> {
    private readonly handles = { count: this.state(COUNT) };
    invoke(_m: Message<string, string>, ctx: ProcessContext<number, string>): void {
      this.handles.count.write((this.handles.count.read() ?? 0) + 1);
      ctx.emit(this.handles.count.read()!);
    }
  }
  const { r, outputs } = runner(new Nested());
  r.open();
  r.processElement('a', 'x', 1);
  r.processElement('a', 'x', 2);
  assert.equal(
    outputs.map((o) => o.value),
    [1, 2],
  );
});

test('using a handle in a constructor, before the runner attached the task, is refused with what to do', () => {
  class Eager extends StatefulTask<string, string, string> {
    count = this.state(COUNT);
    constructor() {
      super();
      this.count.read();
    }
    invoke(): void {}
  }
  assert.throws(
    () => new Eager(),
    (e: Error) =>
      e instanceof TaskLifecycleError && /declare handles as fields or obtain them in open\(\)/.test(e.message),
  );
});

test('a task instance can be attached to one runner only', () => {
  const task = new Counter();
  runner(task);
  assert.throws(
    () => runner(task),
    (e: Error) => e instanceof TaskLifecycleError,
  );
});

test('a throwing invoke surfaces as TaskCallbackError and leaves the runner usable', () => {
  const { r, outputs } = runner(new Counter());
  r.open();
  r.processElement('a', 'x', 1);
  try {
    r.processElement('a', 'boom', 2);
    assert.unreachable('should throw');
  } catch (err) {
    assert.instance(err, TaskCallbackError);
    assert.is((err as TaskCallbackError).callback, 'invoke');
    assert.is(((err as TaskCallbackError).cause as Error).message, 'boom');
    assert.is((err as TaskCallbackError).retryable, true);
    assert.match((err as Error).message, /Counter\.invoke\(\) failed for key "a" at 2: boom/);
  }
  r.processElement('b', 'x', 3);
  r.processElement('a', 'x', 4);
  // The failed attempt's write (count 2) was rolled back: the next message for 'a' counts 2.
  assert.equal(
    outputs.map((o) => [o.key, o.value]),
    [
      ['a', 1],
      ['b', 1],
      ['a', 2],
    ],
  );
});

test("a retried message sees state as before the failed attempt, and the failed attempt's outputs never reach the receiver", () => {
  let failures = 1;
  class EmitsThenThrows extends StatefulTask<string, string, string> {
    private count!: ValueState<number>;
    private log!: BagState<string>;
    override open(): void {
      this.count = this.state(COUNT);
      this.log = this.state(LOG);
    }
    invoke(m: Message<string, string>, ctx: ProcessContext<string, string>): void {
      const n = (this.count.read() ?? 0) + 1;
      this.count.write(n);
      this.log.add(m.value);
      this.timer('t', TimeDomain.EVENT_TIME).set(100);
      ctx.emit(`${m.value}#${n}`);
      if (m.value === 'flaky' && failures-- > 0) throw new Error('transient');
    }
  }
  const outputs: TaskOutput<string, string>[] = [];
  const task = new EmitsThenThrows();
  const r = createTaskRunner(task, { keyCoder, output: (o) => outputs.push(o) });
  r.open();
  r.processElement('a', 'x', 1);
  assert.throws(
    () => r.processElement('a', 'flaky', 2),
    (e: Error) => e instanceof TaskCallbackError,
  );
  assert.equal(
    outputs.map((o) => o.value),
    ['x#1'],
    'the failed attempt emitted flaky#2 before throwing: dropped',
  );
  r.processElement('a', 'flaky', 2); // the retry
  assert.equal(
    outputs.map((o) => o.value),
    ['x#1', 'flaky#2'],
    'the retry counts from the state before the failed attempt',
  );
  const inspect = createTaskRunner(new EmitsThenThrows(), { keyCoder, output: () => {} });
  const captured = r.capture();
  const chain = new Map(captured.state.keyGroups.map((kg) => [kg, [captured.state.encodeKeyGroup(kg)]] as const));
  inspect.restore({ watermark: captured.watermark, processingTime: captured.processingTime, keyGroups: chain });
  const log = (
    inspect as unknown as {
      stateBackend: { stateInternalsForKey(k: string): { state(ns: unknown, tag: unknown): BagState<string> } };
    }
  ).stateBackend
    .stateInternalsForKey('a')
    .state(StateNamespaces.global(), LOG);
  assert.equal([...log.read()], ['x', 'flaky'], "the bag holds the failed attempt's add once, from the retry");
});

test("a failing onTimer's outputs are dropped, those of timers that fired before it in the same advance are delivered", () => {
  let fail = true;
  class TwoTimers extends StatefulTask<string, string, string> {
    invoke(m: Message<string, string>): void {
      this.timer('t', TimeDomain.EVENT_TIME).set(m.value === 'early' ? 5 : 10);
    }
    override onTimer(t: FiredTimer<string>, ctx: TimerContext<string, string>): void {
      ctx.emit(`${t.key}@${t.timestamp}`);
      if (t.timestamp === 10 && fail) throw new Error('flaky');
    }
  }
  const { r, outputs } = runner(new TwoTimers());
  r.open();
  r.processElement('a', 'early', 1);
  r.processElement('b', 'late', 1);
  assert.throws(
    () => r.advanceWatermark(20),
    (e: Error) => e instanceof TaskCallbackError,
  );
  assert.equal(
    outputs.map((o) => o.value),
    ['a@5'],
  );
  fail = false;
  r.advanceWatermark(20);
  assert.equal(
    outputs.map((o) => o.value),
    ['a@5', 'b@10'],
  );
});

test('no key is in scope in open(), onWatermark() and close(): a bound handle says to use getStateInternals', () => {
  const seen: string[] = [];
  class Keyless extends StatefulTask<string, string, string> {
    private count!: ValueState<number>;
    override open(): void {
      this.count = this.state(COUNT);
    }
    invoke(): void {
      this.count.write(1);
    }
    override onWatermark(_w: Instant, ctx: WatermarkContext<string, string>): void {
      try {
        this.count.read();
        seen.push('read a key');
      } catch (e) {
        seen.push((e as Error).message);
      }
      seen.push(String(ctx.getStateInternals(keyCoder, 'a').state(StateNamespaces.global(), COUNT).read()));
    }
    override close(): void {
      assert.throws(() => this.count.read(), /no key in scope/);
      seen.push('close');
    }
  }
  const { r } = runner(new Keyless());
  r.open();
  r.processElement('a', 'x', 1);
  r.advanceWatermark(5);
  r.close();
  assert.equal(seen.length, 3);
  assert.match(seen[0]!, /no key in scope: .*use ctx\.getStateInternals\(keyCoder, key\) in onWatermark\/open\/close/);
  assert.equal(seen.slice(1), ['1', 'close']);
});

test('a failing onWatermark rolls back its changes and drops its outputs; the same watermark again retries it', () => {
  let fail = true;
  class Wm extends StatefulTask<string, string, string> {
    invoke(): void {}
    override onWatermark(w: Instant, ctx: WatermarkContext<string, string>): void {
      const count = ctx.getStateInternals(keyCoder, 'global').state(StateNamespaces.global(), COUNT);
      count.write((count.read() ?? 0) + 1);
      ctx.emit(`wm ${w} #${count.read()}`);
      if (fail) throw new Error('flaky');
    }
  }
  const { r, outputs } = runner(new Wm());
  r.open();
  assert.throws(
    () => r.advanceWatermark(5),
    (e: Error) => e instanceof TaskCallbackError && (e as TaskCallbackError).callback === 'onWatermark',
  );
  assert.equal(outputs, []);
  fail = false;
  r.advanceWatermark(5);
  assert.equal(
    outputs.map((o) => o.value),
    ['wm 5 #1'],
  );
});

class SlowLog extends StatefulTask<string, string, string> {
  private log!: BagState<string>;
  override open(): void {
    this.log = this.state(LOG);
  }
  async invoke(m: Message<string, string>, ctx: ProcessContext<string, string>): Promise<void> {
    this.log.add(`start ${m.value}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.log.add(`end ${m.value}`);
    ctx.emit([...this.log.read()].join(','));
  }
}

test('an async invoke keeps its key in scope across awaits and the next turn waits for it', async () => {
  const { r, outputs } = runner(new SlowLog());
  r.open();
  const first = r.processElement('a', '1', 1);
  assert.instance(first, Promise);
  assert.throws(
    () => r.processElement('b', '2', 2),
    (e: Error) => e instanceof TaskLifecycleError && /still running/.test(e.message),
  );
  assert.throws(
    () => r.advanceWatermark(5),
    (e: Error) => e instanceof TaskLifecycleError,
  );
  assert.throws(
    () => r.capture(),
    (e: Error) => e instanceof TaskLifecycleError,
  );
  await first;
  await r.processElement('b', '2', 2);
  await r.processElement('a', '3', 3);
  assert.equal(
    outputs.map((o) => [o.key, o.value]),
    [
      ['a', 'start 1,end 1'],
      ['b', 'start 2,end 2'],
      ['a', 'start 1,end 1,start 3,end 3'],
    ],
  );
});

test('a rejected async invoke leaves the runner usable', async () => {
  class AsyncFail extends StatefulTask<string, string, string> {
    async invoke(m: Message<string, string>, ctx: ProcessContext<string, string>): Promise<void> {
      await Promise.resolve();
      if (m.value === 'bad') throw new Error('rejected');
      ctx.emit(m.value);
    }
  }
  const { r, outputs } = runner(new AsyncFail());
  r.open();
  try {
    await r.processElement('a', 'bad', 1);
    assert.unreachable('should reject');
  } catch (err) {
    assert.instance(err, TaskCallbackError);
  }
  await r.processElement('a', 'good', 2);
  assert.equal(
    outputs.map((o) => o.value),
    ['good'],
  );
});

test('emit after the turn ended (a floating promise) is refused', async () => {
  let late: Promise<void> | undefined;
  class Floating extends StatefulTask<string, string, string> {
    invoke(_m: Message<string, string>, ctx: ProcessContext<string, string>): void {
      late = Promise.resolve().then(() => ctx.emit('late'));
    }
  }
  const { r } = runner(new Floating());
  r.open();
  r.processElement('a', 'x', 1);
  try {
    await late;
    assert.unreachable('should refuse');
  } catch (err) {
    assert.instance(err, TaskLifecycleError);
    assert.match((err as Error).message, /un-awaited promise/);
  }
});

test('emit variants: current key, explicit key, explicit timestamp, Beam names', () => {
  class Emitter extends StatefulTask<string, string, string> {
    invoke(m: Message<string, string>, ctx: ProcessContext<string, string>): void {
      ctx.emit('plain');
      ctx.emit('other-key', 'keyed');
      ctx.emitWithTimestamp('later', (m.timestamp as number) + 5);
      ctx.emitWithTimestamp('other-key', 'keyed-later', (m.timestamp as number) + 6);
      ctx.output('beam');
      ctx.outputWithTimestamp('beam-later', (m.timestamp as number) + 7);
      ctx.emit('k', undefined as unknown as string);
    }
  }
  const { r, outputs } = runner(new Emitter());
  r.open();
  r.processElement('a', 'x', 10);
  assert.equal(outputs, [
    { key: 'a', value: 'plain', timestamp: 10 },
    { key: 'other-key', value: 'keyed', timestamp: 10 },
    { key: 'a', value: 'later', timestamp: 15 },
    { key: 'other-key', value: 'keyed-later', timestamp: 16 },
    { key: 'a', value: 'beam', timestamp: 10 },
    { key: 'a', value: 'beam-later', timestamp: 17 },
    { key: 'k', value: undefined as unknown as string, timestamp: 10 },
  ]);
});

test('an output timestamp before the element minus the allowed skew is refused; the skew widens it', () => {
  class Back extends StatefulTask<string, string, string> {
    invoke(m: Message<string, string>, ctx: ProcessContext<string, string>): void {
      ctx.emitWithTimestamp('back', (m.timestamp as number) - 10);
    }
  }
  const strict = runner(new Back());
  strict.r.open();
  assert.throws(
    () => strict.r.processElement('a', 'x', 100),
    (e: Error) => e instanceof TaskCallbackError && e.cause instanceof OutputTimestampError,
  );
  class Skewed extends Back {
    override allowedTimestampSkewMs = 10;
  }
  const lenient = runner(new Skewed());
  lenient.r.open();
  lenient.r.processElement('a', 'x', 100);
  assert.equal(lenient.outputs, [{ key: 'a', value: 'back', timestamp: 90 }]);
});

const HOLD = StateTags.watermarkStateInternal('hold', TimestampCombiner.EARLIEST);

/** Buffers values under a watermark hold at the earliest buffered timestamp; "flush" releases it. */
class HoldingTask extends StatefulTask<string, string, string> {
  // The flush emits at the buffered elements' (earlier) timestamp, which the hold keeps on time.
  override allowedTimestampSkewMs = Number.POSITIVE_INFINITY;
  private hold!: WatermarkHoldState;
  private log!: BagState<string>;
  seen: Instant[] = [];
  override open(): void {
    this.hold = this.state(HOLD);
    this.log = this.state(LOG);
  }
  invoke(m: Message<string, string>, ctx: ProcessContext<string, string>): void {
    if (m.value === 'flush') {
      const at = this.hold.read();
      if (at !== null) ctx.emitWithTimestamp([...this.log.read()].join('+'), at);
      this.hold.clear();
      this.log.clear();
      return;
    }
    this.log.add(m.value);
    this.hold.add(m.timestamp);
  }
  override onWatermark(watermark: Instant): void {
    this.seen.push(watermark);
  }
}

test('the output watermark is the input watermark held back by watermark holds, and never moves back', () => {
  const task = new HoldingTask();
  const { r, outputs } = runner(task);
  r.open();
  assert.is(r.outputWatermark, BoundedWindow.TIMESTAMP_MIN_VALUE);
  r.processElement('a', 'x', 30);
  r.processElement('b', 'y', 50);
  r.processElement('a', 'z', 20);
  assert.is(r.advanceWatermark(100), 20);
  r.processElement('a', 'flush', 101);
  assert.is(r.advanceWatermark(110), 50, 'b still holds');
  r.processElement('b', 'flush', 111);
  assert.is(r.advanceWatermark(120), 120);
  assert.equal(outputs, [
    { key: 'a', value: 'x+z', timestamp: 20 },
    { key: 'b', value: 'y', timestamp: 50 },
  ]);
  assert.equal(task.seen, [100, 110, 120]);
  r.processElement('c', 'late', 5); // a hold behind the published output watermark
  assert.is(r.outputWatermark, 120, 'the published output watermark does not go back');
});

// A crash must not show: the runner restored from a capture holds the output watermark back by the
// restored holds, as the runner that went on does (it took the input watermark, past every hold,
// so it held back none of the watermarks the holds' releases publish, until the input's).
test('a runner restored from a capture publishes the same output watermarks as the one that went on', () => {
  const { r } = runner(new HoldingTask());
  r.open();
  r.processElement('a', 'x', 30);
  r.processElement('b', 'y', 50);
  assert.is(r.advanceWatermark(100), 30);
  const capture = r.capture();
  const keyGroups = new Map(capture.state.keyGroups.map((kg) => [kg, [capture.state.encodeKeyGroup(kg)]]));
  const restored = runner(new HoldingTask()).r;
  restored.restore({ watermark: capture.watermark, processingTime: capture.processingTime, keyGroups });
  restored.open();
  for (const each of [r, restored]) {
    assert.is(each.outputWatermark, 30, 'held at a');
    each.processElement('a', 'flush', 101);
    assert.is(each.advanceWatermark(110), 50, 'b still holds');
    each.processElement('b', 'flush', 111);
    assert.is(each.advanceWatermark(120), 120);
  }
});

test('onWatermark emits unkeyed at the watermark by default, and not behind the published output watermark', () => {
  const attempts: string[] = [];
  class Ticker extends StatefulTask<string, string, string> {
    invoke(): void {}
    override onWatermark(watermark: Instant, ctx: WatermarkContext<string, string>): void {
      ctx.emit(`tick ${watermark}`);
      try {
        ctx.emitWithTimestamp('behind', 15);
        attempts.push('ok');
      } catch (err) {
        attempts.push((err as Error).name);
      }
    }
  }
  const { r, outputs } = runner(new Ticker());
  r.open();
  r.advanceWatermark(10);
  r.advanceWatermark(20);
  r.advanceWatermark(30);
  assert.equal(outputs, [
    { key: undefined, value: 'tick 10', timestamp: 10 },
    { key: undefined, value: 'behind', timestamp: 15 },
    { key: undefined, value: 'tick 20', timestamp: 20 },
    { key: undefined, value: 'behind', timestamp: 15 },
    { key: undefined, value: 'tick 30', timestamp: 30 },
  ]);
  assert.equal(attempts, ['ok', 'ok', 'OutputTimestampError'], 'only once 20 was published is 15 late');
});

test('the input watermark cannot move back; the same watermark again is allowed', () => {
  const { r } = runner(new HoldingTask());
  r.open();
  r.advanceWatermark(100);
  r.advanceWatermark(100);
  assert.throws(
    () => r.advanceWatermark(99),
    (e: Error) => e instanceof WatermarkRegressionError,
  );
  assert.is(r.inputWatermark, 100);
  r.advanceWatermark(101); // still usable
});

test("watermarks beyond Beam's range mean its ends (drivers may use ±Number.MAX_VALUE)", () => {
  const { r } = runner(new HoldingTask());
  r.open();
  r.advanceWatermark(-Number.MAX_VALUE);
  assert.is(r.inputWatermark, BoundedWindow.TIMESTAMP_MIN_VALUE);
  r.advanceWatermark(Number.MAX_VALUE);
  assert.is(r.inputWatermark, BoundedWindow.TIMESTAMP_MAX_VALUE);
});

test('a failing onTimer leaves the timer pending, so retrying the same advance fires it again', () => {
  let fail = true;
  class Flaky extends StatefulTask<string, string, string> {
    invoke(): void {
      this.timer('t', TimeDomain.EVENT_TIME).set(10);
    }
    override onTimer(_t: FiredTimer<string>, ctx: TimerContext<string, string>): void {
      if (fail) throw new Error('flaky');
      ctx.emit('fired');
    }
  }
  const { r, outputs } = runner(new Flaky());
  r.open();
  r.processElement('a', 'x', 1);
  assert.throws(
    () => r.advanceWatermark(20),
    (e: Error) => e instanceof TaskCallbackError && (e as TaskCallbackError).callback === 'onTimer',
  );
  fail = false;
  r.advanceWatermark(20);
  assert.equal(
    outputs.map((o) => o.value),
    ['fired'],
  );
});

test('a failing onTimer that re-set its own timer is re-armed at its original time (the new setting is rolled back)', () => {
  let attempts = 0;
  class Resets extends StatefulTask<string, string, string> {
    invoke(): void {
      this.timer('t', TimeDomain.EVENT_TIME).set(10);
    }
    override onTimer(t: FiredTimer<string>, ctx: TimerContext<string, string>): void {
      attempts++;
      if (attempts === 1) {
        this.timer('t', TimeDomain.EVENT_TIME).set(50);
        throw new Error('after re-setting');
      }
      ctx.emit(`fired@${t.timestamp}`);
    }
  }
  const { r, outputs } = runner(new Resets());
  r.open();
  r.processElement('a', 'x', 1);
  assert.throws(
    () => r.advanceWatermark(20),
    (e: Error) => e instanceof TaskCallbackError,
  );
  assert.equal(outputs, []);
  r.advanceWatermark(20);
  assert.equal(
    outputs.map((o) => o.value),
    ['fired@10'],
    're-armed at 10: the retry fires it where it was',
  );
  r.advanceWatermark(51);
  assert.equal(
    outputs.map((o) => o.value),
    ['fired@10'],
    "the failed attempt's setting to 50 did not survive",
  );
});

test('async onTimer and onWatermark run in order and advanceWatermark resolves to the output watermark', async () => {
  const events: string[] = [];
  class AsyncTimers extends StatefulTask<string, string, string> {
    invoke(m: Message<string, string>): void {
      this.timer('t', TimeDomain.EVENT_TIME).set(Number(m.value));
    }
    override async onTimer(t: FiredTimer<string>): Promise<void> {
      events.push(`timer ${t.key} start`);
      await new Promise<void>((resolve) => setImmediate(resolve));
      events.push(`timer ${t.key} end`);
    }
    override async onWatermark(w: Instant): Promise<void> {
      await Promise.resolve();
      events.push(`watermark ${w}`);
    }
  }
  const { r } = runner(new AsyncTimers());
  r.open();
  r.processElement('a', '5', 1);
  r.processElement('b', '3', 1);
  const result = r.advanceWatermark(10);
  assert.instance(result, Promise);
  assert.is(await result, 10);
  assert.equal(events, ['timer b start', 'timer b end', 'timer a start', 'timer a end', 'watermark 10']);
});

test('Gearpump style: open() takes getStateInternals for an explicit key, and it reads that key whatever is in scope', () => {
  class GearpumpStyle extends StatefulTask<string, string, string> {
    private total!: ValueState<number>;
    override open(ctx: TaskContext): void {
      const internals = ctx.getStateInternals(StringUtf8Coder.of(), 'totals');
      this.total = internals.state(StateNamespaces.global(), COUNT);
    }
    invoke(m: Message<string, string>, ctx: ProcessContext<string, string>): void {
      this.total.write((this.total.read() ?? 0) + m.value.length);
      ctx.emit(`${m.key} -> total ${this.total.read()}`);
    }
    override onWatermark(_w: Instant, ctx: WatermarkContext<string, string>): void {
      ctx.emit('totals', `at watermark: ${this.total.read()}`);
    }
  }
  const { r, outputs } = runner(new GearpumpStyle());
  r.open();
  r.processElement('a', 'xx', 1);
  r.processElement('b', 'yyy', 2);
  r.advanceWatermark(10);
  assert.equal(
    outputs.map((o) => [o.key, o.value]),
    [
      ['a', 'a -> total 2'],
      ['b', 'b -> total 5'],
      ['totals', 'at watermark: 5'],
    ],
  );
});

test("getStateInternals refuses a key coder other than the runner's", () => {
  class Wrong extends StatefulTask<string, string, string> {
    override open(ctx: TaskContext): void {
      ctx.getStateInternals(VarIntCoder.of(), 1);
    }
    invoke(): void {}
  }
  const { r } = runner(new Wrong());
  assert.throws(
    () => r.open(),
    (e: Error) => e instanceof TaskCallbackError && e.cause instanceof TaskLifecycleError,
  );
});

test('capture returns the changes and clocks; a restored runner continues from them', () => {
  const first = runner(new Counter());
  first.r.open();
  first.r.processElement('a', 'x', 1);
  first.r.processElement('a', 'x', 2);
  first.r.advanceWatermark(7);
  first.r.advanceProcessingTime(1_000);
  const capture = first.r.capture();
  assert.is(capture.state.changedKeys, 1);
  assert.is(capture.watermark, 7);
  assert.is(capture.processingTime, 1_000);
  const keyGroups = new Map(capture.state.keyGroups.map((g) => [g, [capture.state.encodeKeyGroup(g)]] as const));
  const second = runner(new Counter());
  second.r.restore({ watermark: capture.watermark, processingTime: capture.processingTime, keyGroups });
  second.r.open();
  assert.is(second.r.inputWatermark, 7);
  second.r.processElement('a', 'x', 8);
  assert.equal(
    second.outputs.map((o) => o.value),
    [3],
  );
  assert.throws(
    () => second.r.restore({ watermark: 0, processingTime: 0, keyGroups: new Map() }),
    (e: Error) => e instanceof TaskLifecycleError,
  );
});

test('ctx.signal is aborted with a TaskAbandonedError when the runner is abandoned mid-turn, and not before', async () => {
  const seen: AbortSignal[] = [];
  class Waits extends StatefulTask<string, string, string> {
    async invoke(_m: Message<string, string>, ctx: ProcessContext<string, string>): Promise<void> {
      seen.push(ctx.signal);
      // Work that only ends when the runner gives up on it.
      await new Promise<void>((_, reject) =>
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true }),
      );
    }
  }
  const { r } = runner(new Waits());
  r.open();
  const turn = r.processElement('a', 'x', 1);
  assert.ok(turn instanceof Promise);
  assert.is(seen[0]!.aborted, false);
  r.abort('the job failed');
  r.abort('again'); // idempotent: the first reason stays
  try {
    await turn;
    assert.unreachable('the abandoned turn should reject');
  } catch (err) {
    assert.instance(err, TaskCallbackError);
    const reason = (err as TaskCallbackError).cause;
    assert.instance(reason, TaskAbandonedError);
    assert.match((reason as Error).message, /Waits was abandoned: the job failed/);
    assert.is((reason as TaskAbandonedError).code, 'TASK_ABANDONED');
  }
});

test('close() aborts ctx.signal after the task closed; a graceful run leaves it unaborted until then', async () => {
  let signal: AbortSignal | undefined;
  let abortedInClose: boolean | undefined;
  class Closes extends StatefulTask<string, string, string> {
    async invoke(_m: Message<string, string>, ctx: ProcessContext<string, string>): Promise<void> {
      signal = ctx.signal;
      await Promise.resolve();
    }
    override close(ctx: TaskContext): void {
      abortedInClose = ctx.signal.aborted;
    }
  }
  const { r } = runner(new Closes());
  r.open();
  await r.processElement('a', 'x', 1);
  assert.is(signal!.aborted, false);
  await r.close();
  assert.is(abortedInClose, false);
  assert.is(signal!.aborted, true);
  assert.instance(signal!.reason, TaskAbandonedError);
});

test('output is the one name: the key overloads, and emit/emitWithTimestamp as deprecated aliases, give the same outputs', () => {
  class Outputs extends StatefulTask<string, string, string> {
    invoke(m: Message<string, string>, ctx: ProcessContext<string, string>): void {
      ctx.output(m.value);
      ctx.output('other', m.value);
      ctx.outputWithTimestamp(`${m.value}@`, Number(m.timestamp) + 5);
      ctx.outputWithTimestamp('other', `${m.value}@`, Number(m.timestamp) + 6);
      ctx.emit(m.value);
      ctx.emit('other', m.value);
      ctx.emitWithTimestamp(`${m.value}@`, Number(m.timestamp) + 5);
      ctx.emitWithTimestamp('other', `${m.value}@`, Number(m.timestamp) + 6);
    }
  }
  const { r, outputs } = runner(new Outputs());
  r.open();
  r.processElement('a', 'x', 10);
  const expected = [
    { key: 'a', value: 'x', timestamp: 10 },
    { key: 'other', value: 'x', timestamp: 10 },
    { key: 'a', value: 'x@', timestamp: 15 },
    { key: 'other', value: 'x@', timestamp: 16 },
  ];
  assert.equal(outputs, [...expected, ...expected]);
});

test.run();
