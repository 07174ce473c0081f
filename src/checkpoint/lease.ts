import { hostname } from 'node:os';
import type { ProcessIdentity } from './checkpoint-options.ts';
import type { Lease } from './manifest.ts';

/** This process: its pid and host, and a signal-0 probe for other local pids. */
export function currentProcessIdentity(): ProcessIdentity {
  return {
    pid: process.pid,
    hostname: hostname(),
    isAlive(pid: number): boolean {
      try {
        process.kill(pid, 0);
        return true;
      } catch (error) {
        // EPERM: the process exists but belongs to another user; it is alive.
        return (error as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
  };
}

/**
 * Whether a lease still holds the job. It must have been renewed within its time-to-live; on this
 * host the holder must also still be alive, so a local crash frees the job at once instead of after
 * the time-to-live.
 */
export function isLeaseLive(lease: Lease | undefined, now: number, self: ProcessIdentity): boolean {
  if (lease === undefined) return false;
  if (now - lease.heartbeatAt >= lease.ttlMs) return false;
  if (lease.hostname === self.hostname && !self.isAlive(lease.pid)) return false;
  return true;
}

export function describeLease(lease: Lease): string {
  return `pid ${lease.pid} on ${lease.hostname} (last heartbeat ${new Date(lease.heartbeatAt).toISOString()})`;
}
