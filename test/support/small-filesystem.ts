// A real, small file system for full-disk tests: a tmpfs with a size limit, mounted on a fresh
// temporary directory. Writes past the limit are short, then fail with ENOSPC, as on a full disk.
// Mounting needs root (CAP_SYS_ADMIN); where it is refused, `mountSmallFilesystem` returns the reason
// and the test reports itself skipped instead of passing silently.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallFilesystem {
  readonly path: string;
  /** Unmounts and removes the mount point; idempotent. */
  unmount(): void;
}

/** Mounts a tmpfs of `sizeBytes` (rounded up to pages); a string says why it could not. */
export function mountSmallFilesystem(sizeBytes: number): SmallFilesystem | string {
  const path = mkdtempSync(join(tmpdir(), 'stator-small-fs-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', path], {
    encoding: 'utf8',
  });
  if (mounted.status !== 0) {
    rmSync(path, { recursive: true, force: true });
    return `cannot mount a tmpfs (needs root): ${(mounted.stderr || mounted.error?.message || '').trim()}`;
  }
  let done = false;
  return {
    path,
    unmount() {
      if (done) return;
      done = true;
      spawnSync('umount', [path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** Logs a skipped full-disk test visibly (uvu has no runtime skip). */
export function reportSkipped(name: string, reason: string): void {
  console.warn(`SKIPPED ${name}: ${reason}`);
}
