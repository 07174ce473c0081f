// Test support for the NATS transport tests: a nats-server started with a configuration file, for
// settings the command line cannot give (max_payload, accounts...).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, type NatsServerHandle, type NatsServerOptions } from '../support/nats-server.ts';

/**
 * Starts a nats-server with `config` (nats-server configuration syntax) as its config file, on top
 * of the usual port and JetStream flags. The file is removed when the server stops.
 */
export async function startConfiguredNatsServer(
  config: string,
  options: NatsServerOptions = {},
): Promise<NatsServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'stator-nats-conf-'));
  const file = join(dir, 'server.conf');
  writeFileSync(file, config);
  try {
    const server = await startNatsServer({ ...options, args: ['-c', file, ...(options.args ?? [])] });
    const stop = server.stop.bind(server);
    let stopping: Promise<void> | undefined;
    const cleanStop = (): Promise<void> =>
      (stopping ??= stop().finally(() => rmSync(dir, { recursive: true, force: true })));
    return Object.assign(Object.create(server) as NatsServerHandle, {
      stop: cleanStop,
      [Symbol.asyncDispose]: cleanStop,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
