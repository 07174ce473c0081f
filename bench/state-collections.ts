// Why state collections are native structures with copy-on-write rather than Immutable.js: per-op
// cost of bag adds and map puts through backend handles vs raw native and persistent structures,
// and the copy-on-write worst case (a whole-collection read before every add). Run:
// node --import tsx bench/state-collections.ts
import { List, Map as IMap } from 'immutable';
import { StringUtf8Coder, VarLongCoder } from '../coders/index.ts';
import { createKeyedStateBackend, StateNamespaces, StateTags } from '../src/state/index.ts';
const N = 200_000;
const KEYS = 1000;
const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
function time(f: () => void, ops = N) {
  const t = process.hrtime.bigint();
  f();
  return (Number(process.hrtime.bigint() - t) / ops).toFixed(0) + ' ns/op';
}
for (let r = 0; r < 3; r++) {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  const bag = b.boundState(StateNamespaces.global(), StateTags.bag('b', VarLongCoder.of()));
  const map = b.boundState(StateNamespaces.global(), StateTags.map('m', StringUtf8Coder.of(), VarLongCoder.of()));
  const lists = new Map<string, List<number>>();
  const imaps = new Map<string, IMap<string, number>>();
  const arrays = new Map<string, number[]>();
  const nmaps = new Map<string, Map<string, number>>();
  console.log(
    'bag add: backend',
    time(() => {
      for (let i = 0; i < N; i++) {
        b.setCurrentKey(keys[i % KEYS]!);
        bag.add(i);
      }
    }),
    '| native array push',
    time(() => {
      for (let i = 0; i < N; i++) {
        const k = keys[i % KEYS]!;
        let a = arrays.get(k);
        if (!a) arrays.set(k, (a = []));
        a.push(i);
      }
    }),
    '| Immutable List push',
    time(() => {
      for (let i = 0; i < N; i++) {
        const k = keys[i % KEYS]!;
        lists.set(k, (lists.get(k) ?? List<number>()).push(i));
      }
    }),
  );
  console.log(
    'map put: backend',
    time(() => {
      for (let i = 0; i < N; i++) {
        b.setCurrentKey(keys[i % KEYS]!);
        map.put(`f${i % 50}`, i);
      }
    }),
    '| native Map set',
    time(() => {
      for (let i = 0; i < N; i++) {
        const k = keys[i % KEYS]!;
        let m = nmaps.get(k);
        if (!m) nmaps.set(k, (m = new Map()));
        m.set(`f${i % 50}`, i);
      }
    }),
    '| Immutable Map set',
    time(() => {
      for (let i = 0; i < N; i++) {
        const k = keys[i % KEYS]!;
        imaps.set(k, (imaps.get(k) ?? IMap<string, number>()).set(`f${i % 50}`, i));
      }
    }),
  );
  console.log(
    'read-then-add per message (COW copies a ~200-element bag): backend',
    time(() => {
      for (let i = 0; i < N / 10; i++) {
        b.setCurrentKey(keys[i % KEYS]!);
        for (const _ of bag.read()) break;
        bag.add(i);
      }
    }, N / 10),
    '| Immutable List',
    time(() => {
      for (let i = 0; i < N / 10; i++) {
        const k = keys[i % KEYS]!;
        const l = lists.get(k)!;
        l.first();
        lists.set(k, l.push(i));
      }
    }, N / 10),
  );
}
