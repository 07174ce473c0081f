// The crash tests kill at random moments; these are the moments of a checkpoint that matter most,
// each hit exactly (fixtures/kill-at-store-call.ts SIGKILLs the run inside its checkpoint store):
// a part being written before anything is committed, right after the manifest commit, in the middle
// of a restore, parts written but the manifest not, and the deletion of parts no checkpoint uses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedClicks } from '../examples/support/generated-input.ts';
import { embeddedRunArgs, killAll, root, runCli, tempDir } from './support/cli.ts';
import type { CliResult } from './support/cli.ts';

const tmp = tempDir('kill-points');
test.after(() => {
  killAll();
  tmp.remove();
});

const fixture = join(root, 'test/runtime/fixtures/kill-at-store-call.ts');

/** Runs the job through the fixture, killed at `killAt` (`method:before|after:n`) when given. */
function runKilledAt(args: readonly string[], killAt?: string): Promise<CliResult> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fixture, ...args, ...(killAt === undefined ? [] : [killAt])],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: '', stderr }));
  });
}

test('SIGKILL at each checkpoint moment that matters, one after the other, then finishing: the clean run output byte for byte', async () => {
  const job = 'examples/sessions.ts';
  const input = join(tmp.dir, 'clicks.jsonl');
  writeFileSync(input, generatedClicks(20_000));
  const clean = join(tmp.dir, 'clean.jsonl');
  const reference = await runCli(embeddedRunArgs({ job, input, output: clean, stateDir: join(tmp.dir, 'clean') }));
  assert.is(reference.code, 0, reference.stderr);

  const output = join(tmp.dir, 'crashed.jsonl');
  const args = [job, input, output, join(tmp.dir, 'crashed')];
  // Each run's commits start with taking the job's lease (1); its checkpoints follow.
  const moments = [
    ['putPart:before:1', 'writing the first part, nothing committed yet'],
    ['commitManifest:after:2', 'the first checkpoint just committed'],
    ['readPart:after:1', 'restoring it, a part read'],
    ['putPart:after:1', 'a part of the next checkpoint written, the rest and the manifest not'],
    ['commitManifest:before:2', 'every part written and the outputs durable, the manifest not committed'],
    ['deletePart:before:1', 'the next checkpoint committed, deleting the parts of the two uncommitted ones'],
  ] as const;
  for (const [killAt, moment] of moments) {
    const run = await runKilledAt(args, killAt);
    assert.is(run.signal, 'SIGKILL', `${moment} (${killAt}) was never reached:\n${run.stderr}`);
    assert.match(run.stderr, `SIGKILL ${killAt}`);
  }
  const final = await runKilledAt(args);
  assert.is(final.code, 0, final.stderr);
  assert.match(final.stderr, /restored checkpoint/);
  assert.ok(readFileSync(output).equals(readFileSync(clean)), 'the output differs from the clean run');
});

test.run();
