// A stream reader's pendingMessages (what `stator status` shows as LAG): the messages on its subject
// after the last one it handed on, whether still on the server or taken in a batch and held back
// by a congested pipeline; 0 once it has handed on the last one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNats, ensureStream } from '../../runtime/nats/index.ts';
import { StreamReaderBinding } from '../../runtime/nats/stream-reader-binding.ts';
import type { Outlet } from '../../runtime/engine/outlet.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { waitFor } from '../support/wait-for.ts';

test('pendingMessages counts what is after the position, held back by backpressure or not', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureStream(await link.jetstreamManager(), { name: 'LAG', subjects: ['lag.>'] });
  // Other subjects of the stream interleave: they are not the reader's lag.
  for (let i = 0; i < 10; i++) {
    await link.js.publish('lag.a', new Uint8Array([i]));
    await link.js.publish('lag.b', new Uint8Array([i]));
  }
  let congested = false;
  let release: () => void = () => {};
  const handled: number[] = [];
  const outlet: Outlet = {
    data: () => {},
    watermark: () => {},
    idle: () => {},
    get congested() {
      return congested;
    },
    whenUncongested: () => new Promise<void>((resolve) => (release = resolve)),
  };
  const reader = new StreamReaderBinding('lag', link, { stream: 'LAG', subject: 'lag.a' }, outlet, {
    record: (record) => {
      handled.push(record.seq);
      // The downstream is full after the third message: the reader holds the rest of its batch.
      if (handled.length === 3) congested = true;
    },
  });
  assert.is(reader.pendingMessages, undefined, 'before open');
  await reader.open(undefined);
  const running = reader.run();
  try {
    await waitFor(() => handled.length === 3 && reader.pendingMessages === 7, 'the reader held at 3 of 10, 7 behind');
    assert.is(reader.lastPosition, 5, 'lag.a holds the odd sequences: the third is 5');
    assert.equal(await reader.inputLag(), { messages: 7 });
    congested = false;
    release();
    await waitFor(() => handled.length === 10 && reader.pendingMessages === 0, 'all 10 handed on, none behind');
    assert.is(reader.lastPosition, 19);
    await link.js.publish('lag.a', new Uint8Array([10]));
    await waitFor(() => handled.length === 11 && reader.pendingMessages === 0, 'a new message read');
  } finally {
    reader.stop();
    await running;
    await reader.close();
  }
  assert.is(reader.pendingMessages, undefined, 'after close');
});

test.run();
