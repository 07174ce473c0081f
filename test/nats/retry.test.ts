import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats, ensureStream } from '../../runtime/nats/index.ts';
import { isTransientNatsError } from '../../runtime/nats/retry.ts';

const encoder = new TextEncoder();

async function publishError(publish: () => Promise<unknown>): Promise<unknown> {
  try {
    await publish();
  } catch (error) {
    return error;
  }
  throw new Error('expected the publish to fail');
}

test('a publish nobody stores yet (what a stream looks like right after a server restart) is transient', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  // No stream captures the subject: the server answers "no responders", which nats.js reports as
  // JetStreamNotEnabled; a sink must retry it rather than fail the job.
  const error = await publishError(() => link.js.publish('nobody.home', encoder.encode('x'), { timeout: 2000 }));
  assert.instance(error, Error);
  assert.is((error as Error).name, 'JetStreamNotEnabled');
  assert.ok(isTransientNatsError(error));
});

test('a refusal by a stream (wrong expected last sequence) is not transient', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureStream(await link.jetstreamManager(), { name: 'S', subjects: ['s.>'] });
  await link.js.publish('s.a', encoder.encode('1'));
  const error = await publishError(() => link.js.publish('s.a', encoder.encode('2'), { expect: { lastSequence: 7 } }));
  assert.not.ok(isTransientNatsError(error));
});

test.run();
