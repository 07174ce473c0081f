import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SESSION_GAP_MS } from '../../examples/sessions.ts';
import type { PageView, Session } from '../../examples/sessions.ts';
import { killAll, root, runCli, tempDir } from '../runtime/support/cli.ts';
import { crashTest } from '../runtime/support/crash.ts';

const tmp = tempDir('sessions');
test.after(() => {
  killAll();
  tmp.remove();
});

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
  const result = await runCli(['run', 'examples/sessions.ts', '--input', input, '--output', output, '--state-dir', join(tmp.dir, 'state')]);
  assert.is(result.code, 0, result.stderr);
  const views = readFileSync(input, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PageView);
  const actual = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Session);
  // Pages within a session are in arrival order; compare them as sorted multisets.
  const normalize = (list: Session[]): Session[] => sortSessions(list).map((s) => ({ ...s, pages: [...s.pages].sort() }));
  assert.equal(normalize(actual), normalize(expectedSessions(views)));
  assert.ok(actual.length > new Set(views.map((v) => v.user)).size, 'some user has more than one session');
});

function generatedClicks(count: number): string {
  const pages = ['/', '/search', '/product/1', '/product/2', '/cart', '/checkout'];
  let x = 99;
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  let ts = 1_767_225_600_000;
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    ts += next() % 2000;
    lines.push(JSON.stringify({ user: `u${next() % 3000}`, ts, page: pages[next() % pages.length] }));
  }
  return lines.join('\n') + '\n';
}

test('SIGKILL at random moments: sessions (timers, watermark, bags) come out as in an uninterrupted run', async () => {
  const input = join(tmp.dir, 'clicks.jsonl');
  writeFileSync(input, generatedClicks(120_000));
  const { killed } = await crashTest({ module: 'examples/sessions.ts', input, dir: tmp.dir, kills: 4 });
  assert.ok(killed > 0);
});

test.run();
