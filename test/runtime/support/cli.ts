// Runs the `stator` CLI as a child process (the real bin, tsx included), for end-to-end tests.
import { spawn } from 'node:child_process';
import { waitFor } from '../../support/wait-for.ts';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../..', import.meta.url));
export const bin = join(root, 'runtime', 'cli', 'bin.js');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const running = new Set<ChildProcess>();

/** Starts `stator <args>`; the returned child is killed by `killAll` if a test forgets it. */
export function startCli(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): {
  child: ChildProcess;
  done: Promise<CliResult>;
} {
  const env = { ...process.env, ...options.env };
  delete env.NATS_URL;
  if (options.env?.NATS_URL !== undefined) env.NATS_URL = options.env.NATS_URL;
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const trace = process.env.STATOR_TEST_TRACE === '1';
  if (trace) process.stderr.write(`${new Date().toISOString()} start stator ${args.join(' ')}\n`);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      running.delete(child);
      if (trace) process.stderr.write(`${new Date().toISOString()} exit ${code ?? signal}\n`);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

/** `stator run` arguments of an embedded run of `job` (default examples/wordcount.ts), then `extra`. */
export function embeddedRunArgs(
  files: { readonly input: string; readonly output: string; readonly stateDir: string; readonly job?: string },
  extra: readonly string[] = [],
): string[] {
  const job = files.job ?? 'examples/wordcount.ts';
  return ['run', job, '--input', files.input, '--output', files.output, '--state-dir', files.stateDir, ...extra];
}

/** Runs `stator <args>` to completion. */
export function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Kills every child still running (call in an `after` hook). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** A fresh temporary directory and its removal. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `stator-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Resolves after `ms`; used only to pick kill moments, never to assert timing. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves once `stderr` of `child` contains `text`; rejects if it exits first or after `limitMs` (a guard against
 * hangs).
 */
export function waitForOutput(child: ChildProcess, text: string, limitMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const finish = (error?: Error): void => {
      clearTimeout(guard);
      child.stderr!.off('data', onData);
      child.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onData = (chunk: Buffer | string): void => {
      seen += chunk.toString();
      if (seen.includes(text)) finish();
    };
    const onClose = (): void => finish(new Error(`process exited before printing ${JSON.stringify(text)}:\n${seen}`));
    const guard = setTimeout(
      () => finish(new Error(`gave up waiting for ${JSON.stringify(text)} after ${limitMs} ms:\n${seen}`)),
      limitMs,
    );
    child.stderr!.on('data', onData);
    child.once('close', onClose);
  });
}

/** Resolves once `condition()` holds (polled every 20 ms); see test/support/wait-for.ts. */
export function waitUntil(condition: () => boolean, what: string, limitMs = 60_000): Promise<void> {
  return waitFor(condition, what, { limitMs });
}
