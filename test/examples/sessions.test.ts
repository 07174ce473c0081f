import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SESSION_GAP_MS } from '../../examples/sessions.ts';
import type { PageView, Session } from '../../examples/sessions.ts';
import { embeddedRunArgs, killAll, root, runCli, tempDir } from '../runtime/support/cli.ts';
import type { CliResult } from '../runtime/support/cli.ts';
import { crashTest } from '../runtime/support/crash.ts';
import { generatedClicks } from './support/generated-input.ts';

const tmp = tempDir('sessions');
test.after(() => {
  killAll();
  tmp.remove();
});

/** Runs examples/sessions.ts embedded over `input`. */
function runSessions(input: string, output: string, stateDir: string): Promise<CliResult> {
  return runCli(embeddedRunArgs({ job: 'examples/sessions.ts', input, output, stateDir }));
}

/** Sessions computed directly: per user, views sorted by time, split where the gap exceeds SESSION_GAP_MS. */
function expectedSessions(views: readonly PageView[]): Session[] {
  const byUser = new Map<string, PageView[]>();
  for (const view of views) byUser.set(view.user, [...(byUser.get(view.user) ?? []), view]);
  const sessions: Session[] = [];
  for (const [user, list] of byUser) {
    let current: PageView[] = [];
    const close = (): void => {
      if (current.length === 0) return;
      sessions.push({ user, start: current[0]!.ts, end: current.at(-1)!.ts, pages: current.map((v) => v.page) });
      current = [];
    };
    for (const view of [...list].sort((a, b) => a.ts - b.ts)) {
      if (current.length > 0 && view.ts - current.at(-1)!.ts >= SESSION_GAP_MS) close();
      current.push(view);
    }
    close();
  }
  return sessions;
}

const key = (s: Session): string => `${s.user}@${s.start}`;
const sortSessions = (list: Session[]): Session[] => [...list].sort((a, b) => key(a).localeCompare(key(b)));

test('sessions closes each user session after a 30-minute gap, in event time, via timers', async () => {
  const input = join(root, 'examples/data/clicks.jsonl');
  const output = join(tmp.dir, 'out.jsonl');
  const result = await runSessions(input, output, join(tmp.dir, 'state'));
  assert.is(result.code, 0, result.stderr);
  const views = readFileSync(input, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as PageView);
  const actual = readFileSync(output, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Session);
  // Pages within a session are in arrival order; compare them as sorted multisets.
  const normalize = (list: Session[]): Session[] =>
    sortSessions(list).map((s) => ({ ...s, pages: [...s.pages].sort() }));
  assert.equal(normalize(actual), normalize(expectedSessions(views)));
  assert.ok(actual.length > new Set(views.map((v) => v.user)).size, 'some user has more than one session');
});

// The bundled data's output, byte for byte: fixtures/sessions-expected.jsonl. Before the example
// was written on Beam windows (a hand-kept start, last view and gap timer, closing a session early when
// the user's next view came a gap later) it produced fixtures/sessions-before-windowing.jsonl: the same
// 16 lines, byte for byte, one in another place. Line 26 (dara at 1767231836563) moves the watermark
// from 1767226516643 to 1767231826563, past the ends of all five first sessions. On the partition of
// ben, chen and dara, the old version closed dara's at line 26 itself, then the watermark fired ben's
// and chen's timers; Beam's windowing fires the three window-end timers earliest first (ben's window
// ends at 1767228105834, chen's at 1767228251259, dara's at 1767228326643), so dara's comes after
// theirs. No watermark setting gives the old order: one watermark that passes dara's end has passed
// theirs; only dara's own view stands between, and in Beam an element fires only the windows it is in
// (docs/windowing.md, "The sessions example before windowing"; the next test shows the old rule was
// also wrong within the declared out-of-orderness).
test('sessions over the bundled clicks: the expected output byte for byte, the same lines as before windowing', async () => {
  const output = join(tmp.dir, 'golden.jsonl');
  const result = await runSessions(join(root, 'examples/data/clicks.jsonl'), output, join(tmp.dir, 'golden-state'));
  assert.is(result.code, 0, result.stderr);
  const actual = readFileSync(output);
  assert.ok(
    actual.equals(readFileSync(join(root, 'test/examples/fixtures/sessions-expected.jsonl'))),
    'output differs from fixtures/sessions-expected.jsonl',
  );
  const lines = (b: Buffer): string[] => b.toString('utf8').trimEnd().split('\n');
  const before = lines(readFileSync(join(root, 'test/examples/fixtures/sessions-before-windowing.jsonl')));
  assert.equal([...lines(actual)].sort(), [...before].sort(), 'every line of the pre-windowing output, byte for byte');
  const moved = lines(actual).findIndex((l, i) => l !== before[i]);
  assert.ok(
    before[moved]!.startsWith('{"user":"dara"') && lines(actual)[moved + 2] === before[moved],
    "only dara's first session moved, after two sessions that end earlier",
  );
});

// The pre-windowing version closed dara's session when "/c" came a gap after "/a"; "/b", 6 s out of
// order (within the source's 10 s), then joined "/c" alone. It is 29 min 59 s after "/a" and 6 s
// before "/c": every view is within a gap of the next, so the three are one session.
test('a view out of order within the bound that bridges two sessions joins them: a session closes when the watermark passes its window, not at a later view', async () => {
  const t0 = 1_767_225_600_000;
  const views: PageView[] = [
    { user: 'dara', ts: t0, page: '/a' },
    { user: 'dara', ts: t0 + SESSION_GAP_MS + 5_000, page: '/c' },
    { user: 'dara', ts: t0 + SESSION_GAP_MS - 1_000, page: '/b' },
  ];
  const input = join(tmp.dir, 'bridge.jsonl');
  writeFileSync(input, views.map((v) => JSON.stringify(v)).join('\n') + '\n');
  const output = join(tmp.dir, 'bridge-out.jsonl');
  const result = await runSessions(input, output, join(tmp.dir, 'bridge-state'));
  assert.is(result.code, 0, result.stderr);
  assert.is(
    readFileSync(output, 'utf8'),
    JSON.stringify({ user: 'dara', start: t0, end: t0 + SESSION_GAP_MS + 5_000, pages: ['/a', '/c', '/b'] }) + '\n',
  );
  assert.is(readFileSync(`${output}.dead.jsonl`, 'utf8'), '', 'no view is late');
});

test('a rerun over a grown file writes what one run over the final file writes: sessions open at the first end go on, new timers fire', async () => {
  const lines = readFileSync(join(root, 'examples/data/clicks.jsonl'), 'utf8').trim().split('\n');
  const input = join(tmp.dir, 'grown.jsonl');
  const output = join(tmp.dir, 'grown-out.jsonl');
  const state = join(tmp.dir, 'grown-state');
  writeFileSync(input, lines.slice(0, 30).join('\n') + '\n');
  assert.is((await runSessions(input, output, state)).code, 0);
  writeFileSync(input, lines.join('\n') + '\n');
  const second = await runSessions(input, output, state);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stderr, /restored checkpoint/);
  const once = join(tmp.dir, 'grown-once.jsonl');
  assert.is((await runSessions(input, once, join(tmp.dir, 'grown-once-state'))).code, 0);
  assert.is(readFileSync(output, 'utf8'), readFileSync(once, 'utf8'));
  assert.is(readFileSync(output, 'utf8').trim().split('\n').length, 16);
});

test('event times that are not finite or beyond an exact epoch-millis range are dead-lettered before they move the watermark', async () => {
  const lines = readFileSync(join(root, 'examples/data/clicks.jsonl'), 'utf8').trim().split('\n');
  const clean = join(tmp.dir, 'times-clean.jsonl');
  const input = join(tmp.dir, 'times.jsonl');
  writeFileSync(input, lines.join('\n') + '\n');
  assert.is((await runSessions(input, clean, join(tmp.dir, 'times-clean-state'))).code, 0);
  // 1e999 parses as Infinity; 1e300 is finite but far beyond Beam's timestamp range; a fraction
  // and a string are not epoch millis either. Early in the file, each would have ended sessions.
  const bad = [
    '{"user":"u1","ts":1e999,"page":"/"}',
    '{"user":"u2","ts":1e300,"page":"/"}',
    '{"user":"u3","ts":-1e300,"page":"/"}',
    '{"user":"u1","ts":1767225600000.5,"page":"/"}',
    '{"user":"u1","ts":"1767225600000","page":"/"}',
  ];
  writeFileSync(input, [lines[0], ...bad, ...lines.slice(1)].join('\n') + '\n');
  const output = join(tmp.dir, 'times-out.jsonl');
  const result = await runSessions(input, output, join(tmp.dir, 'times-state'));
  assert.is(result.code, 0, result.stderr);
  assert.is(readFileSync(output, 'utf8'), readFileSync(clean, 'utf8'), 'the same 16 sessions as without the bad lines');
  const dead = readFileSync(`${output}.dead.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as { stage: string; attempts: number; raw: string; error: { code: string; message: string } },
    );
  assert.equal(
    dead.map((d) => d.raw),
    bad,
  );
  for (const d of dead) {
    assert.is(d.stage, 'in');
    assert.is(d.attempts, 1);
    assert.is(d.error.code, 'INVALID_EVENT_TIME');
    assert.match(
      d.error.message,
      /not an integer of epoch milliseconds .* dead-lettered before it moves the watermark/,
    );
  }
  assert.match(dead[0]!.error.message, /returned Infinity/);
});

test('SIGKILL at random moments: sessions (timers, watermark, bags) come out as in an uninterrupted run', async () => {
  const input = join(tmp.dir, 'clicks.jsonl');
  writeFileSync(input, generatedClicks(120_000));
  const { killed } = await crashTest({ module: 'examples/sessions.ts', input, dir: tmp.dir, kills: 4 });
  assert.ok(killed > 0);
});

test.run();
