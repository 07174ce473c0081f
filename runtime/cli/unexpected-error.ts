// An error that ends a command without being one of stator's own: a StatorError says in one line what
// failed and what to do, but anything else (a bug, a failure nothing turned into a StatorError) is
// seldom understood from its message alone ("timeout"), so its stack, causes and fields go with it.
import { inspect } from 'node:util';
import { redactCredentials } from '../redact.ts';

/**
 * Whether `error` is a StatorError, told by the fields every one has, as exitCodeFor tells its code:
 * instanceof fails across realms and duplicated copies of stator.
 */
function isStatorError(error: Error): boolean {
  const { code, retryable } = error as { code?: unknown; retryable?: unknown };
  return typeof code === 'string' && typeof retryable === 'boolean';
}

/**
 * What to report of an unexpected error beyond its message: its stack, causes and own fields, with
 * credentials redacted. Undefined for a StatorError, and for a thrown value that is no Error (it has no stack).
 */
export function unexpectedErrorDetails(error: unknown): string | undefined {
  if (!(error instanceof Error) || isStatorError(error)) return undefined;
  return redactCredentials(inspect(error, { depth: 4, colors: false }));
}

/** StatorError codes whose `cause` is the job's own error (its task factory or a task callback threw). */
const JOB_CODE_FAILURES = new Set(['TASK_FACTORY_FAILED', 'TASK_CALLBACK_FAILED']);

/**
 * Where the job's own code threw, for a StatorError that reports such a failure: its cause's stack,
 * credentials redacted (the one-line message says what failed, not where). Else undefined.
 */
export function jobCodeStack(error: unknown): string | undefined {
  if (!(error instanceof Error) || !isStatorError(error)) return undefined;
  const { code } = error as { code?: unknown };
  if (typeof code !== 'string' || !JOB_CODE_FAILURES.has(code)) return undefined;
  const cause = error.cause;
  return cause instanceof Error && cause.stack !== undefined ? redactCredentials(cause.stack) : undefined;
}
