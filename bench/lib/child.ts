import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs a TypeScript script in a fresh Node process (`node --expose-gc --import tsx <script> ...args`)
 * and parses the JSON it prints on stdout. A fresh process measures without this one's heap and
 * garbage; --expose-gc lets it collect before each reading. Killed (SIGKILL) when `signal` aborts.
 * `nodeFlags` replace `--expose-gc`.
 */
export function runChildJson<T>(
  script: string,
  args: readonly string[],
  signal: AbortSignal,
  nodeFlags: readonly string[] = ['--expose-gc'],
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      killSignal: 'SIGKILL',
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code, killedBy) => {
      if (code !== 0) {
        reject(new Error(`${script} exited with ${code ?? killedBy}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as T);
      } catch (error) {
        reject(new Error(`${script} printed no JSON result: ${out.slice(0, 200)}`, { cause: error }));
      }
    });
  });
}
