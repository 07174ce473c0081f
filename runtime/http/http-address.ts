import { isIP } from 'node:net';
import { ConfigError } from '../errors.ts';

/** Where the runtime's HTTP server listens. */
export interface HttpAddress {
  /** A host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** 0 picks a free port (the server reports the one it got). */
  readonly port: number;
}

/** The host of `--http <port>` or `--http :<port>`: loopback only, unless a host is named. */
export const DEFAULT_HTTP_HOST = '127.0.0.1';

const hostName =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses `--http` text: `port`, `:port`, `host:port` or `[ipv6]:port` (port 0..65535; 0 picks a
 * free one). `0.0.0.0` or `[::]` listen on every interface.
 * @throws ConfigError naming the flag and the accepted forms.
 */
export function parseHttpAddress(text: string, flag = '--http'): HttpAddress {
  const fail = (why: string): never => {
    throw new ConfigError(
      `${flag} ${JSON.stringify(text)}: ${why}; use host:port or :port, e.g. ${flag} 127.0.0.1:9464 (loopback), ${flag} 0.0.0.0:9464 (every interface)`,
    );
  };
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
    if (isIP(host) !== 6) fail(`${JSON.stringify(host)} is not an IPv6 address`);
  } else if (/^\d+$/.test(text)) {
    host = DEFAULT_HTTP_HOST;
    portText = text;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) fail('no port');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host === '') host = DEFAULT_HTTP_HOST;
    else if (host.includes(':')) fail('an IPv6 address needs brackets, as in [::1]:9464');
    else if (isIP(host) === 0 && !hostName.test(host)) fail(`${JSON.stringify(host)} is not a host name or IP address`);
  }
  if (!/^\d{1,5}$/.test(portText))
    fail(portText === '' ? 'no port' : `${JSON.stringify(portText)} is not a port number`);
  const port = Number(portText);
  if (port > 65_535) fail(`port ${port} is above 65535`);
  return { host, port };
}

/** `host:port` as a URL authority (IPv6 in brackets). */
export function formatHttpAuthority(address: HttpAddress): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
