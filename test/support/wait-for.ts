import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves once `condition()` holds, polling every `intervalMs`. Rejects after `limitMs` so a broken
 * run fails the test instead of hanging it: the limit is a guard, never a timing assertion.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { limitMs = 60_000, intervalMs = 20 }: { limitMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${limitMs} ms`);
    await sleep(intervalMs);
  }
}

/**
 * Resolves once `done()` holds, for long work that shows how far it got: `progress()` is any measure
 * that grows while the work moves (outputs stored plus log lines written, say: a replay after a crash
 * stores nothing new for a while but logs its checkpoints). Rejects only after `stallMs` without
 * `progress()` growing: a slow machine makes it wait longer, a stuck run still fails the test.
 */
export async function waitForProgress(
  done: () => boolean | Promise<boolean>,
  progress: () => number | Promise<number>,
  what: string,
  { stallMs = 60_000, intervalMs = 100 }: { stallMs?: number; intervalMs?: number } = {},
): Promise<void> {
  let best = Number.NEGATIVE_INFINITY;
  let stalledSince = Date.now();
  while (!(await done())) {
    const value = await progress();
    if (value > best) {
      best = value;
      stalledSince = Date.now();
    } else if (Date.now() - stalledSince > stallMs) {
      throw new Error(`gave up waiting for ${what}: no progress for ${stallMs} ms (at ${value})`);
    }
    await sleep(intervalMs);
  }
}
