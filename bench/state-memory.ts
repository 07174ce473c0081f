// Heap bytes per key: ValueState<number> through a current-key handle vs a native Map<string, number>,
// at 1M keys (and after a restore, where keys come back from checkpoint bytes). Prints, not a test.
// Run: node --expose-gc --import tsx bench/state-memory.ts [keys]
import { StringUtf8Coder, VarLongCoder } from '../coders/index.ts';
import { createKeyedStateBackend, StateNamespaces, StateTags } from '../src/state/index.ts';

const n = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const tag = StateTags.value('count', VarLongCoder.of());
// The key strings are made once and shared by every variant, so only the structures are measured.
const keys = Array.from({ length: n }, (_, i) => `key-${i}`);

let before = heap();
const native = new Map<string, number>();
for (let i = 0; i < n; i++) native.set(keys[i]!, i);
const nativeBytes = (heap() - before) / n;

before = heap();
const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
const count = backend.boundState(StateNamespaces.global(), tag);
for (let i = 0; i < n; i++) {
  backend.setCurrentKey(keys[i]!);
  count.write(i);
}
const liveBytes = (heap() - before) / n;

// After a capture (change tracking reset) the same backend holds the same keys.
let captured: ReturnType<typeof backend.captureChanges> | undefined = backend.captureChanges();
const parts = new Map(captured.keyGroups.map((kg) => [kg, [captured!.encodeKeyGroup(kg)]] as const));
captured = undefined;
const partBytes = [...parts.values()].reduce((sum, [p]) => sum + p!.length, 0);
const capturedBytes = (heap() - before) / n; // part bytes are ArrayBuffers: outside heapUsed

// Restored: keys come back from the parts (whose bytes stay referenced by the restored cells).
before = heap();
const restored = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
for (const [kg, chain] of parts) restored.restoreKeyGroup(kg, chain);
const readyBytes = (heap() - before) / n;
let k = 0;
for (const _ of restored.keys()) k++;
const restoredBytes = (heap() - before) / n;

console.log(`native Map<string, number>: ${nativeBytes.toFixed(0)} bytes/key (key strings excluded)`);
console.log(
  `ValueState<number> via current-key handle: ${liveBytes.toFixed(0)} bytes/key (${(liveBytes / nativeBytes).toFixed(1)}x native)`,
);
console.log(`  after a capture: ${capturedBytes.toFixed(0)} bytes/key`);
console.log(
  `restored, before first use: ${readyBytes.toFixed(0)} bytes/key of heap (the parts' bytes, ${(partBytes / n).toFixed(0)} bytes/key, are ArrayBuffers outside heapUsed)`,
);
console.log(
  `restored ${k} keys, all materialized: ${restoredBytes.toFixed(0)} bytes/key (key strings included: they are decoded; part bytes stay referenced by the cells: ${(partBytes / n).toFixed(0)} bytes/key)`,
);
// Keep everything measured alive until here.
if (native.size + [...backend.keys()].length + [...restored.keys()].length + keys.length < 0)
  console.log(count, parts.size);
