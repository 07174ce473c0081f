// Child process of memory.bytesPerKey: `node --expose-gc --import tsx bench/metrics/memory-probe.ts <keys>`.
// Prints one JSON line: heap bytes per key of a native Map<string, number> and of ValueState<number>
// through a current-key handle (live, and after a capture reset change tracking). A fresh process so
// nothing else's garbage or caches are in the heap; gc() twice before each reading.
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { createKeyedStateBackend, StateNamespaces, StateTags } from '../../src/state/index.ts';
import { stringKeys } from '../lib/workload.ts';

const n = Number(process.argv[2]);
if (!Number.isInteger(n) || n <= 0) throw new Error(`memory-probe: expected a key count, got ${process.argv[2]}`);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('memory-probe: run with node --expose-gc');
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

// The key strings exist once, shared by both structures: only the structures are measured.
const keys = stringKeys(n);

let before = heap();
const native = new Map<string, number>();
for (let i = 0; i < n; i++) native.set(keys[i]!, i);
const nativeBytes = (heap() - before) / n;

before = heap();
const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
const count = backend.boundState(StateNamespaces.global(), StateTags.value('count', VarLongCoder.of()));
for (let i = 0; i < n; i++) {
  backend.setCurrentKey(keys[i]!);
  count.write(i);
}
const liveBytes = (heap() - before) / n;
// After a checkpoint: the capture's records written (as the write does) and the capture dropped.
void backend.captureChanges().changedKeys;
const steadyBytes = (heap() - before) / n;

// Keep both alive until measured.
if (native.size !== n) throw new Error('native map lost keys');
let stateKeys = 0;
for (const _ of backend.keys()) stateKeys++;
if (stateKeys !== n) throw new Error(`state holds ${stateKeys} keys, expected ${n}`);
process.stdout.write(JSON.stringify({ keys: n, nativeBytes, liveBytes, steadyBytes }) + '\n');
