// Strong reads and writes for a partition owned by another process (NATS mode): a request on the
// partition's subject, answered by whoever runs the partition, with a JSON reply. Errors travel as
// their status, code and message and are raised again as the same StateApiError subclass, so a
// forwarded request fails exactly as a local one would.
import type { Msg, Subscription } from '@nats-io/transport-node';
import type { NatsLink } from '../nats/connection.ts';
import type { Logger } from '../log.ts';
import { sleep } from '../nats/retry.ts';
import {
  StateApiError,
  StateRequestError,
  StateTimeoutError,
  StateTooLargeError,
  StateUnavailableError,
  StateValueError,
} from './state-api-errors.ts';
import type { StateCommand, StateCommandResult } from './state-command.ts';
import type { KeyRead, LocalStateOwner } from './state-owner.ts';
import type { StateStores } from './state-stores.ts';
import { natsCore } from '../deferred-packages.ts';

/** What a process asks a partition's owner. */
export type OwnerRequest =
  | { readonly op: 'read'; readonly store: string; readonly keys: readonly string[] }
  | { readonly op: 'write'; readonly store: string; readonly id: string; readonly command: StateCommand };

type OwnerReply =
  | { readonly ok: unknown }
  | { readonly error: { readonly status: number; readonly code: string; readonly message: string } };

/** Answers state API requests for the partitions `local` runs, on each partition's request subject. */
export class OwnerResponder {
  private readonly subscriptions: Subscription[] = [];
  private readonly answering = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly link: NatsLink,
    private readonly stores: StateStores,
    private readonly local: LocalStateOwner,
    private readonly logger: Logger,
  ) {}

  /**
   * Answers requests on `subject` (one partition's): subscribed in a queue group, so one process
   * answers each request even while two briefly subscribe during a hand-over.
   */
  serve(subject: string): void {
    if (this.closed) return;
    this.subscriptions.push(
      this.link.nc.subscribe(subject, {
        queue: 'stator-owner',
        callback: (error, msg) => {
          if (error !== null) {
            this.logger.warn(`state API: requests on ${subject} stopped: ${error.message}`);
            return;
          }
          const answering = this.answer(msg);
          this.answering.add(answering);
          void answering.finally(() => this.answering.delete(answering));
        },
      }),
    );
  }

  /** Stops answering; requests under way are answered first. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe();
    await Promise.allSettled([...this.answering]);
  }

  private async answer(msg: Msg): Promise<void> {
    let reply: OwnerReply;
    try {
      const request = JSON.parse(new TextDecoder().decode(msg.data)) as OwnerRequest;
      const store = this.stores.get(request.store);
      const result: KeyRead[] | StateCommandResult =
        request.op === 'read'
          ? await this.local.read(store, request.keys)
          : await this.local.write(store, request.command, request.id);
      reply = { ok: result };
    } catch (error) {
      reply = { error: errorFields(error) };
    }
    let data = new TextEncoder().encode(JSON.stringify(reply));
    const maxPayload = this.link.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
    if (data.length > maxPayload) {
      const tooLarge = new StateTooLargeError(
        'ERR_RESPONSE_TOO_LARGE',
        `the answer (${data.length} bytes) exceeds the NATS server's max_payload (${maxPayload} bytes): ask for fewer keys at a time`,
      );
      data = new TextEncoder().encode(JSON.stringify({ error: errorFields(tooLarge) }));
    }
    try {
      msg.respond(data);
    } catch (error) {
      this.logger.warn(`state API: could not answer a forwarded request: ${(error as Error).message}`);
    }
  }
}

function errorFields(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof StateApiError) return { status: error.status, code: error.code, message: error.message };
  return { status: 500, code: 'ERR_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/** The error a reply carries, as the StateApiError subclass a local call would have thrown. */
function revive(fields: { status: number; code: string; message: string }): StateApiError {
  const { status, code, message } = fields;
  if (code === 'ERR_STATE_VALUE') return new StateValueError(message);
  if (status === 400) return new StateRequestError(code, message);
  if (status === 503) return new StateUnavailableError(message);
  if (status === 504) return new StateTimeoutError(message);
  if (code === 'ERR_REQUEST_TOO_LARGE' || code === 'ERR_RESPONSE_TOO_LARGE')
    return new StateTooLargeError(code, message);
  return new StateApiError(status, code, message);
}

/**
 * @throws StateTooLargeError (413) when `bytes` exceed the server's max_payload, which bounds a request in NATS mode.
 */
export function assertFitsNatsMessage(link: NatsLink, bytes: number, what: 'read' | 'write'): void {
  const maxPayload = link.nc.info?.max_payload;
  if (maxPayload === undefined || bytes <= maxPayload) return;
  throw new StateTooLargeError(
    'ERR_REQUEST_TOO_LARGE',
    `the ${what} (${bytes} bytes) exceeds the NATS server's max_payload (${maxPayload} bytes), which bounds a request in NATS mode: ${what === 'write' ? 'write fewer or smaller values' : 'ask for fewer keys'} at a time`,
  );
}

/**
 * Once nobody has answered, a new attempt is made only with at least this long left: with less, a
 * loaded machine could report the server's late "no responders" as a timeout, as if an owner had
 * taken the request.
 */
const MIN_ATTEMPT_MS = 1000;

/**
 * Asks the owner of a partition, waiting until `deadline` (epoch ms) at the latest. While no process
 * answers the subject (the partition is between owners, or its owner is still restoring) the request is sent
 * again; a write keeps its id, so the owner applies it once however often it arrives.
 * @throws StateUnavailableError when nobody answered by the deadline (given up as much as
 * MIN_ATTEMPT_MS before it, so the caller's own timeout of the same length does not answer first),
 * StateTimeoutError when the
 * owner took the request and did not answer in time, or the error the owner answered with.
 */
export async function askOwner<T>(
  link: NatsLink,
  subject: string,
  request: OwnerRequest,
  deadline: number,
  what: string,
): Promise<T> {
  const data = new TextEncoder().encode(JSON.stringify(request));
  assertFitsNatsMessage(link, data.length, request.op);
  const stop = new AbortController();
  let delayMs = 25;
  let unavailable: StateApiError | undefined;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0 || (unavailable !== undefined && remaining < MIN_ATTEMPT_MS))
      throw unavailable ?? new StateTimeoutError(`${what}: the partition's owner did not answer in time`);
    let msg: Msg;
    try {
      msg = await link.nc.request(subject, data, { timeout: remaining });
    } catch (error) {
      if (
        error instanceof natsCore().errors.NoRespondersError ||
        (error instanceof natsCore().errors.RequestError && error.isNoResponders())
      ) {
        unavailable = new StateUnavailableError(
          `${what}: no process runs this partition of job ${subject.split('.')[1]} now; start the job (stator run --nats) or read with consistency=eventual`,
        );
      } else if (error instanceof natsCore().errors.TimeoutError) {
        throw new StateTimeoutError(
          `${what}: the partition's owner did not answer in time${request.op === 'write' ? ' (the write may be applied: read the key to see)' : ''}`,
        );
      } else {
        throw new StateUnavailableError(
          `${what}: the request to the partition's owner failed: ${(error as Error).message}`,
        );
      }
      await sleep(Math.min(delayMs, Math.max(0, deadline - Date.now())), stop.signal);
      delayMs = Math.min(delayMs * 2, 500);
      continue;
    }
    const reply = JSON.parse(new TextDecoder().decode(msg.data)) as OwnerReply;
    if ('ok' in reply) return reply.ok as T;
    const error = revive(reply.error);
    // Not taken in (the owner is opening or stopping): the partition will have an owner again.
    if (!(error instanceof StateUnavailableError)) throw error;
    unavailable = error;
    await sleep(Math.min(delayMs, Math.max(0, deadline - Date.now())), stop.signal);
    delayMs = Math.min(delayMs * 2, 500);
  }
}
