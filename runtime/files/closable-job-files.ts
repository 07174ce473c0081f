import type { JobFiles } from '../../src/files/index.ts';

/** A file area opened by the runtime or by job code: close it when done (`await using` works too). */
export interface ClosableJobFiles extends JobFiles, AsyncDisposable {
  /** Waits for writes in progress, then releases what the area holds. Idempotent. */
  close(): Promise<void>;
}
