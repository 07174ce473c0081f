// Deterministic generated inputs for the examples' crash tests: large enough that a run takes
// seconds (so SIGKILLs land mid-run) and, on the disk backend with a small budget, that most keys
// are on disk rather than in the heap cache.

/** Linear congruential steps from `seed`: the same sequence on every run. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
}

/** JSON lines of page views {user, ts, page} over 3,000 users, in event-time order (examples/sessions.ts). */
export function generatedClicks(count: number): string {
  const pages = ['/', '/search', '/product/1', '/product/2', '/cart', '/checkout'];
  const next = lcg(99);
  let ts = 1_767_225_600_000;
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    ts += next() % 2000;
    lines.push(JSON.stringify({ user: `u${next() % 3000}`, ts, page: pages[next() % pages.length] }));
  }
  return lines.join('\n') + '\n';
}

/**
 * JSON lines of card transactions {card, ts, amount, merchant} over 2,500 cards and 40 merchants
 * (examples/fraud.ts): 3 % are large amounts, so both of its rules fire.
 */
export function generatedTransactions(count: number): string {
  const next = lcg(7);
  let ts = 1_767_225_600_000;
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    ts += next() % 500;
    const amount = next() % 100 < 3 ? 200 + (next() % 2000) : 5 + (next() % 120);
    lines.push(JSON.stringify({ card: `4000-${next() % 2500}`, ts, amount, merchant: `m${next() % 40}` }));
  }
  return lines.join('\n') + '\n';
}
