// One NATS connection for a stator process: connect with the resolved settings, reconnect forever
// with a growing delay, and turn an outage longer than `maxOutageMs` into a NatsOutageError (the
// connection is then closed, so everything waiting on it fails instead of hanging).
import type { NatsConnection, Status } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Observable } from 'rxjs';
import { BehaviorSubject, Subject } from '../rx.ts';
import { NatsConnectError, NatsOutageError } from './errors.ts';
import {
  resolveNatsSettings,
  toConnectionOptions,
  type NatsConnectionSettings,
  type NatsFlags,
} from './connection-options.ts';
import { serverFeatures, type ServerFeatures } from './server-features.ts';
import { natsCore, natsJetStream } from '../deferred-packages.ts';

/** What happened to the connection, for logs and metrics. */
export type NatsConnectionEvent =
  | { readonly type: 'disconnected'; readonly server: string }
  | { readonly type: 'reconnecting' }
  | { readonly type: 'reconnected'; readonly server: string; readonly outageMs: number }
  | { readonly type: 'stale' }
  | { readonly type: 'lame-duck'; readonly server: string }
  | { readonly type: 'slow-consumer'; readonly subject: string; readonly pending: number }
  | { readonly type: 'server-error'; readonly error: Error }
  | { readonly type: 'outage-exceeded'; readonly error: NatsOutageError }
  | { readonly type: 'closed'; readonly error: Error | undefined };

/**
 * `connected` → (`reconnecting` ↔ `connected`)* → `closed` (by close()) or `failed` (outage too long,
 * or the client gave up).
 */
export type NatsConnectionState = 'connected' | 'reconnecting' | 'closed' | 'failed';

/** A connected NATS client with JetStream, outage supervision and observable status. */
export interface NatsLink {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  /** A JetStream manager (created on first use, then reused; asked for again after it failed). */
  jetstreamManager(): Promise<JetStreamManager>;
  /** Capabilities of the server currently connected (re-read after a reconnect to another server). */
  readonly features: ServerFeatures;
  readonly settings: NatsConnectionSettings;
  readonly state: NatsConnectionState;
  /** State changes, replaying the current state to new subscribers; completes when closed. */
  readonly state$: Observable<NatsConnectionState>;
  /** Status events (disconnects, reconnects, outage exceeded...); completes when closed. */
  readonly events$: Observable<NatsConnectionEvent>;
  /**
   * Resolves when the connection is closed for good: with the NatsOutageError when the outage limit
   * was exceeded, with the client's error when it gave up otherwise, undefined after close(). Never
   * rejects.
   */
  closed(): Promise<Error | undefined>;
  /** Drains (flushes pending publishes) then closes. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

class Link implements NatsLink {
  readonly js: JetStreamClient;
  readonly state$: BehaviorSubject<NatsConnectionState>;
  readonly events$ = new Subject<NatsConnectionEvent>();
  private jsm: Promise<JetStreamManager> | undefined;
  private downSince: number | undefined;
  private outageTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private readonly watching: Promise<void>;
  private readonly ended: Promise<Error | undefined>;

  constructor(
    readonly nc: NatsConnection,
    readonly settings: NatsConnectionSettings,
  ) {
    this.js = natsJetStream().jetstream(nc);
    this.state$ = new BehaviorSubject<NatsConnectionState>('connected');
    this.watching = this.watch();
    this.ended = nc.closed().then((error) => {
      this.clearOutageTimer();
      const final = this.failure ?? error ?? undefined;
      this.state$.next(final === undefined ? 'closed' : 'failed');
      this.events$.next({ type: 'closed', error: final });
      this.events$.complete();
      this.state$.complete();
      return final;
    });
  }

  get state(): NatsConnectionState {
    return this.state$.value;
  }

  get features(): ServerFeatures {
    return serverFeatures(this.nc.info?.version ?? '0.0.0');
  }

  /** How long the connection has been down, for the reconnect delay (0 while connected). */
  outageElapsedMs(): number {
    return this.downSince === undefined ? 0 : Date.now() - this.downSince;
  }

  jetstreamManager(): Promise<JetStreamManager> {
    if (this.jsm !== undefined) return this.jsm;
    const jsm = natsJetStream().jetstreamManager(this.nc);
    this.jsm = jsm;
    // Its check (an account info request) can time out while a server is down: the next call asks
    // again, or every retry of the caller would get this one failure back.
    jsm.catch(() => {
      if (this.jsm === jsm) this.jsm = undefined;
    });
    return jsm;
  }

  private clearOutageTimer(): void {
    if (this.outageTimer !== undefined) clearTimeout(this.outageTimer);
    this.outageTimer = undefined;
  }

  private async watch(): Promise<void> {
    for await (const status of this.nc.status()) this.onStatus(status);
  }

  private onStatus(status: Status): void {
    switch (status.type) {
      case 'disconnect':
        if (this.downSince === undefined) {
          this.downSince = Date.now();
          const max = this.settings.maxOutageMs;
          this.outageTimer = setTimeout(() => this.giveUp(status.server), max);
        }
        this.state$.next('reconnecting');
        this.events$.next({ type: 'disconnected', server: status.server });
        return;
      case 'reconnecting':
        this.events$.next({ type: 'reconnecting' });
        return;
      case 'reconnect': {
        const outageMs = this.outageElapsedMs();
        this.downSince = undefined;
        this.clearOutageTimer();
        this.state$.next('connected');
        this.events$.next({ type: 'reconnected', server: status.server, outageMs });
        return;
      }
      case 'staleConnection':
        this.events$.next({ type: 'stale' });
        return;
      case 'ldm':
        this.events$.next({ type: 'lame-duck', server: status.server });
        return;
      case 'slowConsumer':
        this.events$.next({ type: 'slow-consumer', subject: status.sub.getSubject(), pending: status.pending });
        return;
      case 'error':
        this.events$.next({ type: 'server-error', error: status.error });
        return;
      default:
        return;
    }
  }

  private giveUp(server: string): void {
    if (this.downSince === undefined || this.state !== 'reconnecting') return;
    const error = new NatsOutageError(Date.now() - this.downSince, this.settings.maxOutageMs, server);
    this.failure = error;
    this.events$.next({ type: 'outage-exceeded', error });
    // Closing makes every pending request and consumer fail now rather than wait for their timeouts.
    void this.nc.close().catch(() => undefined);
  }

  closed(): Promise<Error | undefined> {
    return this.ended;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.clearOutageTimer();
      if (!this.nc.isClosed()) {
        // Drain flushes what was published; on a connection that is down it can only fail: close then.
        await (this.state === 'connected' ? this.nc.drain() : this.nc.close()).catch(() => this.nc.close());
      }
      await this.ended;
      await this.watching;
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Connects to NATS. Accepts resolved settings or raw flags (resolved with the environment).
 * The reconnect delay grows with the outage: 250 ms for a quick server restart, up to 2 s.
 * @throws NatsConnectError when the first connection fails (retryable unless authentication was refused).
 * @throws NatsConfigError when the flags are invalid.
 */
export async function connectNats(settingsOrFlags: NatsConnectionSettings | NatsFlags): Promise<NatsLink> {
  const settings = 'servers' in settingsOrFlags ? settingsOrFlags : resolveNatsSettings(settingsOrFlags);
  let link: Link | undefined;
  const delay = (): number => Math.min(2000, Math.max(250, (link?.outageElapsedMs() ?? 0) / 4));
  let nc: NatsConnection;
  try {
    nc = await natsCore().connect(toConnectionOptions(settings, delay));
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const auth = /authori[sz]ation|authentication|permission/i.test(text);
    const tls = /certificate|altnames|tls|ssl|self.signed/i.test(text);
    throw new NatsConnectError(
      settings.servers,
      `cannot connect to NATS at ${settings.servers.join(', ')}: ${text}. ` +
        (auth
          ? 'Check the credentials (--user/--password, --token, --creds, --nkey or NATS_* variables)'
          : tls
            ? 'Check the TLS options (--tlsca to trust the server, --tlscert/--tlskey for a client certificate; NATS_CA, NATS_CERT, NATS_KEY)'
            : 'Check the URL (--nats or NATS_URL) and that the server is running and reachable'),
      { cause: error, retryable: !auth && !tls },
    );
  }
  link = new Link(nc, settings);
  return link;
}
