import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { LmdbStateStore } from '../../runtime/state-backends/lmdb-state-store.ts';
import { createKeyedStateBackend, StateNamespaces, StateTags } from '../../src/state/index.ts';
import { PartCursor } from '../../src/state/key-group-part.ts';
import { LocalCellFormat } from '../../src/state/local-cells.ts';
import { StateTable } from '../../src/state/state-table.ts';

/** A checkpoint cells section of one key holding ValueStates `names` (in namespace `ns`) with `values`. */
function checkpointCells(ns: string, names: readonly string[], values: readonly number[]): Uint8Array {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  b.setCurrentKey('k');
  names.forEach((name, i) =>
    b
      .stateInternalsForKey('k')
      .state(StateNamespaces.fromString(ns), StateTags.value(name, VarLongCoder.of()))
      .write(values[i]!),
  );
  return b.encodeKeyCells('k')!;
}

test('local cells - a checkpoint cells section survives the local form and back, numbered or inline, and is smaller', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.constantFrom('/', '/w1/', '/w2/'),
          fc.uniqueArray(fc.constantFrom('a', 'count', 'sum', 'x'), { minLength: 1, maxLength: 3 }),
          fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 3, maxLength: 3 }),
        ),
        { minLength: 1, maxLength: 20 },
      ),
      fc.integer({ min: 0, max: 4096 }),
      (keys, prefill) => {
        const format = new LocalCellFormat();
        // Fill the dictionary up to `prefill` heads: past 4,096 the rest are written inline.
        for (let i = 0; i < prefill; i++) format.toLocal(checkpointCells('/', [`filler${i}`], [1]));
        for (const [ns, names, values] of keys) {
          const cells = checkpointCells(ns, names, values);
          const local = format.toLocal(cells);
          assert.equal(format.toCheckpoint(local), cells);
          if (prefill === 0) assert.ok(local.length < cells.length, `${local.length} >= ${cells.length}`);
          const table = new StateTable();
          const cursor = new PartCursor(local, 0, local.length);
          format.decodeAt(cursor, table);
          assert.ok(cursor.atEnd());
          let n = 0;
          table.forEach(() => n++);
          assert.is(n, names.length);
        }
      },
    ),
    { numRuns: 40 },
  );
});

test('local cells - the store keeps the heads its values use, and a format over them reads those values', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stator-local-cells-'));
  try {
    const path = join(dir, 'lmdb');
    let store = LmdbStateStore.openFresh(path);
    const format = new LocalCellFormat();
    const cells = checkpointCells('/', ['count', 'sum'], [5, 7]);
    const local = format.toLocal(cells);
    store.write([{ key: new Uint8Array([0, 1, 65]), value: local }], format.unsaved());
    format.savedAll();
    assert.is(format.unsaved(), undefined);
    await store.markWarm('d1');
    await store.close();

    assert.is(LmdbStateStore.warmDigest(path), 'd1');
    store = LmdbStateStore.openWarm(path);
    const again = new LocalCellFormat(store.heads());
    assert.equal(again.toCheckpoint(store.get(new Uint8Array([0, 1, 65]))!), cells);
    store.clear();
    assert.equal(store.heads(), []);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('local cells - a warm copy marked by an older format (checkpoint-form values, or keys after their key group) is not trusted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stator-local-cells-'));
  try {
    const path = join(dir, 'lmdb');
    const store = LmdbStateStore.openFresh(path);
    await store.markWarm('d1');
    await store.close();
    const mark = join(path, 'reflects.json');
    assert.is(LmdbStateStore.warmDigest(path), 'd1');
    const current = readFileSync(mark, 'utf8');
    for (const older of [1, 2]) {
      writeFileSync(mark, current.replace(/"format":\d+/, `"format":${older}`));
      assert.is(LmdbStateStore.warmDigest(path), undefined);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
