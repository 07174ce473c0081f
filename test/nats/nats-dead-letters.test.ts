// NATS mode's dead letters end to end (runNatsJob against a real nats-server): input the job's
// codec cannot decode, input that is not UTF-8, input as large as the server allows, and an output
// too large to publish each become one dead letter in STATOR_<JOB>_DLQ, with the reason, stage and
// original subject in headers; the messages after them are processed as usual.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startConfiguredNatsServer } from './support.ts';
import { collectingLogger } from '../support/collecting-logger.ts';
import {
  connectNats,
  DeadLetterHeaders,
  ensureSubjectStream,
  openStreamSource,
  runNatsJob,
  subjectStreamName,
  type NatsLink,
  type SourceRecord,
} from '../../runtime/nats/index.ts';
import type { Job } from '../../runtime/index.ts';
import { job as dedupe } from '../../examples/dedupe.ts';
import { job as wordcount } from '../../examples/wordcount.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function publishAll(link: NatsLink, subject: string, payloads: readonly Uint8Array[]): Promise<void> {
  await ensureSubjectStream(await link.jetstreamManager(), subject, { defaultName: subjectStreamName(subject) });
  for (const data of payloads) await link.js.publish(subject, data);
}

async function readStream(link: NatsLink, stream: string, count: number): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  await using source = await openStreamSource(link, { stream, filterSubject: '>', startSeq: 1 });
  while (out.length < count) out.push(...((await source.nextBatch()) ?? []));
  return out;
}

async function messages(link: NatsLink, stream: string): Promise<number> {
  try {
    return (await (await link.jetstreamManager()).streams.info(stream)).state.messages;
  } catch {
    return 0;
  }
}

/** Runs `job` until its output stream holds `outputs` messages and its DLQ `letters`, then stops it gracefully. */
async function runUntil(url: string, job: Job, link: NatsLink, outputs: number, letters: number): Promise<string[]> {
  const logger = collectingLogger();
  const controller = new AbortController();
  const running = runNatsJob({
    job,
    natsUrl: url,
    checkpointIntervalMs: 100,
    maxRetries: undefined,
    logger,
    signal: controller.signal,
  });
  const out = subjectStreamName(`${job.name}.out`);
  const dlq = `STATOR_${job.name.toUpperCase()}_DLQ`;
  const deadline = Date.now() + 60_000;
  let failed: unknown;
  running.catch((error: unknown) => (failed = error));
  while ((await messages(link, out)) < outputs || (await messages(link, dlq)) < letters) {
    if (failed !== undefined) throw failed;
    if (Date.now() > deadline)
      throw new Error(
        `gave up waiting for ${outputs} outputs and ${letters} dead letters:\n${logger.lines.join('\n')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  controller.abort();
  await running;
  return logger.lines;
}

test('undecodable JSON and oversize input are dead-lettered with reason, stage and subject; the rest is processed', async () => {
  await using server = await startConfiguredNatsServer('max_payload: 8192\n');
  await using link = await connectNats({ nats: server.url });
  const huge = `{"user":"x","eventId":"${'z'.repeat(8000)}`; // as large as the server takes, and cut short
  await publishAll(link, 'dedupe.in', [
    encoder.encode('{"user":"ana","eventId":"e1","action":"view"}'),
    encoder.encode('{"user":"ana","eventId":'),
    encoder.encode(huge),
    encoder.encode('{"user":"ben","eventId":"e2","action":"view"}'),
    encoder.encode('{"user":"ana","eventId":"e1","action":"view"}'),
    encoder.encode('{"user":"ana","eventId":"e3","action":"click"}'),
  ]);
  const log = await runUntil(server.url, dedupe as Job, link, 3, 2);
  const outputs = (await readStream(link, 'DEDUPE_OUT', 3)).map(
    (r) => JSON.parse(decoder.decode(r.data)) as { eventId: string },
  );
  assert.equal(
    outputs.map((o) => o.eventId),
    ['e1', 'e2', 'e3'],
    'processing went on after the bad messages',
  );
  const letters = await readStream(link, 'STATOR_DEDUPE_DLQ', 2);
  assert.is(await messages(link, 'STATOR_DEDUPE_DLQ'), 2);
  const [bad, big] = letters as [SourceRecord, SourceRecord];
  for (const letter of [bad, big]) {
    assert.is(letter.subject, 'stator.dedupe.dlq.in');
    assert.is(letter.headers?.get(DeadLetterHeaders.STAGE), 'in');
    assert.is(letter.headers?.get(DeadLetterHeaders.ORIGINAL_SUBJECT), 'dedupe.in');
    assert.match(letter.headers?.get(DeadLetterHeaders.ERROR) ?? '', /SyntaxError: .*JSON/);
  }
  assert.is(bad.headers?.get(DeadLetterHeaders.POSITION), '2');
  assert.is(decoder.decode(bad.data), '{"user":"ana","eventId":', 'the payload is the original input');
  assert.is(big.headers?.get(DeadLetterHeaders.POSITION), '3');
  assert.is(
    big.headers?.get(DeadLetterHeaders.TRUNCATED),
    String(huge.length),
    'cut to fit, the original size in a header',
  );
  assert.ok(big.data.length < huge.length && huge.startsWith(decoder.decode(big.data)));
  assert.ok(
    log.some((line) => /2 dead letters/.test(line)),
    log.join('\n'),
  );
});

test('input that is not UTF-8 and an output larger than max_payload are dead letters; wordcount goes on', async () => {
  await using server = await startConfiguredNatsServer('max_payload: 8192\n');
  await using link = await connectNats({ nats: server.url });
  const longWord = 'w'.repeat(8100); // fits as input, not as {"word":...,"count":1} with its id
  await publishAll(link, 'wordcount.in', [
    encoder.encode('alpha beta'),
    new Uint8Array([0x61, 0x20, 0xc3, 0x28, 0x20, 0xff]), // "a " + an invalid 2-byte sequence + 0xff
    encoder.encode(longWord),
    encoder.encode('alpha'),
  ]);
  await runUntil(server.url, wordcount as Job, link, 3, 2);
  const outputs = (await readStream(link, 'WORDCOUNT_OUT', 3)).map((r) => decoder.decode(r.data));
  assert.equal(outputs, ['{"word":"alpha","count":1}', '{"word":"beta","count":1}', '{"word":"alpha","count":2}']);
  const [notText, oversize] = (await readStream(link, 'STATOR_WORDCOUNT_DLQ', 2)) as [SourceRecord, SourceRecord];
  assert.is(notText.headers?.get(DeadLetterHeaders.STAGE), 'in');
  assert.is(notText.headers?.get(DeadLetterHeaders.ORIGINAL_SUBJECT), 'wordcount.in');
  assert.is(notText.headers?.get(DeadLetterHeaders.POSITION), '2');
  assert.match(notText.headers?.get(DeadLetterHeaders.ERROR) ?? '', /not valid UTF-8/);
  assert.equal([...notText.data], [0x61, 0x20, 0xc3, 0x28, 0x20, 0xff], 'the original bytes, untouched');
  assert.is(oversize.headers?.get(DeadLetterHeaders.STAGE), 'out');
  assert.is(oversize.headers?.get(DeadLetterHeaders.ORIGINAL_SUBJECT), 'wordcount.out');
  assert.match(oversize.headers?.get(DeadLetterHeaders.ERROR) ?? '', /exceeds the 8192-byte max_payload/);
  assert.ok(oversize.headers?.get(DeadLetterHeaders.TRUNCATED) !== undefined);
  assert.ok(decoder.decode(oversize.data).startsWith('{"word":"www'));
});

test.run();
