import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OwnerDeadlines } from '../../../runtime/state-api/owner-deadlines.ts';
import { StateTimeoutError } from '../../../runtime/state-api/state-api-errors.ts';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The process's active timers, once the test runner's own timer that started the test is done. */
async function timers(): Promise<number> {
  await new Promise((resolve) => setImmediate(resolve));
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

test('owner deadlines - answers in time pass through, unanswered ones become 504s, late answers change nothing', async () => {
  const deadlines = new OwnerDeadlines(50);
  const before = await timers();
  const answered = deferred<string>();
  const failed = deferred<string>();
  const late = deferred<string>();
  const never = deferred<string>();
  const outcomes = [answered, failed, late, never].map((d, i) =>
    deadlines.within(d.promise, `request ${i}`).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
  );
  answered.resolve('ok');
  failed.reject(new Error('refused'));
  const [a, f, l, n] = await Promise.all(
    outcomes.map(async (outcome, i) => {
      const settled = await outcome;
      if (i === 2) late.resolve('too late');
      return settled;
    }),
  );
  assert.equal(a, { value: 'ok' });
  assert.is(((f as { error: Error }).error as Error).message, 'refused');
  for (const [i, outcome] of [
    [2, l],
    [3, n],
  ] as const) {
    const error = (outcome as { error: unknown }).error;
    assert.ok(error instanceof StateTimeoutError, `request ${i}`);
    assert.is(error.status, 504);
    assert.match(error.message, new RegExp(`^request ${i}: the key's owner did not answer within 50 ms`));
  }
  assert.is(await timers(), before, 'no timer is left once nothing waits');
});

test('owner deadlines - requests that keep coming after earlier ones were answered each get their own time', async () => {
  const deadlines = new OwnerDeadlines(40);
  const before = await timers();
  const kept: Promise<unknown>[] = [];
  const open = deferred<string>();
  kept.push(deadlines.within(open.promise, 'held').catch((error: unknown) => error));
  // Answered at once, while the held one keeps the timer armed.
  for (let i = 0; i < 2000; i++) kept.push(deadlines.within(Promise.resolve(i), `quick ${i}`));
  await new Promise((resolve) => setTimeout(resolve, 20));
  const second = deferred<string>();
  const secondOutcome = deadlines.within(second.promise, 'second').catch((error: unknown) => error);
  const held = await kept[0];
  assert.ok(held instanceof StateTimeoutError);
  // The held request timed out; the second, which came later, still waits for its own deadline.
  second.resolve('answered');
  assert.is(await secondOutcome, 'answered');
  const quick = await Promise.all(kept.slice(1));
  assert.equal(
    quick,
    Array.from({ length: 2000 }, (_, i) => i),
  );
  assert.is(await timers(), before);
});

test.run();
