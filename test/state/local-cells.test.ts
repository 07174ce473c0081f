import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteArrayCoder, ByteWriter, StringUtf8Coder, VarLongCoder } from '../../coders/index.ts';
import { LmdbStateStore } from '../../runtime/state-backends/lmdb-state-store.ts';
import { createKeyedStateBackend, StateNamespaces, StateTags } from '../../src/state/index.ts';
import { readCellHead } from '../../src/state/key-entry.ts';
import { PartCursor } from '../../src/state/key-group-part.ts';
import { LocalCellFormat, oneCellPayloadStart } from '../../src/state/local-cells.ts';
import { RawCell } from '../../src/state/cell.ts';
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

/** A checkpoint cells section of one key holding byte-array ValueStates `names` with `payloads`. */
function byteCells(names: readonly string[], payloads: readonly Uint8Array[]): Uint8Array {
  const b = createKeyedStateBackend({ keyCoder: StringUtf8Coder.of() });
  b.setCurrentKey('k');
  names.forEach((name, i) =>
    b
      .stateInternalsForKey('k')
      .state(StateNamespaces.global(), StateTags.value(name, ByteArrayCoder.of()))
      .write(payloads[i]!),
  );
  return b.encodeKeyCells('k')!;
}

/** The payload of each cell of a checkpoint cells section, by column. */
function checkpointPayloads(cells: Uint8Array): Map<string, Uint8Array> {
  const cursor = new PartCursor(cells, 0, cells.length);
  const out = new Map<string, Uint8Array>();
  const n = cursor.length();
  for (let i = 0; i < n; i++) {
    const { col } = readCellHead(cursor);
    const len = cursor.length();
    const start = cursor.skip(len);
    out.set(col, cells.subarray(start, start + len));
  }
  assert.ok(cursor.atEnd());
  return out;
}

test('local cells - every record round-trips, one cell in its short form (payload to the end), numbered or inline', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.constantFrom('a', 'count', 'sum', 'x'), { minLength: 1, maxLength: 3 }),
      fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 3, maxLength: 3 }),
      fc.boolean(),
      (names, payloads, inline) => {
        const format = new LocalCellFormat();
        // A full dictionary: the record's heads are written inline.
        if (inline) for (let i = 0; i < 4096; i++) format.toLocal(checkpointCells('/', [`filler${i}`], [1]));
        const cells = byteCells(names, payloads);
        const local = format.toLocal(cells);
        assert.equal(format.toCheckpoint(local), cells);
        const written = new ByteWriter(16);
        format.writeLocal(cells, written);
        assert.equal(written.toBytes(), local);
        const table = new StateTable();
        const cursor = new PartCursor(local, 0, local.length);
        format.decodeAt(cursor, table);
        assert.ok(cursor.atEnd());
        const read = new Map<string, RawCell>();
        let head = { ns: '', col: '' };
        table.forEach((ns, col, cell) => {
          head = { ns, col };
          read.set(col, cell as RawCell);
        });
        const expected = checkpointPayloads(cells);
        assert.equal([...read.keys()].sort(), [...expected.keys()].sort());
        for (const [col, cell] of read) assert.equal(cell.bytes, expected.get(col));
        if (names.length === 1 && !inline) {
          // The one-cell form: its id (2 * id + 1, one byte), then the payload alone.
          const cell = read.get(head.col)!;
          assert.is(local.length, 1 + cell.bytes.length);
          assert.is(local[0], 2 * format.find(head.ns, head.col, 'value', cell.signature) + 1);
        }
      },
    ),
    { numRuns: 60 },
  );
});

test('local cells - oneCellPayloadStart finds the payload of a one-cell record of its head only', () => {
  const format = new LocalCellFormat();
  const one = format.toLocal(checkpointCells('/', ['count'], [300]));
  // The head's signature, as the checkpoint encoding writes it for a VarLong ValueState.
  const table = new StateTable();
  format.decodeAt(new PartCursor(one, 0, one.length), table);
  let head = { ns: '', col: '', signature: '' };
  table.forEach((ns, col, cell) => (head = { ns, col, signature: (cell as RawCell).signature }));
  const id = format.find(head.ns, head.col, 'value', head.signature);
  assert.ok(id > 0);
  assert.is(oneCellPayloadStart(one, id), 1);
  // The payload is the value's VarLong bytes, to the record's end.
  assert.equal([...one.subarray(1)], [0xac, 0x02]);
  assert.is(oneCellPayloadStart(one, id + 1), -1);
  assert.is(oneCellPayloadStart(one, 0), -1);
  assert.is(oneCellPayloadStart(new Uint8Array(0), id), -1);
  // Two cells: the general form (2 * count first).
  assert.is(oneCellPayloadStart(format.toLocal(checkpointCells('/', ['count', 'sum'], [1, 2])), id), -1);
  // Ids from 64 on take two bytes: never the one-byte fast path.
  for (let i = 0; i < 70; i++) format.toLocal(checkpointCells('/', [`c${i}`], [i]));
  const late = format.find(head.ns, head.col.replace('count', 'c68'), 'value', head.signature);
  assert.ok(late >= 64);
  assert.is(oneCellPayloadStart(format.toLocal(checkpointCells('/', ['c68'], [5])), late), -1);
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

test('local cells - a warm copy marked by an older format (no one-cell form, checkpoint-form values, or keys after their key group) is not trusted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stator-local-cells-'));
  try {
    const path = join(dir, 'lmdb');
    const store = LmdbStateStore.openFresh(path);
    await store.markWarm('d1');
    await store.close();
    const mark = join(path, 'reflects.json');
    assert.is(LmdbStateStore.warmDigest(path), 'd1');
    const current = readFileSync(mark, 'utf8');
    for (const older of [1, 2, 3]) {
      writeFileSync(mark, current.replace(/"format":\d+/, `"format":${older}`));
      assert.is(LmdbStateStore.warmDigest(path), undefined);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
