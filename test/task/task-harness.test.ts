import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { StringUtf8Coder, VarIntCoder } from '../../coders/index.ts';
import { StateTags, TimeDomain, type BagState, type MapState, type ValueState } from '../../src/state/index.ts';
import {
  StatefulTask,
  TaskHarness,
  type FiredTimer,
  type Message,
  type ProcessContext,
  type Timer,
  type TimerContext,
  type TaskSnapshot,
} from '../../src/task/index.ts';

const COUNT = StateTags.value('count', VarIntCoder.of());
const SEEN = StateTags.bag('seen', VarIntCoder.of());
const BY_PARITY = StateTags.map('byParity', StringUtf8Coder.of(), VarIntCoder.of());

/** A deterministic task touching values, bags, maps and both kinds of timers. */
class Model extends StatefulTask<number, string, string> {
  private count!: ValueState<number>;
  private seen!: BagState<number>;
  private byParity!: MapState<string, number>;
  private flush!: Timer;
  private poke!: Timer;
  override open(): void {
    this.count = this.state(COUNT);
    this.seen = this.state(SEEN);
    this.byParity = this.state(BY_PARITY);
    this.flush = this.timer('flush', TimeDomain.EVENT_TIME);
    this.poke = this.timer('poke', TimeDomain.PROCESSING_TIME);
  }
  invoke(m: Message<number, string>, ctx: ProcessContext<string, string>): void {
    const v = m.value;
    const n = (this.count.read() ?? 0) + 1;
    this.count.write(n);
    this.seen.add(v);
    const parity = v % 2 === 0 ? 'even' : 'odd';
    this.byParity.put(parity, (this.byParity.get(parity).read() ?? 0) + v);
    if (v % 5 === 0) this.flush.clear();
    else this.flush.set((m.timestamp as number) + (v % 7) * 10);
    if (v % 3 === 0) this.poke.offset(v % 4).setRelative();
    ctx.emit(`${m.key}#${n}`);
  }
  override onTimer(t: FiredTimer<string>, ctx: TimerContext<string, string>): void {
    if (t.timerId === 'flush') {
      ctx.emit(`${ctx.key} flush@${t.timestamp} [${[...this.seen.read()].join(',')}]`);
      this.seen.clear();
    } else {
      ctx.emit(`${ctx.key} poke@${t.timestamp} n=${this.count.read()}`);
      if ((this.count.read() ?? 0) > 3) this.count.clear();
    }
  }
}

type Op =
  { kind: 'msg'; key: string; value: number; dt: number } | { kind: 'wm'; dt: number } | { kind: 'pt'; dt: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('msg' as const),
      key: fc.constantFrom('a', 'b', 'c', 'd'),
      value: fc.nat(40),
      dt: fc.integer({ min: -20, max: 30 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wm' as const), dt: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pt' as const), dt: fc.nat(6) }) },
);

/** Interprets ops against a harness; clocks are derived from the op list alone, so every run sees the same times. */
function clocks(ops: readonly Op[]): { ts: number[]; wm: number[]; pt: number[] } {
  let event = 100;
  let wm = 0;
  let pt = 0;
  const ts: number[] = [];
  const wms: number[] = [];
  const pts: number[] = [];
  for (const op of ops) {
    if (op.kind === 'msg') event = Math.max(wm, event + op.dt);
    if (op.kind === 'wm') wm = Math.min(event, wm + op.dt);
    if (op.kind === 'pt') pt += op.dt;
    ts.push(event);
    wms.push(wm);
    pts.push(pt);
  }
  return { ts, wm: wms, pt: pts };
}

async function apply(
  h: TaskHarness<number, string, string>,
  ops: readonly Op[],
  from: number,
  to: number,
  time: ReturnType<typeof clocks>,
): Promise<void> {
  for (let i = from; i < to; i++) {
    const op = ops[i]!;
    if (op.kind === 'msg') await h.process(op.key, op.value, time.ts[i]!);
    else if (op.kind === 'wm') await h.advanceWatermark(time.wm[i]!);
    else await h.advanceProcessingTime(time.pt[i]!);
  }
}

function stateOf(h: TaskHarness<number, string, string>): unknown {
  const out: Record<string, unknown> = {};
  for (const key of [...h.keys()].sort()) {
    out[key] = {
      count: h.state(key, COUNT).read(),
      seen: [...h.state(key, SEEN).read()],
      byParity: [...h.state(key, BY_PARITY).entries().read()].sort(),
    };
  }
  return out;
}

const options = { keyCoder: StringUtf8Coder.of(), maxKeyGroups: 8 };

test('snapshot/restore is invisible: restore + continue gives the outputs, timers and state of an uninterrupted run', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { minLength: 1, maxLength: 60 }),
      fc.array(fc.nat(1_000), { minLength: 1, maxLength: 6 }),
      async (ops, cutSeeds) => {
        const time = clocks(ops);
        // Uninterrupted.
        const whole = TaskHarness.of(() => new Model(), options);
        await whole.open();
        await apply(whole, ops, 0, ops.length, time);
        await whole.advanceWatermarkToInfinity();

        // Interrupted: snapshots at sorted cut points (the earlier ones make the chain incremental,
        // and from the fourth part on the harness compacts it), a crash after the last one, and a
        // restore into a fresh task instance.
        const cuts = [...new Set(cutSeeds.map((s) => s % (ops.length + 1)))].sort((a, b) => a - b);
        const first = TaskHarness.of(() => new Model(), options);
        await first.open();
        let done = 0;
        let snapshot: TaskSnapshot | undefined;
        for (const cut of cuts) {
          await apply(first, ops, done, cut, time);
          snapshot = first.snapshot();
          done = cut;
        }
        const before = first.outputValues();
        const beforeTimers = first.firedTimers.length;
        await first.close();
        const second = await TaskHarness.restore(() => new Model(), snapshot!, options);
        await apply(second, ops, done, ops.length, time);
        await second.advanceWatermarkToInfinity();

        assert.equal([...before, ...second.outputValues()], whole.outputValues());
        assert.equal(
          [...first.firedTimers.slice(0, beforeTimers), ...second.firedTimers].map((t) => [
            t.key,
            t.timerId,
            t.timestamp,
          ]),
          whole.firedTimers.map((t) => [t.key, t.timerId, t.timestamp]),
        );
        assert.equal(stateOf(second), stateOf(whole));
        assert.equal(second.inputWatermark, whole.inputWatermark);
        assert.equal(second.processingTime, whole.processingTime);
      },
    ),
    { numRuns: 150 },
  );
});

test('a snapshot is unaffected by processing after it', async () => {
  const h = TaskHarness.of(() => new Model(), options);
  await h.open();
  await h.process('a', 1, 100);
  const snap = h.snapshot();
  await h.process('a', 2, 101);
  h.snapshot();
  const restored = await TaskHarness.restore(() => new Model(), snap, options);
  assert.is(restored.state('a', COUNT).read(), 1);
  assert.equal([...restored.state('a', SEEN).read()], [1]);
});

test('long chains of snapshots are compacted, and still restore the latest state', async () => {
  const h = TaskHarness.of(() => new Model(), options);
  await h.open();
  let snap: TaskSnapshot | undefined;
  for (let i = 1; i <= 7; i++) {
    await h.process('a', i * 10, 100 + i);
    snap = h.snapshot();
  }
  for (const chain of snap!.keyGroups.values()) assert.ok(chain.length < 4, `chain of ${chain.length} parts`);
  const restored = await TaskHarness.restore(() => new Model(), snap!, options);
  assert.is(restored.state('a', COUNT).read(), 7);
  assert.equal([...restored.state('a', SEEN).read()], [10, 20, 30, 40, 50, 60, 70]);
});

test('the harness records outputs, takes them in slices and reports clocks', async () => {
  const h = TaskHarness.of(() => new Model(), { ...options, initialProcessingTime: 50 });
  await h.open();
  assert.is(h.processingTime, 50);
  await h.process('a', 3, 100);
  assert.equal(
    h.takeOutputs().map((o) => o.value),
    ['a#1'],
  );
  await h.process('b', 4, 100);
  assert.equal(
    h.takeOutputs().map((o) => o.value),
    ['b#1'],
  );
  assert.equal(h.takeOutputs(), []);
  assert.equal(h.outputValues(), ['a#1', 'b#1']);
  await h.advanceProcessingTime(60);
  assert.equal(h.outputs.at(-1)?.value, 'a poke@53 n=1');
  assert.equal(h.keys().sort(), ['a', 'b']);
  await h.close();
  await h.close();
});

test('state can be seeded through the harness before processing', async () => {
  const h = TaskHarness.of(() => new Model(), options);
  await h.open();
  h.state('z', COUNT).write(41);
  await h.process('z', 1, 100);
  assert.equal(h.outputValues(), ['z#42']);
});

test('await using closes the harness', async () => {
  let closed = 0;
  class Closing extends Model {
    override close(): void {
      closed++;
    }
  }
  {
    await using h = TaskHarness.of(() => new Closing(), options);
    await h.open();
  }
  assert.is(closed, 1);
});

test.run();
