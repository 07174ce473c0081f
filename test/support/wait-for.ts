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
