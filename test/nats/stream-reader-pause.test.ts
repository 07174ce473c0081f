// A checkpoint's pause of a stream reader held back by a congested pipeline (a sink that cannot keep
// up): answered at once, at the last message handed on, not when the pipeline drains. The cut drains
// the pipeline itself with the sink's backpressure lifted, so the intake pause must not include the
// sink's backlog.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNats, ensureStream } from '../../runtime/nats/index.ts';
import { StreamReaderBinding } from '../../runtime/nats/stream-reader-binding.ts';
import type { Outlet } from '../../runtime/engine/outlet.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { waitFor } from '../support/wait-for.ts';

test('a pause while the pipeline is congested is answered without waiting for it', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureStream(await link.jetstreamManager(), { name: 'PAUSE', subjects: ['pause.in'] });
  for (let i = 0; i < 10; i++) await link.js.publish('pause.in', new Uint8Array([i]));
  let released = false;
  const waiting: (() => void)[] = [];
  const handled: number[] = [];
  const outlet: Outlet = {
    data: () => {},
    watermark: () => {},
    idle: () => {},
    // Full after the third message until released.
    get congested() {
      return !released && handled.length >= 3;
    },
    whenUncongested: () => (released ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve))),
  };
  const reader = new StreamReaderBinding('pause', link, { stream: 'PAUSE', subject: 'pause.in' }, outlet, {
    record: (record) => void handled.push(record.seq),
  });
  await reader.open(undefined);
  const running = reader.run();
  try {
    await waitFor(() => handled.length === 3, 'three messages handed on, then congested');
    const answer = await Promise.race([
      reader.pause(),
      new Promise((resolve) => setTimeout(() => resolve('no answer while congested'), 5000)),
    ]);
    assert.is(answer, 3, 'paused at the third message');
    assert.is(handled.length, 3, 'nothing handed on during the pause');
    reader.resume();
    released = true;
    for (const resolve of waiting) resolve();
    await waitFor(() => handled.length === 10, 'the rest once the pipeline takes input again');
    assert.equal(handled, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  } finally {
    released = true;
    for (const resolve of waiting) resolve();
    reader.stop();
    await running;
    await reader.close();
  }
});

test.run();
