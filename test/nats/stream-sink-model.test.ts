// Model-based test of the sink against a real server: random publishes (new ids and repeats of
// earlier ids, as a replay produces) with flushes in between. After each flush the stream must hold
// each distinct id once, in the order of first publication, and the counters must agree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { startNatsServer } from '../support/nats-server.ts';
import { connectNats, createStreamSink, ensureStream, openStreamSource } from '../../runtime/nats/index.ts';

type Step =
  | { readonly kind: 'new'; readonly count: number }
  | { readonly kind: 'repeat'; readonly pick: number; readonly count: number }
  | { readonly kind: 'flush' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('new' as const), count: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ kind: fc.constant('repeat' as const), pick: fc.nat(), count: fc.integer({ min: 1, max: 100 }) }),
  fc.constant({ kind: 'flush' as const }),
);

test('after each flush the stream holds every distinct id once, in first-publication order', async () => {
  await using server = await startNatsServer();
  await using link = await connectNats({ nats: server.url });
  const jsm = await link.jetstreamManager();
  const decoder = new TextDecoder();
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(step, { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 64 }),
      async (steps, window) => {
        run++;
        const stream = `MODEL_${run}`;
        const subject = `model.${run}`;
        await ensureStream(jsm, { name: stream, subjects: [subject], minDuplicateWindowMs: 120_000 });
        const sink = createStreamSink(link, { window });
        const model: string[] = [];
        let published = 0;
        const check = async (): Promise<void> => {
          await sink.flush();
          const info = await jsm.streams.info(stream);
          assert.is(info.state.messages, model.length);
          if (model.length > 0) {
            const stored: string[] = [];
            await using source = await openStreamSource(link, { stream, filterSubject: subject, startSeq: 1 });
            while (stored.length < model.length)
              for (const r of (await source.nextBatch()) ?? []) stored.push(decoder.decode(r.data));
            assert.equal(stored, model);
          }
          assert.is(sink.stats.acknowledged, published);
          assert.is(sink.stats.duplicates, published - model.length);
        };
        for (const s of steps) {
          if (s.kind === 'flush') {
            await check();
            continue;
          }
          for (let i = 0; i < s.count; i++) {
            // A repeat re-publishes an earlier id with its payload, as a replay would.
            const id =
              s.kind === 'new' || model.length === 0 ? `id-${model.length}` : model[(s.pick + i) % model.length]!;
            if (!model.includes(id)) model.push(id);
            if (sink.congested) await sink.whenUncongested();
            sink.publish({ subject, data: new TextEncoder().encode(id), msgId: id });
            published++;
          }
        }
        await check();
        await sink.close();
        await jsm.streams.delete(stream);
      },
    ),
    { numRuns: 25 },
  );
});

test.run();
