import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { transactionWrites } from '../../runtime/state-backends/lmdb-state-store.ts';

test('lmdb store - a batch goes in one transaction into a store within 16,384 leaf pages, in parts beyond', () => {
  assert.is(transactionWrites(0, 75_000), 75_000);
  assert.is(transactionWrites(16_384, 75_000), 75_000);
  assert.is(transactionWrites(0, 0), 1);
  // Writes to keys spread over the tree change about 16,384 leaves per transaction.
  for (const leaves of [17_000, 200_000, 2_000_000]) {
    const n = transactionWrites(leaves, 75_000);
    const changed = leaves * (1 - Math.exp(-n / leaves));
    assert.ok(Math.abs(changed - 16_384) < 2, `${leaves} leaves: ${n} writes change ${changed}`);
  }
});

test.run();
