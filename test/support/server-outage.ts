// A server that dies under a running client and comes back: what a cluster node's crash looks like
// to the requests in flight.
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsServerHandle } from './nats-server.ts';

/**
 * A request's timeout (5 s in nats.js): a server down for longer makes the requests sent meanwhile
 * time out instead of waiting for the reconnect.
 */
export const LONGER_THAN_A_REQUEST_MS = 6_000;

type Restartable = Pick<NatsServerHandle, 'kill' | 'restart'>;

/** Kills `server` and restarts it `downMs` later; resolves once it is killed, with the restart to await. */
export async function killFor(
  server: Restartable,
  downMs = LONGER_THAN_A_REQUEST_MS,
): Promise<{ readonly restarted: Promise<void> }> {
  await server.kill();
  return { restarted: sleep(downMs).then(() => server.restart()) };
}

/**
 * Kills `server`, runs `during` while it is down, and restarts it `downMs` after the kill (or once
 * `during` settles, if later): `during` settles with the server running again.
 */
export async function whileDown<T>(
  server: Restartable,
  during: () => Promise<T>,
  downMs = LONGER_THAN_A_REQUEST_MS,
): Promise<T> {
  const { restarted } = await killFor(server, downMs);
  try {
    return await during();
  } finally {
    await restarted;
  }
}
