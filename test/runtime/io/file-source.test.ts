// The file source on its own: what it sends for a bounded input, and when.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { FileSource, FINAL_WATERMARK } from '../../../runtime/io/file-source.ts';
import type { DeadLetter, Outlet } from '../../../runtime/engine/outlet.ts';
import { ConfigError, lines } from '../../../runtime/index.ts';
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

test('file source - a restore position that is not a line end in the file (another input) is refused, not resumed mid-line', async () => {
  const path = join(tmp.dir, 'other.txt');
  writeFileSync(path, 'x y z\nq r\n'); // the checkpoint read 'a b\n' of another file: position 3
  const file = new FileSource(source, { path, follow: false }, recorder(), () => {});
  try {
    await file.open(3);
    assert.unreachable('opened');
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.is(
      (error as Error).message,
      `input ${path} is not the file the checkpoint read: it processed 4 bytes, up to a line end, and this file has ` +
        'no line end there (another file, or one rewritten since); pass the input the job read, or start over with ' +
        '`stator checkpoints clear`',
    );
  }
  const same = new FileSource(source, { path, follow: false }, recorder(), () => {});
  await same.open(5); // its own first line end
  assert.is(same.lastPosition, 5);
  await same.close();
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

/** Reads `path` to its end and finishes it; returns the lines sent and the dead letters. */
async function readAll(
  path: string,
  options: { chunkBytes: number; maxLineBytes: number },
): Promise<{ data: Array<[unknown, number]>; letters: DeadLetter[]; lastPosition: number }> {
  const outlet = recorder();
  const letters: DeadLetter[] = [];
  const file = new FileSource(source, { path, follow: false, ...options }, outlet, (l) => letters.push(l));
  await file.open(-1);
  assert.is(await file.run(), true);
  file.finishInput();
  const lastPosition = file.lastPosition;
  await file.close();
  const data = outlet.sent.filter((s) => s[0] === 'data').map((s): [unknown, number] => [s[1], s[2]]);
  return { data, letters, lastPosition };
}

test('file source - a line over maxLineBytes is dead-lettered by position and skipped, whatever the read chunks (property)', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 12 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 20 }),
      async (lengths, lastTerminated, chunkBytes, maxLineBytes) => {
        const path = join(tmp.dir, `long-${n++}.txt`);
        const texts = lengths.map((length, i) => String.fromCharCode(97 + (i % 26)).repeat(length));
        const joined = texts.join('\n');
        writeFileSync(path, joined + (lastTerminated ? '\n' : ''));
        const { data, letters, lastPosition } = await readAll(path, { chunkBytes, maxLineBytes });
        const expectedData: Array<[unknown, number]> = [];
        const expectedLetters: Array<[number, string]> = [];
        let offset = 0;
        for (const text of texts) {
          if (text.length > maxLineBytes)
            expectedLetters.push([
              offset,
              `the line at byte ${offset} of ${path} is ${text.length} bytes, over the ${maxLineBytes}-byte line limit`,
            ]);
          // An empty last line without `\n` is no line.
          else if (text.length > 0 || offset < joined.length || lastTerminated) expectedData.push([text, offset]);
          offset += text.length + 1;
        }
        assert.equal(data, expectedData);
        assert.equal(
          letters.map((l) => [l.position, (l.error as Error).message.split(':')[0]]),
          expectedLetters,
        );
        for (const letter of letters) assert.is((letter.error as { code?: unknown }).code, 'INPUT_LINE_TOO_LONG');
        assert.is(lastPosition, lastTerminated ? joined.length : joined.length - 1, 'read to the end');
      },
    ),
    { numRuns: 300 },
  );
});

test('file source - a line over maxLineBytes is skipped holding no more than the limit of it in memory', async () => {
  // A sparse file: a 512 MiB line (the old source grew its buffer to hold it whole: 0.5-1.5 GiB).
  const path = join(tmp.dir, 'huge-line.txt');
  writeFileSync(path, 'before\n');
  truncateSync(path, 7 + 2 ** 29);
  appendFileSync(path, '\nafter\n');
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    const { data, letters } = await readAll(path, { chunkBytes: 1024 * 1024, maxLineBytes: 4 * 1024 * 1024 });
    assert.equal(data, [
      ['before', 0],
      ['after', 7 + 2 ** 29 + 1],
    ]);
    assert.is(letters.length, 1);
    assert.is(letters[0]!.position, 7);
    assert.match((letters[0]!.error as Error).message, `is ${2 ** 29} bytes, over the 4194304-byte line limit`);
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  assert.ok(peak - rssBefore < 128 * 2 ** 20, `RSS grew by ${((peak - rssBefore) / 2 ** 20).toFixed(0)} MiB`);
});

test('file source - maxLineBytes must be a positive integer', () => {
  for (const maxLineBytes of [0, -1, 1.5, Number.NaN])
    assert.throws(
      () => new FileSource(source, { path: 'x', follow: false, maxLineBytes }, recorder(), () => {}),
      /maxLineBytes must be a positive integer of bytes, got/,
    );
});

test.run();
