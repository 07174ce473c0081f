import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { OrderedMerge } from '../../../runtime/engine/ordered-merge.ts';
import type { Outlet } from '../../../runtime/engine/outlet.ts';

function collector(): { outlet: Outlet; values: unknown[] } {
  const values: unknown[] = [];
  return {
    values,
    outlet: {
      data: (v) => values.push(v),
      watermark: () => {},
      idle: () => {},
      congested: false,
      whenUncongested: () => Promise.resolve(),
    },
  };
}

// Each lane processes its own sequence of positions in order, emitting some outputs per position; the
// lanes' work is interleaved arbitrarily (the scheduler). The merged output must not depend on it.
test('ordered merge - output order depends only on positions, never on how lanes interleave', () => {
  const laneWork = fc.array(fc.array(fc.nat({ max: 3 }), { maxLength: 20 }), { minLength: 2, maxLength: 4 });
  fc.assert(
    fc.property(
      laneWork,
      fc.array(fc.nat(), { maxLength: 200 }),
      fc.array(fc.nat(), { maxLength: 200 }),
      (lanes, scheduleA, scheduleB) => {
        const run = (schedule: number[]): unknown[] => {
          const { outlet, values } = collector();
          const merge = new OrderedMerge(lanes.length, outlet);
          const next = lanes.map(() => 0);
          const step = (lane: number): boolean => {
            const i = next[lane]!;
            if (i >= lanes[lane]!.length) return false;
            const position = i * 10 + 5;
            for (let k = 0; k < lanes[lane]![i]!; k++) merge.lanes[lane]!.data(`${position}:${lane}:${k}`, 0, position);
            merge.progress(lane, position);
            next[lane] = i + 1;
            return true;
          };
          for (const pick of schedule) step(pick % lanes.length);
          for (let lane = 0; lane < lanes.length; lane++) while (step(lane));
          merge.flush();
          return values;
        };
        assert.equal(run(scheduleA), run(scheduleB));
      },
    ),
  );
});

test('ordered merge - releases an output once every lane has progressed past its position', () => {
  const { outlet, values } = collector();
  const merge = new OrderedMerge(2, outlet);
  merge.lanes[1]!.data('b@5', 0, 5);
  merge.progress(1, 5);
  assert.equal(values, [], 'lane 0 may still emit at or before 5');
  merge.lanes[0]!.data('a@3', 0, 3);
  merge.progress(0, 7);
  assert.equal(values, ['a@3'], 'lane 1 may still have another message at 5');
  merge.progress(1, 9);
  assert.equal(values, ['a@3', 'b@5']);
  assert.is(merge.buffered, 0);
});

test.run();
