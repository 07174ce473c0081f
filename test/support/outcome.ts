/**
 * What `promise` ends with, as a value: its rejection's reason, or `"<what> resolved"` when it
 * resolves, so a test expecting a failure awaits one value and compares it (and a promise started
 * early never rejects unhandled while the test does other things).
 */
export function outcomeOf(promise: Promise<unknown>, what: string): Promise<unknown> {
  return promise.then(
    () => `${what} resolved`,
    (error: unknown) => error,
  );
}
