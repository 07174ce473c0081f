// 20 clients race first-write updates of one key while messages for it stream in, NATS mode against a
// real nats-server (the race: first-write-race.ts): the ETag is checked where the write is applied.
import { test } from 'uvu';
import { createLogger, createRuntime, nats } from '../../../runtime/index.ts';
import { startHttpServer } from '../../../runtime/http/index.ts';
import { connectNats } from '../../../runtime/nats/index.ts';
import { job as wordcount } from '../../../examples/wordcount.ts';
import { startNatsServer } from '../../support/index.ts';
import { produce } from '../../nats/wordcount-support.ts';
import { raceFirstWrites } from './first-write-race.ts';

test('first-write races in NATS mode: exactly the expected writes succeed, none is lost, counts add up with the messages', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const logger = createLogger('silent');
  let produced = 0;
  const feed = async (messages: number): Promise<void> => {
    await produce(
      link,
      Array.from({ length: messages }, () => 'k'),
      messages,
      0,
      produced,
    );
    produced += messages;
  };
  await feed(1);
  const http = await startHttpServer({ address: { host: '127.0.0.1', port: 0 }, logger });
  const runtime = createRuntime({ job: wordcount, transport: nats({ servers: server.url }), logger, http });
  const running = runtime.run();
  try {
    await raceFirstWrites(`${http.url}/v1.0/state/wordcount`, feed);
  } finally {
    await runtime.stop();
    await running.catch(() => {});
    await http.close();
  }
});

test.run();
