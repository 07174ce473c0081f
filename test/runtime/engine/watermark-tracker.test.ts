import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WatermarkTracker } from '../../../runtime/engine/watermark-tracker.ts';

test('watermark tracker - the minimum over inputs, advancing only', () => {
  const t = new WatermarkTracker(2);
  assert.is(t.update(0, 10), undefined, 'input 1 has not reported');
  assert.is(t.update(1, 5), 5);
  assert.is(t.update(1, 20), 10);
  assert.is(t.update(0, 8), undefined, 'an input going back does not move it back');
  assert.is(t.watermark, 10);
});

test('watermark tracker - idle inputs are left out until they report again', () => {
  const t = new WatermarkTracker(2);
  t.update(0, 100);
  assert.is(t.markIdle(1), 100);
  assert.is(t.update(0, 150), 150);
  assert.ok(!t.allIdle);
  assert.is(t.update(1, 120), undefined, 'active again, behind: the watermark holds');
  assert.is(t.update(1, 200), undefined, 'caught up with input 0, which is still at 150');
  assert.is(t.update(0, 300), 200);
  t.markIdle(0);
  t.markIdle(1);
  assert.ok(t.allIdle);
});

test.run();
