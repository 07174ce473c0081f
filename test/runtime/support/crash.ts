// The crash test shared by the examples: run a job to completion once (the reference), then run it
// again on fresh state and output, killing the process with SIGKILL at random moments several
// times before letting it finish. The two outputs must be identical, byte for byte.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { runCli, sleep, startCli } from './cli.ts';

export interface CrashTestOptions {
  readonly module: string;
  readonly input: string;
  readonly dir: string;
  readonly kills: number;
  /** More arguments for the killed runs (not the reference), e.g. another state backend. */
  readonly crashedArgs?: readonly string[];
}

/** Returns the output paths (reference, crashed) and state dirs, after asserting equality. */
export async function crashTest(
  options: CrashTestOptions,
): Promise<{ clean: string; crashed: string; cleanState: string; crashedState: string; killed: number }> {
  const clean = join(options.dir, 'clean.jsonl');
  const cleanState = join(options.dir, 'clean-state');
  const started = Date.now();
  const reference = await runCli([
    'run',
    options.module,
    '--input',
    options.input,
    '--output',
    clean,
    '--state-dir',
    cleanState,
  ]);
  const cleanMs = Date.now() - started;
  assert.is(reference.code, 0, reference.stderr);

  const crashed = join(options.dir, 'crashed.jsonl');
  const crashedState = join(options.dir, 'crashed-state');
  const args = [
    'run',
    options.module,
    '--input',
    options.input,
    '--output',
    crashed,
    '--state-dir',
    crashedState,
    '--checkpoint-interval',
    '50',
    ...(options.crashedArgs ?? []),
  ];
  // Kill moments spread over a clean run's duration (measured above, so the first kill lands
  // before the end on a slow machine too): during start-up, restore, processing and checkpoints.
  const min = Math.min(300, cleanMs / 4);
  const max = Math.max(min + 1, cleanMs * 0.8);
  let killed = 0;
  for (let attempt = 0; attempt < options.kills; attempt++) {
    const { child, done } = startCli(args);
    await sleep(min + Math.floor(Math.random() * (max - min)));
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      killed++;
    }
    const result = await done;
    assert.ok(result.signal === 'SIGKILL' || result.code === 0, result.stderr);
  }
  const final = await runCli(args);
  assert.is(final.code, 0, final.stderr);
  assert.ok(
    readFileSync(crashed).equals(readFileSync(clean)),
    `${options.module}: output after ${killed} SIGKILLs differs from the clean run`,
  );
  return { clean, crashed, cleanState, crashedState, killed };
}
