// Child process of restore.disk.readyMs:
//   node --max-semi-space-size=64 --import tsx bench/metrics/restore-state-builder.ts <input> <output> <stateDir>
// Leaves under <stateDir> the checkpoint a `stator run` of examples/wordcount.ts over <input> leaves
// when it stops at the input's end, and its output in <output> (bench/lib/job-state-builder.ts).
// Prints one JSON line.
import { job } from '../../examples/wordcount.ts';
import { buildJobState } from '../lib/job-state-builder.ts';

const [input, output, stateDir] = process.argv.slice(2);
if (input === undefined || output === undefined || stateDir === undefined)
  throw new Error('usage: restore-state-builder.ts <input> <output> <stateDir>');
const built = await buildJobState({ job, input, output, stateDir });
process.stdout.write(JSON.stringify(built) + '\n');
