// The file source on its own: what it sends for a bounded input, and when.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSource, FINAL_WATERMARK } from '../../../runtime/io/file-source.ts';
import type { DeadLetter, Outlet } from '../../../runtime/engine/outlet.ts';
import { lines } from '../../../runtime/index.ts';
import { tempDir } from '../support/cli.ts';

const tmp = tempDir('file-source');
test.after(() => tmp.remove());

type Sent = ['data', unknown, number] | ['watermark', number, number];

function recorder(): Outlet & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    data: (value, _timestamp, position) => void sent.push(['data', value, position]),
    watermark: (_from, watermark, position) => void sent.push(['watermark', watermark, position]),
    idle: () => {},
    congested: false,
    whenUncongested: () => Promise.resolve(),
  };
}

const source = lines();

test('file source - a bounded input ends at its last newline; the unterminated line and the final watermark wait for finishInput', async () => {
  const path = join(tmp.dir, 'tail.txt');
  writeFileSync(path, 'alpha beta\ngam');
  const outlet = recorder();
  const letters: DeadLetter[] = [];
  const file = new FileSource(source, { path, follow: false }, outlet, (l) => letters.push(l));
  await file.open(-1);
  assert.is(await file.run(), true);
  assert.is(file.lastPosition, 10, 'the last newline');
  assert.equal(
    outlet.sent.filter((s) => s[0] === 'data'),
    [['data', 'alpha beta', 0]],
  );
  assert.ok(
    outlet.sent.every((s) => s[0] !== 'watermark' || s[1] !== FINAL_WATERMARK),
    'no final watermark yet',
  );
  file.finishInput();
  assert.equal(outlet.sent.slice(-2), [
    ['data', 'gam', 11],
    ['watermark', FINAL_WATERMARK, 13],
  ]);
  assert.is(file.lastPosition, 13);
  await file.close();
  assert.equal(letters, []);
});

test('file source - a pause asked for during the last read of a bounded input is answered, not left waiting', async () => {
  const path = join(tmp.dir, 'pause.txt');
  writeFileSync(path, 'a\n');
  const file = new FileSource(source, { path, follow: false }, recorder(), () => {});
  await file.open(1); // everything read: the first read finds the end
  const running = file.run();
  const paused = file.pause(); // the loop is past its first boundary check, in the read
  const answer = await Promise.race([paused, new Promise((resolve) => setTimeout(() => resolve('no answer'), 5000))]);
  assert.is(answer, 1);
  file.resume();
  assert.is(await running, true);
  await file.close();
});

test('file source - a pause while the pipeline is congested is answered at once, at the last line handed over', async () => {
  const path = join(tmp.dir, 'congested.txt');
  writeFileSync(path, 'one\ntwo\nthree\n');
  // A pipeline that takes one line and then stays congested (a sink that never catches up).
  const outlet = recorder();
  let released = false;
  const waiting: (() => void)[] = [];
  const congestedOutlet: Outlet = {
    ...outlet,
    data: (value, timestamp, position) => outlet.data(value, timestamp, position),
    get congested() {
      return !released && outlet.sent.some((s) => s[0] === 'data');
    },
    whenUncongested: () => (released ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve))),
  };
  const file = new FileSource(source, { path, follow: false }, congestedOutlet, () => {});
  await file.open(-1);
  const running = file.run();
  while (!outlet.sent.some((s) => s[0] === 'data')) await new Promise((resolve) => setImmediate(resolve));
  const answer = await Promise.race([
    file.pause(),
    new Promise((resolve) => setTimeout(() => resolve('no answer while congested'), 5000)),
  ]);
  assert.is(answer, 3, 'paused after "one" (bytes 0..3), without waiting for the pipeline');
  assert.equal(
    outlet.sent.filter((s) => s[0] === 'data').map((s) => s[1]),
    ['one'],
    'nothing more was handed over during the pause',
  );
  file.resume();
  released = true;
  for (const resolve of waiting) resolve();
  assert.is(await running, true);
  assert.equal(
    outlet.sent.filter((s) => s[0] === 'data').map((s) => s[1]),
    ['one', 'two', 'three'],
    'the rest once the pipeline took input again',
  );
  await file.close();
});

test.run();
