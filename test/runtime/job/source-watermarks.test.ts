import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { jsonLines } from '../../../runtime/job/define-job.ts';
import { SourceWatermarks } from '../../../runtime/job/source-watermarks.ts';
import { WATERMARK_MIN } from '../../../runtime/engine/watermark-tracker.ts';
import { InvalidEventTimeError } from '../../../runtime/errors.ts';
import type { Outlet } from '../../../runtime/engine/outlet.ts';

type Event = { t?: number; wm?: number };

/** An outlet that records what a source sends: watermarks with their positions, and idle reports. */
function recordingOutlet(): { outlet: Outlet; sent: Array<[number, number] | 'idle'> } {
  const sent: Array<[number, number] | 'idle'> = [];
  const outlet = {
    watermark: (_from: number, watermark: number, position: number) => sent.push([watermark, position]),
    idle: () => sent.push('idle'),
  } as unknown as Outlet;
  return { outlet, sent };
}

const eventTime = jsonLines<Event>({
  timestamp: (e) => e.t!,
  maxOutOfOrdernessMs: 10,
  watermark: (e) => e.wm,
});

test('event time: the bound is the greatest time minus the out-of-orderness, sent only when it moves', () => {
  const { outlet, sent } = recordingOutlet();
  const w = new SourceWatermarks(eventTime, outlet);
  assert.ok(w.eventTime);
  assert.is(w.bound, WATERMARK_MIN);
  assert.is(w.timeOf({ t: 100 }, 999, 0), 100);
  w.advance(0);
  assert.is(w.timeOf({ t: 50 }, 999, 1), 50, 'a late message keeps its own time');
  w.advance(1);
  assert.is(w.timeOf({ t: 130 }, 999, 2), 130);
  w.advance(2);
  assert.equal(sent, [
    [90, 0],
    [120, 2],
  ]);
});

test('an explicit watermark message is sent at its position and is not data; watermarks never move back', () => {
  const { outlet, sent } = recordingOutlet();
  const w = new SourceWatermarks(eventTime, outlet);
  assert.is(w.timeOf({ wm: 500 }, 0, 7), undefined);
  assert.is(w.timeOf({ wm: 300 }, 0, 8), undefined);
  w.mark(9);
  assert.equal(sent, [
    [500, 7],
    [500, 8],
    [500, 9],
  ]);
  assert.not.ok(w.seen, 'watermark messages are not data');
});

test('ingestion time: the time the binding gives, no out-of-orderness; idle moves the watermark to now', () => {
  const { outlet, sent } = recordingOutlet();
  const w = new SourceWatermarks(jsonLines<Event>({ maxOutOfOrdernessMs: 10 }), outlet);
  assert.not.ok(w.eventTime);
  assert.is(w.timeOf({ t: 1 }, 1000, 0), 1000);
  assert.is(w.bound, 1000);
  w.idle(0, 2000);
  assert.equal(sent, [[2000, 0]]);
});

test('event time idle reports the input idle; finish sends the final watermark', () => {
  const { outlet, sent } = recordingOutlet();
  const w = new SourceWatermarks(eventTime, outlet);
  w.idle(3, 0);
  w.finish(Number.MAX_VALUE, 4);
  assert.equal(sent, ['idle', [Number.MAX_VALUE, 4]]);
});

test('a time that is not a safe integer is an InvalidEventTimeError (the binding dead-letters it)', () => {
  const w = new SourceWatermarks(eventTime, recordingOutlet().outlet);
  assert.throws(
    () => w.timeOf({ t: 1.5 }, 0, 0),
    (e: unknown) => e instanceof InvalidEventTimeError,
  );
  assert.throws(
    () => w.timeOf({ wm: Number.NaN }, 0, 0),
    (e: unknown) => e instanceof InvalidEventTimeError,
  );
  assert.not.ok(w.seen);
});

test('property: the watermarks sent never decrease and never pass the greatest time minus the out-of-orderness', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 200 }), (times) => {
      const { outlet, sent } = recordingOutlet();
      const w = new SourceWatermarks(eventTime, outlet);
      let greatest = WATERMARK_MIN;
      times.forEach((t, i) => {
        w.timeOf({ t }, 0, i);
        greatest = Math.max(greatest, t);
        w.advance(i);
      });
      const values = sent.map((s) => (s as [number, number])[0]);
      for (let i = 1; i < values.length; i++) assert.ok(values[i]! > values[i - 1]!);
      for (const v of values) assert.ok(v <= greatest - 10);
      if (times.length > 0) assert.is(values.at(-1), greatest - 10);
    }),
  );
});

test.run();
