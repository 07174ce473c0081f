// Test support: real nats-server processes on 127.0.0.1, one per test (or suite), each with its own
// fresh JetStream store directory and its own port. Tests never use a server they did not start (the
// machine runs its own nats-server on 4222), so every handle proves that the port it reports is
// bound by the child it spawned before handing it out.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /**
   * Enables JetStream (`-js -sd <storeDir>`).
   * @default true
   */
  readonly jetstream?: boolean;
  /** Extra command-line arguments appended after ours (e.g. `['-c', configFile]`, `['-DV']`). */
  readonly args?: readonly string[];
  /**
   * Path of the nats-server binary.
   * @default the first `nats-server` on PATH, else /usr/sbin/nats-server
   */
  readonly binary?: string;
  /**
   * How long to wait for the server to report it is ready (and for its port to be verified).
   * @default 10000
   */
  readonly startTimeoutMs?: number;
  /**
   * How long `stop()`/`restart()` wait after SIGTERM before sending SIGKILL.
   * @default 5000
   */
  readonly stopGraceMs?: number;
  /**
   * How many free ports to try when another process grabs the one picked.
   * @default 5
   */
  readonly portAttempts?: number;
  /**
   * Keep the store directory on `stop()` (for post-mortem inspection); otherwise it is deleted.
   * @default false
   */
  readonly keepStoreDir?: boolean;
}

/**
 * A running nats-server started by this process. `stop()` is final; `kill()` + `restart()` (or
 * `restart()` alone) simulate outages and crashes while keeping the port and the JetStream data.
 */
export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The `-sd` directory (JetStream keeps its files in `<storeDir>/jetstream`). */
  readonly storeDir: string;
  /** The pid of the current server process; undefined while it is not running. */
  readonly pid: number | undefined;
  /** The server_id of the current process (changes on every restart). */
  readonly serverId: string | undefined;
  /** The last lines the server logged (for diagnostics in failing tests). */
  log(): string[];
  /**
   * Stops the server for good: SIGTERM, SIGKILL after `stopGraceMs`, waits for the process to exit,
   * then deletes the store directory (unless `keepStoreDir`). Idempotent.
   */
  stop(): Promise<void>;
  /**
   * Stops the process (gracefully when it is running) and starts a new one on the same port with the
   * same store directory, so JetStream data survives. Resolves when the new server is verified.
   * @throws when the handle was stopped, or the port cannot be bound again within the start timeout.
   */
  restart(): Promise<void>;
  /** Simulates a crash: SIGKILL, waits for the process to exit. The data stays; `restart()` revives it. */
  kill(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** @internal Resolved {@link NatsServerOptions} (shared with nats-cluster.ts). */
export interface ResolvedOptions {
  readonly jetstream: boolean;
  readonly args: readonly string[];
  readonly binary: string;
  readonly startTimeoutMs: number;
  readonly stopGraceMs: number;
  readonly portAttempts: number;
  readonly keepStoreDir: boolean;
}

const LOG_LINES_KEPT = 200;

export function findNatsServerBinary(): string {
  const candidates = [
    ...(process.env['PATH'] ?? '')
      .split(delimiter)
      .filter((dir) => dir !== '')
      .map((dir) => join(dir, 'nats-server')),
    '/usr/sbin/nats-server',
  ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next one
    }
  }
  throw new Error(
    'nats-server was not found on PATH nor at /usr/sbin/nats-server: install it (`apt-get install nats-server`) ' +
      'or pass { binary } to startNatsServer',
  );
}

export function resolveOptions(options: NatsServerOptions): ResolvedOptions {
  return {
    jetstream: options.jetstream ?? true,
    args: options.args ?? [],
    binary: options.binary ?? findNatsServerBinary(),
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    stopGraceMs: options.stopGraceMs ?? 5_000,
    portAttempts: options.portAttempts ?? 5,
    keepStoreDir: options.keepStoreDir ?? false,
  };
}

/** A loopback port that was free a moment ago (the OS picks it); the caller must verify it got it. */
export async function pickFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

// ---- cleanup on process exit -------------------------------------------------------------------
// A failing test may never reach stop(): every live child is SIGKILLed (and its temp dir removed)
// when this process exits or is interrupted, so no server outlives the test run.
const live = new Set<{ child: ChildProcess | undefined; storeDir: string; keepStoreDir: boolean }>();
let cleanupInstalled = false;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function cleanupAllSync(): void {
  for (const entry of live) {
    if (entry.child?.pid !== undefined && entry.child.exitCode === null && entry.child.signalCode === null) {
      try {
        entry.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    if (!entry.keepStoreDir) rmSync(entry.storeDir, { recursive: true, force: true });
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  cleanupAllSync();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  // Re-raise so the default action (exit with the signal) happens when nobody else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', cleanupAllSync);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

// ---- one server process ----------------------------------------------------------------------

/** A launch failed; `portTaken` when another process holds one of its ports (retry on others). */
export class StartFailure extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
  }
}

/** Reads the INFO line a NATS server sends on connect and returns its server_id and port. */
async function readInfo(port: number, timeoutMs: number): Promise<{ serverId: string; port: number }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buffer = '';
    const timer = setTimeout(
      () => finish(new Error(`no INFO from 127.0.0.1:${port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    function finish(error: Error | undefined, info?: { serverId: string; port: number }): void {
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined) reject(error);
      else if (info !== undefined) resolve(info);
    }
    socket.setEncoding('utf8');
    socket.on('error', (error) => finish(error));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = buffer.slice(0, end);
      if (!line.startsWith('INFO ')) return finish(new Error(`unexpected first line from 127.0.0.1:${port}: ${line}`));
      try {
        const info = JSON.parse(line.slice(5)) as { server_id?: unknown; port?: unknown };
        finish(undefined, { serverId: String(info.server_id), port: Number(info.port) });
      } catch (error) {
        finish(error as Error);
      }
    });
  });
}

/**
 * What a cluster node adds to a plain server: its arguments (server name, cluster listen address,
 * routes) and the log lines that prove it bound its other ports (the route listener is logged after
 * "Server is ready").
 */
export interface LaunchExtras {
  readonly args: readonly string[];
  readonly mustLog: readonly string[];
}

export class NatsServer implements NatsServerHandle {
  readonly url: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private currentServerId: string | undefined;
  private readonly lines: string[] = [];
  private state: 'running' | 'down' | 'stopped' = 'down';
  private stopping: Promise<void> | undefined;
  private readonly entry: { child: ChildProcess | undefined; storeDir: string; keepStoreDir: boolean };

  constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly options: ResolvedOptions,
    private readonly extras: LaunchExtras = { args: [], mustLog: [] },
  ) {
    this.url = `nats://127.0.0.1:${port}`;
    this.entry = { child: undefined, storeDir, keepStoreDir: options.keepStoreDir };
    live.add(this.entry);
  }

  get pid(): number | undefined {
    return this.state === 'running' ? this.child?.pid : undefined;
  }

  get serverId(): string | undefined {
    return this.state === 'running' ? this.currentServerId : undefined;
  }

  log(): string[] {
    return [...this.lines];
  }

  /** Spawns the process and resolves once it is verified to own `port`; on failure the child is gone. */
  async launch(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port)];
    if (this.options.jetstream) args.push('-js', '-sd', this.storeDir);
    args.push(...this.extras.args, ...this.options.args);
    const child = spawn(this.options.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.entry.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      // A spawn failure emits 'error' and never 'exit'.
      child.once('error', () => {
        if (child.pid === undefined) resolve();
      });
    });
    // Keep draining the log for the server's whole life: a full pipe would block the server.
    let logged = '';
    let serverId: string | undefined;
    let listening = false;
    let ready = false;
    const awaited = new Set(this.extras.mustLog);
    let notify: () => void = () => {};
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      logged += chunk;
      let newline: number;
      while ((newline = logged.indexOf('\n')) >= 0) {
        const line = logged.slice(0, newline);
        logged = logged.slice(newline + 1);
        this.lines.push(line);
        if (this.lines.length > LOG_LINES_KEPT) this.lines.shift();
        const id = /\[INF\]\s+ID:\s+(\S+)/.exec(line);
        if (id !== null) serverId = id[1];
        if (line.includes(`Listening for client connections on 127.0.0.1:${this.port}`)) listening = true;
        if (line.includes('Server is ready')) ready = true;
        for (const text of awaited) if (line.includes(text)) awaited.delete(text);
      }
      notify();
    });
    const failed = (reason: string, portTaken = false): StartFailure =>
      new StartFailure(`nats-server ${args.join(' ')}: ${reason}\n${this.lines.slice(-20).join('\n')}`, portTaken);

    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(failed(`not ready within ${this.options.startTimeoutMs} ms`)),
          this.options.startTimeoutMs,
        );
        const onExit = (): void => {
          clearTimeout(timer);
          const taken = this.lines.some((line) => line.includes('address already in use'));
          reject(failed(`exited before it was ready (code ${child.exitCode}, signal ${child.signalCode})`, taken));
        };
        // 'close' (not 'exit'): by then the whole log was read, including the reason it failed.
        child.once('close', onExit);
        child.once('error', (error) => {
          clearTimeout(timer);
          reject(failed(`could not be spawned: ${error.message}`));
        });
        notify = () => {
          if (ready && listening && awaited.size === 0 && serverId !== undefined) {
            clearTimeout(timer);
            child.removeListener('close', onExit);
            resolve();
          }
        };
      });
      // The log says our child listens on the port; the INFO a client gets there must come from it too.
      const info = await readInfo(this.port, this.options.startTimeoutMs);
      if (info.serverId !== serverId || info.port !== this.port) {
        throw failed(`127.0.0.1:${this.port} answers as server ${info.serverId}, not ours (${serverId})`, true);
      }
    } catch (error) {
      await this.terminate('SIGKILL');
      throw error;
    }
    notify = () => {};
    this.currentServerId = serverId;
    this.state = 'running';
    // A running server must not keep the test process alive on its own: the exit hook kills it.
    child.unref();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  }

  /** Signals the current child (if alive) and waits for it to exit; SIGKILL after the grace period. */
  private async terminate(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.ref();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      if (signal === 'SIGTERM') {
        let timer: NodeJS.Timeout | undefined;
        const escalate = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            resolve();
          }, this.options.stopGraceMs);
        });
        await Promise.race([this.exited, escalate]);
        clearTimeout(timer);
      }
    }
    await this.exited;
    child.stderr?.destroy();
    this.child = undefined;
    this.entry.child = undefined;
    this.state = this.state === 'stopped' ? 'stopped' : 'down';
  }

  async kill(): Promise<void> {
    await this.terminate('SIGKILL');
  }

  /**
   * Stops the process gracefully (SIGTERM, SIGKILL after the grace period), keeping the port and data for restart().
   */
  async shutdown(): Promise<void> {
    await this.terminate('SIGTERM');
  }

  async restart(): Promise<void> {
    if (this.state === 'stopped') throw new Error(`nats-server ${this.url} was stopped; start a new one`);
    await this.terminate('SIGTERM');
    // The port was ours a moment ago; another process may grab it meanwhile. Retry binding it until
    // the start timeout, since the same port is the point of restart().
    const deadline = Date.now() + this.options.startTimeoutMs;
    for (;;) {
      try {
        await this.launch();
        return;
      } catch (error) {
        if (!(error instanceof StartFailure && error.portTaken) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopped';
      await this.terminate('SIGTERM');
      live.delete(this.entry);
      if (!this.options.keepStoreDir) rmSync(this.storeDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Starts a nats-server on 127.0.0.1 on a free port with JetStream in a fresh temp store directory,
 * and resolves once the server is verified to be the one answering on that port (its logged
 * server_id equals the INFO server_id a client gets there). Retries with another port when the picked
 * one was taken meanwhile. The server is killed when this process exits, should a test forget stop().
 *
 * @example
 * await using server = await startNatsServer();
 * const nc = await connect({ servers: server.url });
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const resolved = resolveOptions(options);
  installCleanup();
  let lastError: unknown;
  for (let attempt = 0; attempt < resolved.portAttempts; attempt++) {
    const port = await pickFreePort();
    const storeDir = mkdtempSync(join(tmpdir(), 'stator-nats-'));
    const server = new NatsServer(port, storeDir, resolved);
    try {
      await server.launch();
      return server;
    } catch (error) {
      lastError = error;
      await server.stop();
      if (!(error instanceof StartFailure && error.portTaken)) throw error;
    }
  }
  throw new Error(`could not start nats-server on a free port after ${resolved.portAttempts} attempts`, {
    cause: lastError,
  });
}
