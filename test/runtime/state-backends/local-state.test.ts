// LocalState, the disk backend's working copies: a copy this process already made for a partition
// is emptied when the partition's backend is made again (a unit handed back to this worker, a task
// runner made anew): the restore that follows fills it from the checkpoint, never over what an
// earlier owner of the partition left in it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalState } from '../../../runtime/state-backends/local-state.ts';
import { job } from '../../../examples/wordcount.ts';

const dir = mkdtempSync(join(tmpdir(), 'stator-local-state-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const key = new TextEncoder().encode('k');

for (const perWorker of [false, true]) {
  test(`a partition's copy made again is empty (${perWorker ? 'a scaled-out worker' : 'one process'})`, async () => {
    const local = new LocalState({ stateDir: join(dir, String(perWorker)), job, backend: 'disk', perWorker });
    try {
      const first = local.tierFor('count', 1)!;
      first.store.write([{ key, value: new Uint8Array([1, 2, 3]) }]);
      assert.equal([...first.store.get(key)!], [1, 2, 3]);
      const other = local.tierFor('count', 0)!;
      other.store.write([{ key, value: new Uint8Array([9]) }]);

      const again = local.tierFor('count', 1)!;
      assert.is(again.store.get(key), undefined, 'what the earlier backend left is gone');
      assert.is(again.store.size, 0);
      assert.not.ok(again.reused);
      assert.equal([...other.store.get(key)!], [9], "another partition's copy is untouched");
    } finally {
      await local.close();
    }
  });
}

test.run();
