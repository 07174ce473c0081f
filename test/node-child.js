// Child processes of test/run.js and test/static-checks.js: each runs Node on `args` in the project's
// root, its stdout and stderr kept together to be printed whole when it ends (so parallel children do
// not interleave). Interrupted (Ctrl-C, a CI timeout), the children still running are stopped, so
// their servers stop with them.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

const running = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of running) child.kill('SIGTERM');
    process.exit(130);
  });
}

/**
 * Runs `node ...args`; resolves when it ended with its exit code (1 when it could not start), the
 * signal that ended it, its output and how long it ran.
 * @returns {Promise<{ code: number, signal: NodeJS.Signals | null, output: string, seconds: number }>}
 */
export function runNode(args) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    running.add(child);
    const chunks = [];
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    child.stderr.on('data', (chunk) => chunks.push(chunk));
    child.on('error', (error) => chunks.push(Buffer.from(`${error.message}\n`)));
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({
        code: code ?? 1,
        signal,
        output: Buffer.concat(chunks).toString('utf8'),
        seconds: (Date.now() - started) / 1000,
      });
    });
  });
}
