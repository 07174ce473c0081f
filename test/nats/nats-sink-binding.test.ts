// The NATS sink binding's view of a replay: after a crash, the output stream holds outputs numbered
// past the restored checkpoint's record; the binding counts them (replayBacklog) down to 0 as the
// replay re-emits them, which is what lets a later run change the job's parallelism safely.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats, ensureSubjectStream, natsSinkBinding, type NatsLink } from '../../runtime/nats/index.ts';
import { encodeOrdinal } from '../../runtime/nats/nats-sink-binding.ts';
import type { SinkBinding } from '../../runtime/bindings.ts';

const sink = {
  kind: 'sink' as const,
  name: 'out',
  codec: { name: 'text', encode: (v: string) => v, decode: (s: string) => s },
};

async function outputStream(link: NatsLink, subject: string): Promise<string> {
  const ensured = await ensureSubjectStream(await link.jetstreamManager(), subject, { defaultName: 'OUT' });
  return ensured.info.config.name;
}

function bind(link: NatsLink, stream: string | undefined, subject = 'out'): SinkBinding {
  return natsSinkBinding(
    link,
    'job',
    sink,
    subject,
    () => assert.unreachable('no dead letters here'),
    (error) => assert.unreachable(String(error)),
    stream === undefined ? {} : { stream },
  );
}

/** Emits outputs `from`..`to - 1` through `binding` (as the runtime does) and waits until stored. */
async function emit(binding: SinkBinding, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) binding.outlet.data(`o${i}`, 0, i);
  await binding.cut().durable;
}

test('counts the outputs stored past the restored record down to 0 as the replay re-emits them', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const stream = await outputStream(link, 'out');

  const first = bind(link, stream);
  await first.open(undefined);
  assert.is(first.replayBacklog?.(), 0, 'an empty stream: nothing to replay');
  await emit(first, 0, 30);
  await first.close();

  // The checkpoint covered 10 outputs; the crashed run stored 30.
  const replay = bind(link, stream);
  await replay.open(encodeOrdinal(10));
  assert.is(replay.replayBacklog?.(), 20);
  await emit(replay, 10, 25);
  assert.is(replay.replayBacklog?.(), 5);
  await emit(replay, 25, 31);
  assert.is(replay.replayBacklog?.(), 0, 'past what the earlier run stored');
  await replay.close();

  const info = await (await link.jetstreamManager()).streams.info(stream);
  assert.is(info.state.messages, 31, 'the replayed outputs were deduplicated: 30 + 1 new');
});

test('unknown when the last message on the subject is not one of the job sink’s outputs, or no stream is named', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const stream = await outputStream(link, 'out');
  const first = bind(link, stream);
  await first.open(undefined);
  await emit(first, 0, 3);
  await first.close();
  await link.js.publish('out', new TextEncoder().encode('foreign'), { msgID: 'someone-else:1' });

  const after = bind(link, stream);
  await after.open(encodeOrdinal(3));
  assert.is(after.replayBacklog?.(), undefined);
  await after.close();

  const unnamed = bind(link, undefined);
  await unnamed.open(encodeOrdinal(0));
  assert.is(unnamed.replayBacklog?.(), undefined);
  await unnamed.close();
});

test.run();
