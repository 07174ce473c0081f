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

  // Kill moments spread over a clean run's duration (measured above, so the first kill lands
  // before the end on a slow machine too): during start-up, restore, processing and checkpoints.
  const min = Math.min(300, cleanMs / 4);
  let max = Math.max(min + 1, cleanMs * 0.8);
  // A run that finished before its kill (the machine got faster than during the clean run, or little
  // work was left) is no crash: the killed runs start again on fresh output and state, with kill
  // moments within the time that run took, so `kills` kills land whatever the machine's speed.
  let round = 0;
  const paths = (): { crashed: string; crashedState: string } => ({
    crashed: join(options.dir, round === 0 ? 'crashed.jsonl' : `crashed-${round}.jsonl`),
    crashedState: join(options.dir, round === 0 ? 'crashed-state' : `crashed-state-${round}`),
  });
  const args = (): string[] => [
    'run',
    options.module,
    '--input',
    options.input,
    '--output',
    paths().crashed,
    '--state-dir',
    paths().crashedState,
    '--checkpoint-interval',
    '50',
    ...(options.crashedArgs ?? []),
  ];
  let killed = 0;
  for (let attempt = 0; killed < options.kills && attempt < options.kills * 4; attempt++) {
    const runStarted = Date.now();
    const { child, done } = startCli(args());
    await sleep(min + Math.floor(Math.random() * (max - min)));
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      killed++;
    }
    const result = await done;
    assert.ok(result.signal === 'SIGKILL' || result.code === 0, result.stderr);
    if (result.code === 0) {
      round++;
      max = Math.max(min + 1, (Date.now() - runStarted) * 0.8);
    }
  }
  const final = await runCli(args());
  assert.is(final.code, 0, final.stderr);
  const { crashed, crashedState } = paths();
  assert.ok(
    readFileSync(crashed).equals(readFileSync(clean)),
    `${options.module}: output after ${killed} SIGKILLs differs from the clean run`,
  );
  return { clean, crashed, cleanState, crashedState, killed };
}
