/**
 * Watches the event loop for stalls: a timer that should fire every `intervalMs` notes how late it
 * ran. The longest delay over the last `windowMs` (at least) says whether the loop stalled lately;
 * a loop stalled right now answers nothing at all, which a probe's timeout catches.
 */
export interface LoopMonitor {
  /** The longest delay of the loop (ms) over the last window. */
  recentMaxDelayMs(): number;
  /** Stops the timer. Idempotent. */
  close(): void;
}

export function startLoopMonitor({
  intervalMs = 250,
  windowMs = 30_000,
}: { intervalMs?: number; windowMs?: number } = {}): LoopMonitor {
  // Two half-windows: the previous one and the current one, so the answer covers at least windowMs/2.
  const halfMs = windowMs / 2;
  let current = 0;
  let previous = 0;
  let windowStarted = performance.now();
  let expected = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    const delay = Math.max(0, now - expected);
    expected = now + intervalMs;
    if (now - windowStarted >= halfMs) {
      previous = current;
      current = 0;
      windowStarted = now;
    }
    current = Math.max(current, delay);
  }, intervalMs);
  timer.unref();
  return {
    recentMaxDelayMs() {
      // A stall still under way when asked (the timer is overdue) counts too.
      const overdue = Math.max(0, performance.now() - expected);
      return Math.max(current, previous, overdue);
    },
    close() {
      clearInterval(timer);
    },
  };
}
