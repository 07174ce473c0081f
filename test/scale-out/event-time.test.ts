// Event time across the keyed exchange: watermarks travel as markers from the source unit to every
// stage partition, so session windows close (event-time timers fire) exactly as in one process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNats, createStreamSink, ensureSubjectStream, subjectStreamName } from '../../runtime/nats/index.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { END, embeddedSessions, perUser, runWorkerUntilStored, sessionsJob, views } from './sessions-support.ts';

const job = sessionsJob('sessions_scaled', 3);

test('sessions over a scaled-out job close exactly as in one embedded process, per user', async () => {
  const input = views(2500);
  const reference = await embeddedSessions(job, input);
  assert.ok(reference.length > 100, `the data must make many sessions (${reference.length})`);

  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  await ensureSubjectStream(await link.jetstreamManager(), 'sessions_scaled.in', {
    defaultName: subjectStreamName('sessions_scaled.in'),
  });
  {
    await using sink = createStreamSink(link);
    for (const [i, line] of [...input, END].entries()) {
      if (sink.congested) await sink.whenUncongested();
      sink.publish({
        subject: 'sessions_scaled.in',
        data: new TextEncoder().encode(JSON.stringify(line)),
        msgId: `v${i}`,
      });
    }
    await sink.flush();
  }
  const { outputs, logs } = await runWorkerUntilStored(server.url, link, job, reference.length);
  assert.is(outputs.length, reference.length, logs.join(''));
  assert.equal(perUser(outputs), perUser(reference));
});

test.run();
