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

test.run();
