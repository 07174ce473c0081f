// Turns command-line flags and environment variables into nats.js ConnectionOptions. Flag and
// variable names follow the `nats` CLI (--user, --password, --creds, --nkey, --tlscert, --tlskey,
// --tlsca; NATS_URL, NATS_USER, ...), so an operator's existing NATS setup carries over unchanged.
import { readFileSync } from 'node:fs';
import type { Authenticator, ConnectionOptions } from '@nats-io/transport-node';
import { NatsConfigError } from './errors.ts';
import { natsCore } from '../deferred-packages.ts';

/**
 * NATS options as the CLI receives them (`stator run ... --nats <url> --creds <file>`). Every field
 * is optional; unset fields fall back to the `nats` CLI's environment variables.
 */
export interface NatsFlags {
  /**
   * `--nats`: server URL(s), comma-separated (`nats://h1:4222,nats://h2:4222`). Env `NATS_URL`. May embed
   * `user:password@` or `token@`.
   */
  readonly nats?: string | undefined;
  /** `--user` (env `NATS_USER`). Without a password it is used as a token, like the `nats` CLI. */
  readonly user?: string | undefined;
  /** `--password` (env `NATS_PASSWORD`). */
  readonly password?: string | undefined;
  /** `--token` (env `NATS_TOKEN`). */
  readonly token?: string | undefined;
  /** `--creds`: a user credentials file (JWT + nkey seed) (env `NATS_CREDS`). */
  readonly creds?: string | undefined;
  /** `--nkey`: a file holding an nkey user seed (`SU...`) (env `NATS_NKEY`). */
  readonly nkey?: string | undefined;
  /** `--tlscert`, `--tlskey`: client certificate and key files (env `NATS_CERT`, `NATS_KEY`). */
  readonly tlscert?: string | undefined;
  readonly tlskey?: string | undefined;
  /** `--tlsca`: CA certificate file to verify the server (env `NATS_CA`). */
  readonly tlsca?: string | undefined;
  /**
   * `--max-outage`: how long NATS may stay unreachable before the process stops (`60s`, `2m`, `500ms`; a bare number is
   * seconds).
   */
  readonly maxOutage?: string | number | undefined;
  /** `--nats-name`: the connection name shown by `nats server report connections`. */
  readonly name?: string | undefined;
}

/** Fully resolved connection settings: every default filled, every file checked. */
export interface NatsConnectionSettings {
  readonly servers: readonly string[];
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly token: string | undefined;
  readonly credsFile: string | undefined;
  readonly nkeySeedFile: string | undefined;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly tlsCaFile: string | undefined;
  /** Whether TLS is required (a `tls://` URL or any TLS file). */
  readonly tls: boolean;
  /** @default 'stator' */
  readonly name: string;
  /**
   * How long the connection may stay down before it is given up with a NatsOutageError.
   * @default 60000
   */
  readonly maxOutageMs: number;
  /**
   * How often the client pings the server; two missed pings mark the connection stale. Lower than
   * nats.js's 2 minutes so a silently dead server (host crash, network partition) is noticed in
   * about 20 s instead of 4 minutes.
   * @default 10000
   */
  readonly pingIntervalMs: number;
  /** Timeout of the first connection attempt. @default 5000 */
  readonly connectTimeoutMs: number;
}

export const DEFAULT_MAX_OUTAGE_MS = 60_000;

/**
 * The NATS flags as `node:util` parseArgs options, for CLIs: spread into the options and pass the
 * parsed values to resolveNatsSettings (`--max-outage` arrives as `max-outage`, see natsFlagsFrom).
 */
export const NATS_CLI_OPTIONS = {
  nats: { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  token: { type: 'string' },
  creds: { type: 'string' },
  nkey: { type: 'string' },
  tlscert: { type: 'string' },
  tlskey: { type: 'string' },
  tlsca: { type: 'string' },
  'max-outage': { type: 'string' },
  'nats-name': { type: 'string' },
} as const;

/** NatsFlags from values parsed with NATS_CLI_OPTIONS. */
export function natsFlagsFrom(values: Readonly<Record<string, unknown>>): NatsFlags {
  const text = (key: string): string | undefined =>
    typeof values[key] === 'string' ? (values[key] as string) : undefined;
  return {
    nats: text('nats'),
    user: text('user'),
    password: text('password'),
    token: text('token'),
    creds: text('creds'),
    nkey: text('nkey'),
    tlscert: text('tlscert'),
    tlskey: text('tlskey'),
    tlsca: text('tlsca'),
    maxOutage: text('max-outage'),
    name: text('nats-name'),
  };
}

/** Usage lines for the NATS flags, for a CLI's --help. */
export const NATS_CLI_USAGE = `NATS options (defaults from the nats CLI's environment variables):
  --nats <url[,url]>     server(s), may embed user:password@ or token@   (NATS_URL)
  --user <name>          user; without --password it is a token          (NATS_USER)
  --password <secret>                                                    (NATS_PASSWORD)
  --token <token>                                                        (NATS_TOKEN)
  --creds <file>         user credentials file (JWT + nkey)             (NATS_CREDS)
  --nkey <file>          nkey seed file                                 (NATS_NKEY)
  --tlscert <file>, --tlskey <file>   client certificate and key        (NATS_CERT, NATS_KEY)
  --tlsca <file>         CA to verify the server                         (NATS_CA)
  --max-outage <dur>     stop when NATS stays unreachable longer (default 60s)
  --nats-name <name>     connection name shown by the server (default stator)`;

/** The server URL from `--nats` or `NATS_URL`, or undefined when neither is set (embedded mode). */
export function natsUrlFrom(flags: NatsFlags, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = flags.nats ?? env['NATS_URL'];
  return url === undefined || url.trim() === '' ? undefined : url.trim();
}

/** Parses `60s`, `2m`, `1h`, `500ms` or a bare number of seconds into milliseconds. */
export function parseDurationMs(value: string | number, what: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value > 0) return value;
  } else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
    if (match !== null) {
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
      const ms = Number(match[1]) * unit;
      if (ms > 0) return ms;
    }
  }
  throw new NatsConfigError(`${what} ${JSON.stringify(value)} is not a positive duration: write e.g. 60s, 2m or 500ms`);
}

function readable(file: string, flag: string): string {
  try {
    readFileSync(file);
    return file;
  } catch (error) {
    throw new NatsConfigError(
      `${flag} ${file} cannot be read (${(error as Error).message}): check the path and its permissions`,
      { cause: error },
    );
  }
}

/**
 * Splits `nats://user:pass@host:4222` into the bare URL and its credentials, like the Go client:
 * `user:pass@` is a user and password, `token@` a token. nats.js itself ignores URL credentials.
 */
function splitUrlCredentials(url: string): { url: string; user?: string; password?: string; token?: string } {
  const match = /^([a-z]+:\/\/)([^@/]*)@(.*)$/i.exec(url);
  if (match === null) return { url };
  const [, scheme = '', info = '', rest = ''] = match;
  const colon = info.indexOf(':');
  const bare = `${scheme}${rest}`;
  if (colon < 0) return { url: bare, token: decodeURIComponent(info) };
  return {
    url: bare,
    user: decodeURIComponent(info.slice(0, colon)),
    password: decodeURIComponent(info.slice(colon + 1)),
  };
}

/**
 * Resolves flags (which win) and the `nats` CLI's environment variables into checked settings.
 * @throws NatsConfigError when no URL is given, files are unreadable or options conflict.
 */
export function resolveNatsSettings(flags: NatsFlags, env: NodeJS.ProcessEnv = process.env): NatsConnectionSettings {
  const pick = (flag: string | undefined, variable: string): string | undefined => {
    const value = flag ?? env[variable];
    return value === undefined || value === '' ? undefined : value;
  };
  const url = natsUrlFrom(flags, env);
  if (url === undefined)
    throw new NatsConfigError('no NATS server given: pass --nats nats://host:4222 or set NATS_URL');
  let user = pick(flags.user, 'NATS_USER');
  let password = pick(flags.password, 'NATS_PASSWORD');
  let token = pick(flags.token, 'NATS_TOKEN');
  const servers: string[] = [];
  for (const part of url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const split = splitUrlCredentials(part);
    // nats.js would fail it at connect as "Invalid URL", which reads as a server that is down (exit 69).
    if (!URL.canParse(/^[a-z][a-z0-9+.-]*:\/\//i.test(split.url) ? split.url : `nats://${split.url}`))
      throw new NatsConfigError(
        `${JSON.stringify(split.url)} is not a NATS server URL: write e.g. nats://127.0.0.1:4222 (--nats or NATS_URL; several separated by commas)`,
      );
    servers.push(split.url);
    user ??= split.user;
    password ??= split.password;
    token ??= split.token;
  }
  // The nats CLI treats --user without --password as a token.
  if (user !== undefined && password === undefined && token === undefined) {
    token = user;
    user = undefined;
  }
  if (password !== undefined && user === undefined)
    throw new NatsConfigError('--password (NATS_PASSWORD) needs --user (NATS_USER)');
  if (token !== undefined && user !== undefined)
    throw new NatsConfigError('give either --user/--password or --token, not both');
  const credsFile = pick(flags.creds, 'NATS_CREDS');
  const nkeySeedFile = pick(flags.nkey, 'NATS_NKEY');
  if (credsFile !== undefined && nkeySeedFile !== undefined) {
    throw new NatsConfigError('give either --creds (a credentials file holds its own nkey) or --nkey, not both');
  }
  const tlsCertFile = pick(flags.tlscert, 'NATS_CERT');
  const tlsKeyFile = pick(flags.tlskey, 'NATS_KEY');
  const tlsCaFile = pick(flags.tlsca, 'NATS_CA');
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    throw new NatsConfigError('a TLS client certificate needs both --tlscert and --tlskey (NATS_CERT, NATS_KEY)');
  }
  return {
    servers,
    user,
    password,
    token,
    credsFile: credsFile === undefined ? undefined : readable(credsFile, '--creds'),
    nkeySeedFile: nkeySeedFile === undefined ? undefined : readable(nkeySeedFile, '--nkey'),
    tlsCertFile: tlsCertFile === undefined ? undefined : readable(tlsCertFile, '--tlscert'),
    tlsKeyFile: tlsKeyFile === undefined ? undefined : readable(tlsKeyFile, '--tlskey'),
    tlsCaFile: tlsCaFile === undefined ? undefined : readable(tlsCaFile, '--tlsca'),
    tls: servers.some((s) => /^tls:\/\//i.test(s)) || tlsCertFile !== undefined || tlsCaFile !== undefined,
    name: flags.name ?? 'stator',
    maxOutageMs:
      flags.maxOutage === undefined ? DEFAULT_MAX_OUTAGE_MS : parseDurationMs(flags.maxOutage, '--max-outage'),
    pingIntervalMs: 10_000,
    connectTimeoutMs: 5_000,
  };
}

/** The nkey seed in a seed file: the first line starting with `S` (comments and blank lines ignored). */
function readSeed(file: string): Uint8Array {
  const line = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l.startsWith('S'));
  if (line === undefined)
    throw new NatsConfigError(
      `--nkey ${file} holds no nkey seed (a line starting with "S"): generate one with \`nk -gen user\``,
    );
  return new TextEncoder().encode(line);
}

/**
 * nats.js v3 ConnectionOptions for the settings: reconnect forever with a growing delay (the outage
 * limit is enforced by the connection wrapper, not by counting attempts), credentials files re-read
 * on every (re)connect so rotated credentials are picked up.
 *
 * `reconnectDelayMs` receives how long the connection has been down and returns the next delay.
 */
export function toConnectionOptions(
  settings: NatsConnectionSettings,
  reconnectDelayMs?: () => number,
): ConnectionOptions {
  const authenticators: Authenticator[] = [];
  if (settings.credsFile !== undefined) {
    const file = settings.credsFile;
    authenticators.push(natsCore().credsAuthenticator(() => readFileSync(file)));
  }
  if (settings.nkeySeedFile !== undefined) {
    const file = settings.nkeySeedFile;
    authenticators.push(natsCore().nkeyAuthenticator(() => readSeed(file)));
  }
  const options: ConnectionOptions = {
    servers: [...settings.servers],
    name: settings.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    reconnectJitterTLS: 500,
    pingInterval: settings.pingIntervalMs,
    maxPingOut: 2,
    timeout: settings.connectTimeoutMs,
    // A restarted server must not make the client give up on a refused authentication it will
    // accept again once the server has loaded its configuration.
    ignoreAuthErrorAbort: true,
    // The client otherwise builds two errors with stack traces for every request (a JetStream
    // publish included) in case it fails: a large share of a state API write's CPU. Failures still
    // carry the client's message and cause; stator's own errors say what was asked.
    noAsyncTraces: true,
  };
  if (reconnectDelayMs !== undefined) options.reconnectDelayHandler = reconnectDelayMs;
  if (authenticators.length > 0) options.authenticator = authenticators;
  if (settings.user !== undefined) options.user = settings.user;
  if (settings.password !== undefined) options.pass = settings.password;
  if (settings.token !== undefined) options.token = settings.token;
  if (settings.tls) {
    const tls: NonNullable<ConnectionOptions['tls']> = {};
    if (settings.tlsCertFile !== undefined) tls.certFile = settings.tlsCertFile;
    if (settings.tlsKeyFile !== undefined) tls.keyFile = settings.tlsKeyFile;
    if (settings.tlsCaFile !== undefined) tls.caFile = settings.tlsCaFile;
    options.tls = tls;
  }
  return options;
}
