// `npm test`'s first step: the type check (tsc --noEmit), the lint (eslint .) and the format check
// (prettier --check .) at the same time, since none of them keeps two cores busy on its own. Each
// one's output is printed whole when it ends; the step fails when any of them failed.
import { spawn } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);

const checks = [
  { name: 'typecheck (tsc --noEmit)', command: bin('tsc'), args: ['--noEmit'] },
  { name: 'lint (eslint .)', command: bin('eslint'), args: ['.'] },
  { name: 'format (prettier --check .)', command: bin('prettier'), args: ['--check', '.', '--log-level', 'warn'] },
];

const running = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of running) child.kill('SIGTERM');
    process.exit(130);
  });
}

/** Runs one check; resolves with its exit code (1 when it could not start or was killed). */
function run(check) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [check.command, ...check.args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    running.add(child);
    const chunks = [];
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    child.stderr.on('data', (chunk) => chunks.push(chunk));
    child.on('error', (error) => chunks.push(Buffer.from(`${error.message}\n`)));
    child.on('close', (code) => {
      running.delete(child);
      const status = code === 0 ? 'ok' : `FAILED (exit ${code ?? 'by signal'})`;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`# ${check.name}: ${status}, ${seconds} s\n${Buffer.concat(chunks).toString('utf8')}`);
      resolve(code ?? 1);
    });
  });
}

const codes = await Promise.all(checks.map(run));
process.exit(codes.every((code) => code === 0) ? 0 : 1);
