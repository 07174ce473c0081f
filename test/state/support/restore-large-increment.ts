// Run by tiered-restore-heap.test.ts in a process with a small heap limit: builds a state whose
// increment holds most of its keys (as after a crash mid-way through a job that keeps adding keys),
// restores it into a tiered backend, reads keys of every kind of record back and prints a summary.
import { StringUtf8Coder, VarLongCoder } from '../../../coders/index.ts';
import { createKeyedStateBackend, StateNamespaces, StateTags } from '../../../src/state/index.ts';
import { tinyTieredBackend } from './local-store.ts';

const keys = Number(process.argv[2]);
const g = StateNamespaces.global();
const tag = StateTags.value('count', VarLongCoder.of());
const str = StringUtf8Coder.of();

function chainsOfLiveState(): Map<number, Uint8Array[]> {
  const live = createKeyedStateBackend({ keyCoder: str });
  const v = live.boundState(g, tag);
  const chains = new Map<number, Uint8Array[]>();
  const capture = (): void => {
    const captured = live.captureChanges();
    for (const kg of captured.keyGroups) chains.set(kg, [...(chains.get(kg) ?? []), captured.encodeKeyGroup(kg)]);
  };
  // The base: the first tenth of the keys. The increment: the rest, new; every 100th base key
  // changed, every 100th (offset by 50) cleared.
  for (let i = 0; i < keys / 10; i++) {
    live.setCurrentKey(`k${i}`);
    v.write(i);
  }
  capture();
  for (let i = 0; i < keys; i++) {
    live.setCurrentKey(`k${i}`);
    if (i >= keys / 10) v.write(i);
    else if (i % 100 === 0) v.write(-i);
    else if (i % 100 === 50) v.clear();
  }
  capture();
  return chains;
}

const restored = tinyTieredBackend(str);
// The chains and the live state are garbage once restored: only the restored backend stays.
for (const [kg, chain] of chainsOfLiveState()) restored.restoreKeyGroup(kg, chain);
const v = restored.boundState(g, tag);
const read = (key: string): number | bigint | null => {
  restored.setCurrentKey(key);
  return v.read() ?? null;
};
console.log(
  JSON.stringify({
    heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    values: [read('k1'), read('k100'), read('k150'), read(`k${keys - 1}`), read(`k${keys}`)].map((x) =>
      x === null ? null : Number(x),
    ),
  }),
);
