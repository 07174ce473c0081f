import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startConfiguredNatsServer } from './support.ts';
import {
  connectNats,
  createDeadLetterPublisher,
  createStreamSink,
  DeadLetterHeaders,
  ensureJobStreams,
  openStreamSource,
  outputMsgId,
  type NatsLink,
  type SourceRecord,
} from '../../runtime/nats/index.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function readStream(link: NatsLink, stream: string, count: number): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  await using source = await openStreamSource(link, { stream, filterSubject: '>', startSeq: 1 });
  while (out.length < count) out.push(...((await source.nextBatch()) ?? []));
  return out;
}

async function setup(url: string) {
  const link = await connectNats({ nats: url });
  const streams = await ensureJobStreams(link, {
    job: 'wc',
    inputSubject: 'wc.in',
    outputSubject: 'wc.out',
    exchangeStages: ['count'],
    duplicateWindowMs: 600_000,
  });
  return { link, streams };
}

test('a malformed input message becomes a dead letter with the error, stage, subject and position', async () => {
  await using server = await startConfiguredNatsServer('max_payload: 8192\n');
  const { link, streams } = await setup(server.url);
  await link.js.publish('wc.in', encoder.encode('{"ok":1}'));
  await link.js.publish('wc.in', encoder.encode('{not json'));
  const sink = createStreamSink(link);
  const dead = createDeadLetterPublisher({ names: streams.names, sink, maxPayloadBytes: link.nc.info!.max_payload });
  const parsed: unknown[] = [];
  for (const record of await readStream(link, streams.input.stream, 2)) {
    try {
      parsed.push(JSON.parse(decoder.decode(record.data)));
    } catch (error) {
      dead.publish({ stage: 'in', error, data: record.data, originalSubject: record.subject, position: record.seq });
    }
  }
  // A replay of the same input (by a restarted process) produces the same dead letter id: stored once.
  const afterRestart = createDeadLetterPublisher({
    names: streams.names,
    sink,
    maxPayloadBytes: link.nc.info!.max_payload,
  });
  afterRestart.publish({
    stage: 'in',
    error: new Error('again'),
    data: encoder.encode('{not json'),
    originalSubject: 'wc.in',
    position: 2,
  });
  await sink.flush();
  assert.equal(parsed, [{ ok: 1 }]);
  assert.is(sink.stats.duplicates, 1);
  const [letter] = await readStream(link, streams.deadLetters.stream, 1);
  assert.is(letter?.subject, 'stator.wc.dlq.in');
  assert.is(decoder.decode(letter!.data), '{not json');
  assert.match(letter!.headers!.get(DeadLetterHeaders.ERROR), /^SyntaxError: /);
  assert.is(letter!.headers!.get(DeadLetterHeaders.STAGE), 'in');
  assert.is(letter!.headers!.get(DeadLetterHeaders.ORIGINAL_SUBJECT), 'wc.in');
  assert.is(letter!.headers!.get(DeadLetterHeaders.POSITION), '2');
  assert.is((await (await link.jetstreamManager()).streams.info(streams.deadLetters.stream)).state.messages, 1);
  await sink.close();
  await link.close();
});

test('an output too large for the server becomes a truncated dead letter instead of failing the job', async () => {
  await using server = await startConfiguredNatsServer('max_payload: 8192\n');
  const { link, streams } = await setup(server.url);
  const sink = createStreamSink(link);
  const dead = createDeadLetterPublisher({ names: streams.names, sink, maxPayloadBytes: link.nc.info!.max_payload });
  const sinkWithDeadLetters = createStreamSink(link, { onOversize: dead.oversizeHandler('out') });
  const id = outputMsgId({ job: 'wc', stage: 'count', partition: 1, position: 7, index: 0 });
  sinkWithDeadLetters.publish({ subject: 'wc.out', data: encoder.encode('small'), msgId: `${id}-a` });
  sinkWithDeadLetters.publish({ subject: 'wc.out', data: new Uint8Array(20_000).fill(65), msgId: id });
  await sinkWithDeadLetters.flush();
  await sink.flush();
  assert.is(sinkWithDeadLetters.stats.oversize, 1);
  const [letter] = await readStream(link, streams.deadLetters.stream, 1);
  assert.is(letter?.subject, 'stator.wc.dlq.out');
  assert.is(letter!.headers!.get(DeadLetterHeaders.TRUNCATED), '20000');
  assert.is(letter!.headers!.get(DeadLetterHeaders.ORIGINAL_SUBJECT), 'wc.out');
  assert.match(
    letter!.headers!.get(DeadLetterHeaders.ERROR),
    /20\d\d\d bytes to wc\.out exceeds the 8192-byte max_payload/,
  );
  assert.ok(letter!.data.length < 8192 && letter!.data.every((b) => b === 65));
  const outputs = await readStream(link, streams.output.stream, 1);
  assert.equal(
    outputs.map((r) => decoder.decode(r.data)),
    ['small'],
  );
  await sinkWithDeadLetters.close();
  await sink.close();
  await link.close();
});

test.run();
