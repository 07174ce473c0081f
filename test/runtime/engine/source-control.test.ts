import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SourceControl } from '../../../runtime/engine/source-control.ts';

test('source control - a pause resolves with the position of the boundary the loop halts at, and holds it until resume', async () => {
  let woken = 0;
  const control = new SourceControl(() => woken++);
  assert.is(control.interrupted, false);
  const paused = control.pause();
  assert.is(control.pause(), paused, 'a second pause while one is pending is the same one');
  assert.is(woken, 1);
  assert.is(control.interrupted, true);
  let returned: boolean | undefined;
  const held = control.holdOrStop(41).then((stop) => (returned = stop));
  assert.is(await paused, 41);
  await Promise.resolve();
  assert.is(returned, undefined, 'the loop stays parked while paused');
  control.resume();
  await held;
  assert.is(returned, false);
  assert.is(control.interrupted, false);
});

test('source control - stop releases a parked loop and makes it return', async () => {
  const control = new SourceControl(() => {});
  const paused = control.pause();
  const held = control.holdOrStop(7);
  assert.is(await paused, 7);
  control.stop();
  assert.is(await held, true);
});

test('source control - a pause requested just before a stop is still answered when the loop returns', async () => {
  const control = new SourceControl(() => {});
  const paused = control.pause();
  control.stop();
  assert.is(await control.holdOrStop(12), true);
  assert.is(await paused, 12, 'a checkpoint waiting for the pause does not hang');
});

test('source control - a pause requested after the loop returned on a stop is answered with where it stopped', async () => {
  const control = new SourceControl(() => {});
  control.stop();
  assert.is(await control.holdOrStop(12), true);
  const answered = await Promise.race([
    control.pause(),
    new Promise<string>((resolve) => setTimeout(() => resolve('still pending'), 100)),
  ]);
  assert.is(answered, 12, 'a checkpoint asking after the loop returned does not hang');
});

test.run();
