// Per-message overhead of the task runner: runner.processElement with a counting StatefulTask vs the
// same work done directly on the backend (setCurrentKey + ValueState read + write), on the same 100k
// string keys. Interleaved repetitions, median of each; the number to watch is the ratio (goal: the
// runner ≥ 0.7 × bare backend, i.e. the runner adds little beyond setCurrentKey + invoke).
// Run: node --import tsx bench/task-runner.ts
import { StringUtf8Coder, VarLongCoder } from '../coders/index.ts';
import { createKeyedStateBackend, StateNamespaces, StateTags, type ValueState } from '../src/state/index.ts';
import { createTaskRunner, StatefulTask, type Message, type ProcessContext } from '../src/task/index.ts';

const KEYS = 100_000;
const OPS = 1_000_000;
const REPS = 9;

const keys = Array.from({ length: KEYS }, (_, i) => `key-${i}`);
const order = new Uint32Array(OPS);
let seed = 12345;
for (let i = 0; i < OPS; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  order[i] = seed % KEYS;
}
const COUNT = StateTags.value('count', VarLongCoder.of());

const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
const bare = backend.boundState(StateNamespaces.global(), COUNT);
let sink = 0;
function runBare(): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    backend.setCurrentKey(keys[order[i]!]!);
    const n = ((bare.read() as number | null) ?? 0) + 1;
    bare.write(n);
    sink += n;
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

class Count extends StatefulTask<string, number, string> {
  private count!: ValueState<number | bigint>;
  override open(): void {
    this.count = this.state(COUNT);
  }
  invoke(_m: Message<string, string>, ctx: ProcessContext<number, string>): void {
    const n = ((this.count.read() as number | null) ?? 0) + 1;
    this.count.write(n);
    ctx.emit(n);
  }
}
const runner = createTaskRunner(new Count(), { keyCoder: StringUtf8Coder.of(), output: (o) => (sink += o.value) });
// Synchronous task: open() and processElement() return void (the path this benchmark measures).
// eslint-disable-next-line @typescript-eslint/no-floating-promises
runner.open();
function runRunner(): number {
  const start = process.hrtime.bigint();
  // eslint-disable-next-line @typescript-eslint/no-floating-promises
  for (let i = 0; i < OPS; i++) runner.processElement(keys[order[i]!]!, '', i);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bareRates: number[] = [];
const runnerRates: number[] = [];
const ratios: number[] = [];
runBare();
runRunner();
for (let r = 0; r < REPS; r++) {
  const b = OPS / runBare();
  const t = OPS / runRunner();
  bareRates.push(b);
  runnerRates.push(t);
  ratios.push(t / b);
  backend.captureChanges();
  runner.capture();
}
const fmt = (x: number): string => `${(x / 1e6).toFixed(2)} M msg/s`;
console.log(`bare backend: setCurrentKey + read + write   ${fmt(median(bareRates))}`);
console.log(`runner.processElement (+ invoke, emit)       ${fmt(median(runnerRates))}`);
console.log(`ratio runner/bare (median of per-rep ratios) ${median(ratios).toFixed(2)}  (goal ≥ 0.7)`);
if (sink === 42) console.log('');
