import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GlobalWindow,
  StringUtf8Coder,
  VarLongCoder,
  type BoundedWindow,
  type IntervalWindow,
} from '../../coders/index.ts';
import { StateMerging, StateNamespaces, StateTags, TaskHarness } from '../../src/index.ts';
import {
  FixedWindows,
  GlobalWindows,
  Sessions,
  SlidingWindows,
  WindowedTask,
  WindowingError,
  WindowingStrategy,
  type FiringTiming,
  type OnMergeContext,
  type OnTriggerContext,
  type ProcessValueContext,
  type WindowContext,
} from '../../src/windowing/index.ts';

const test = suite('WindowedTask (windows, merging, window-end timers, allowed lateness)');

interface Pane {
  readonly window: string;
  readonly values: number[];
  readonly timing: FiringTiming;
  readonly isLast: boolean;
}

const VALUES = StateTags.bag('values', VarLongCoder.of());

/** Beam's SystemReduceFn.buffering: a window's values, emitted when it fires. */
class Buffering<W extends BoundedWindow> extends WindowedTask<number, Pane, string, W> {
  constructor(
    strategy: WindowingStrategy<W>,
    private readonly merges = true,
  ) {
    super(strategy);
  }
  protected processValue(c: ProcessValueContext<number, string, W>): void {
    c.state(VALUES).add(c.value);
  }
  protected override onMerge(c: OnMergeContext<string, W>): void {
    if (!this.merges) super.onMerge(c);
    StateMerging.mergeBags(c, VALUES);
  }
  protected onTrigger(c: OnTriggerContext<Pane, string, W>): void {
    c.emit({
      window: c.window.toString(),
      values: [...c.state(VALUES).read()].map(Number),
      timing: c.timing,
      isLast: c.isLast,
    });
  }
  protected clearState(c: WindowContext<string, W>): void {
    c.state(VALUES).clear();
  }
}

async function harness<W extends BoundedWindow>(
  strategy: WindowingStrategy<W>,
  merges = true,
): Promise<TaskHarness<number, Pane, string>> {
  const h = TaskHarness.of(() => new Buffering(strategy, merges), { keyCoder: StringUtf8Coder.of() });
  await h.open();
  return h;
}

test('FixedWindows: each window fires once the watermark passes its end, at its max timestamp, and its state is gone', async () => {
  const h = await harness(WindowingStrategy.of(FixedWindows.of(10)));
  for (const t of [1, 2, 5, 9, 10, 11, 100]) await h.process('k', t, t);
  assert.equal(h.outputValues(), []);
  await h.advanceWatermark(10);
  assert.equal(
    h.takeOutputs().map((o) => [o.value.window, o.value.values, o.timestamp]),
    [['[0..10)', [1, 2, 5, 9], 9]],
  );
  await h.advanceWatermarkToInfinity();
  assert.equal(
    h.takeOutputs().map((o) => [o.value.window, o.value.values, o.value.timing, o.value.isLast]),
    [
      ['[10..20)', [10, 11], 'ON_TIME', true],
      ['[100..110)', [100], 'ON_TIME', true],
    ],
  );
  const ns = StateNamespaces.window(FixedWindows.of(10).windowCoder(), FixedWindows.of(10).assignWindow(5));
  assert.equal([...h.state('k', ns, VALUES).read()], []);
});

test('SlidingWindows: an element is in every overlapping window', async () => {
  const h = await harness(WindowingStrategy.of(SlidingWindows.of(10).every(5)));
  for (const t of [1, 2, 5, 9, 10, 11]) await h.process('k', t, t);
  await h.advanceWatermarkToInfinity();
  const panes = new Map(h.outputValues().map((p) => [p.window, p.values]));
  assert.equal(panes.get('[-5..5)'), [1, 2]);
  assert.equal(panes.get('[0..10)'), [1, 2, 5, 9]);
  assert.equal(panes.get('[5..15)'), [5, 9, 10, 11]);
  assert.equal(panes.get('[10..20)'), [10, 11]);
});

test('Sessions: out-of-order elements merge sessions and their state (SessionsTest.testMerging through a task)', async () => {
  const h = await harness(WindowingStrategy.of(Sessions.withGapDuration(10)));
  for (const t of [1, 15, 30, 100, 101, 95, 22, 10]) await h.process('k', t, t);
  await h.advanceWatermarkToInfinity();
  const panes = h.outputValues().map((p) => [p.window, [...p.values].sort((a, b) => a - b)]);
  assert.equal(panes, [
    ['[1..40)', [1, 10, 15, 22, 30]],
    ['[95..111)', [95, 100, 101]],
  ]);
});

test('Sessions: a session keeps its elements in arrival order when it only grows', async () => {
  const h = await harness(WindowingStrategy.of(Sessions.withGapDuration(10)));
  for (const t of [5, 3, 12, 8, 20]) await h.process('k', t, t);
  await h.advanceWatermarkToInfinity();
  assert.equal(
    h.outputValues().map((p) => [p.window, p.values]),
    [['[3..30)', [5, 3, 12, 8, 20]]],
  );
});

test('a merging WindowFn without onMerge fails with a WindowingError that says what to do', async () => {
  const h = await harness(WindowingStrategy.of(Sessions.withGapDuration(10)), false);
  await h.process('k', 1, 1);
  await h.process('k', 12, 12);
  await h.process('k', 8, 8).then(
    () => assert.unreachable('should fail'),
    (e: unknown) =>
      assert.ok(/override onMerge/.test(String((e as Error).cause ?? e)) || e instanceof WindowingError, String(e)),
  );
});

test('allowed lateness 0: an element behind the end of its window is dropped', async () => {
  const h = await harness(WindowingStrategy.of(FixedWindows.of(10)));
  await h.process('k', 1, 1);
  await h.advanceWatermark(15);
  assert.is(h.takeOutputs().length, 1);
  await h.process('k', 2, 2);
  await h.advanceWatermarkToInfinity();
  assert.equal(h.takeOutputs(), []);
  assert.is((h.task as Buffering<IntervalWindow>).droppedDueToLateness, 1);
});

test('allowed lateness: a late element fires a LATE pane at once; after end + lateness it is dropped and the state is gone', async () => {
  const h = await harness(WindowingStrategy.of(FixedWindows.of(10)).withAllowedLateness(100));
  await h.process('k', 1, 1);
  await h.advanceWatermark(50);
  assert.equal(
    h.takeOutputs().map((o) => [o.value.values, o.value.timing, o.value.isLast]),
    [[[1], 'ON_TIME', false]],
  );
  await h.process('k', 2, 2); // late: the watermark (50) is past the window end, within 100 ms of lateness
  assert.equal(
    h.takeOutputs().map((o) => [o.value.values, o.value.timing]),
    [[[2], 'LATE']],
  );
  await h.advanceWatermark(200); // past 9 + 100: the window is garbage-collected
  await h.process('k', 3, 3);
  assert.equal(h.takeOutputs(), []);
  assert.is((h.task as Buffering<IntervalWindow>).droppedDueToLateness, 1);
});

test('GlobalWindows: one window, fired by the final watermark', async () => {
  const h = await harness(WindowingStrategy.of(GlobalWindows.of()));
  for (const t of [1, 1000, 5]) await h.process('k', t, t);
  await h.advanceWatermark(10_000);
  assert.equal(h.outputValues(), []);
  await h.advanceWatermarkToInfinity();
  assert.equal(
    h.outputValues().map((p) => [p.window, p.values]),
    [[GlobalWindow.INSTANCE.toString(), [1, 1000, 5]]],
  );
});

test('WindowingStrategy rejects a negative or fractional allowed lateness', () => {
  for (const bad of [-1, 0.5])
    assert.throws(
      () => WindowingStrategy.of(GlobalWindows.of()).withAllowedLateness(bad),
      (e: unknown) => e instanceof WindowingError,
    );
});

/** Reference sessions: per key, sorted timestamps split where the gap to the previous is >= gap. */
function referenceSessions(events: ReadonlyArray<[string, number]>, gap: number): string[] {
  const byKey = new Map<string, number[]>();
  for (const [k, t] of events) byKey.set(k, [...(byKey.get(k) ?? []), t]);
  const out: string[] = [];
  for (const [k, ts] of byKey) {
    let run: number[] = [];
    const close = (): void => {
      if (run.length > 0)
        out.push(`${k}:[${run[0]}..${run.at(-1)! + gap}):${[...run].sort((a, b) => a - b).join(',')}`);
      run = [];
    };
    for (const t of [...ts].sort((a, b) => a - b)) {
      if (run.length > 0 && t >= run.at(-1)! + gap) close();
      run.push(t);
    }
    close();
  }
  return out.sort();
}

test('property: sessions over any keys and arrival order equal the reference, also across a snapshot and restore at any point', async () => {
  const events = fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 300 })), {
    minLength: 1,
    maxLength: 40,
  });
  await fc.assert(
    fc.asyncProperty(events, fc.integer({ min: 1, max: 40 }), fc.nat(), async (evs, gap, cutAt) => {
      const strategy = WindowingStrategy.of(Sessions.withGapDuration(gap));
      const options = { keyCoder: StringUtf8Coder.of() };
      let h = TaskHarness.of(() => new Buffering(strategy), options);
      await h.open();
      const cut = cutAt % (evs.length + 1);
      for (let i = 0; i < evs.length; i++) {
        if (i === cut) {
          // Nothing fires before the final watermark, so nothing is lost with the old harness's outputs.
          assert.equal(h.outputValues(), []);
          h = await TaskHarness.restore(() => new Buffering(strategy), h.snapshot(), options);
        }
        const [k, t] = evs[i]!;
        await h.process(k, t, t);
      }
      await h.advanceWatermarkToInfinity();
      const actual = h.outputs.map(
        (o) => `${o.key}:${o.value.window}:${[...o.value.values].sort((a, b) => a - b).join(',')}`,
      );
      assert.equal(actual.sort(), referenceSessions(evs, gap));
    }),
    { numRuns: 100 },
  );
});

test.run();
