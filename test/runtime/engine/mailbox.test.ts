import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EntryKind, Mailbox } from '../../../runtime/engine/mailbox.ts';

test('mailbox - first in, first out across wrap-around and growth', () => {
  const m = new Mailbox(4);
  const taken: unknown[] = [];
  for (let i = 0; i < 100; i++) {
    m.push(EntryKind.DATA, `k${i}`, i, i * 10, i);
    if (i % 3 === 0) {
      taken.push(m.peekValue());
      m.shift();
    }
  }
  while (m.size > 0) {
    assert.is(m.peekTimestamp(), (m.peekValue() as number) * 10);
    taken.push(m.peekValue());
    m.shift();
  }
  assert.equal(
    taken,
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test('mailbox - a full mailbox wakes its producer once half drained', async () => {
  const m = new Mailbox(4);
  for (let i = 0; i < 4; i++) m.push(EntryKind.DATA, 0, i, 0, 0);
  assert.ok(m.isFull());
  let woken = false;
  const writable = m.whenWritable().then(() => (woken = true));
  m.shift();
  m.notifyIfWritable();
  await Promise.resolve();
  assert.not.ok(woken, 'three left: not yet');
  m.shift();
  m.notifyIfWritable();
  await writable;
  assert.ok(woken);
});

test.run();
