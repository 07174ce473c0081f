// ValueState<number> read + write through a current-key handle vs a native Map get + set, on the
// same 100k string keys. Interleaved repetitions, median of each; the number to watch is the
// ratio (goal: backend ≥ 0.33 × native). Run: node --import tsx bench/state-value.ts
import { StringUtf8Coder, VarLongCoder } from '../coders/index.ts';
import { createKeyedStateBackend, StateNamespaces, StateTags } from '../src/state/index.ts';

const KEYS = 100_000;
const OPS = 1_000_000;
const REPS = 9;

const keys = Array.from({ length: KEYS }, (_, i) => `key-${i}`);
// A fixed pseudo-random visiting order, shared by both sides.
const order = new Uint32Array(OPS);
let seed = 12345;
for (let i = 0; i < OPS; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  order[i] = seed % KEYS;
}

const native = new Map<string, number>();
function runNative(): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    const k = keys[order[i]!]!;
    native.set(k, (native.get(k) ?? 0) + 1);
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const backend = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
const count = backend.boundState(StateNamespaces.global(), StateTags.value('count', VarLongCoder.of()));
function runBackend(): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    backend.setCurrentKey(keys[order[i]!]!);
    count.write(((count.read() as number | null) ?? 0) + 1);
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// The same inside a transactional turn per message, as the task runner drives it (undo journal on).
function runBackendInTurns(): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) {
    backend.beginTurn();
    backend.setCurrentKey(keys[order[i]!]!);
    count.write(((count.read() as number | null) ?? 0) + 1);
    backend.commitTurn();
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// Capture between repetitions, as a runtime would checkpoint: it clears dirty tracking.
function captureAll(): { ms: number; keys: number } {
  const start = process.hrtime.bigint();
  const captured = backend.captureChanges();
  for (const kg of captured.keyGroups) captured.encodeKeyGroup(kg);
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, keys: captured.changedKeys };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const nativeRates: number[] = [];
const backendRates: number[] = [];
const ratios: number[] = [];
const turnRatios: number[] = [];
const captures: number[] = [];
runNative();
runBackend();
runBackendInTurns();
captureAll();
for (let r = 0; r < REPS; r++) {
  const n = OPS / runNative();
  const b = OPS / runBackend();
  nativeRates.push(n);
  backendRates.push(b);
  ratios.push(b / n);
  turnRatios.push(OPS / runBackendInTurns() / n);
  captures.push(captureAll().ms);
}
const fmt = (x: number): string => `${(x / 1e6).toFixed(2)} M ops/s`;
console.log(`native Map get+set            ${fmt(median(nativeRates))}`);
console.log(`setCurrentKey + read + write  ${fmt(median(backendRates))}`);
console.log(`ratio backend/native (median of per-rep ratios) ${median(ratios).toFixed(2)}  (goal ≥ 0.33)`);
console.log(`ratio with a transactional turn per message                ${median(turnRatios).toFixed(2)}`);
console.log(`capture + encode of ${KEYS} changed keys: ${median(captures).toFixed(1)} ms`);
