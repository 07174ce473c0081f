// `npm test`'s first step: the type check (tsc --noEmit), the lint (eslint .) and the format check
// (prettier --check .) at the same time, since none of them keeps two cores busy on its own. Each
// one's output is printed whole when it ends; the step fails when any of them failed.
import { join } from 'node:path';
import { root, runNode } from './node-child.js';

const bin = (name) => join(root, 'node_modules', '.bin', name);

const checks = [
  { name: 'typecheck (tsc --noEmit)', args: [bin('tsc'), '--noEmit'] },
  { name: 'lint (eslint .)', args: [bin('eslint'), '.'] },
  { name: 'format (prettier --check .)', args: [bin('prettier'), '--check', '.', '--log-level', 'warn'] },
];

const codes = await Promise.all(
  checks.map(async (check) => {
    const { code, signal, output, seconds } = await runNode(check.args);
    const status = code === 0 ? 'ok' : `FAILED (exit ${signal ?? code})`;
    process.stdout.write(`# ${check.name}: ${status}, ${seconds.toFixed(1)} s\n${output}`);
    return code;
  }),
);
process.exit(codes.every((code) => code === 0) ? 0 : 1);
