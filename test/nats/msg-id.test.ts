import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { outputMsgId, replayIsDeduplicated, requiredDuplicateWindowMs, serverFeatures } from '../../runtime/nats/index.ts';

test('output ids are built from job, stage, partition, position and index', () => {
  assert.is(outputMsgId({ job: 'wc', stage: 'count', partition: 3, position: 1042, index: 0 }), 'wc:count:3:1042:0');
});

test('distinct output coordinates never share an id', () => {
  const token = fc.stringMatching(/^[a-z0-9_-]{1,6}$/);
  const coordinates = fc.record({ job: token, stage: token, partition: fc.nat(64), position: fc.nat(), index: fc.nat(100) });
  fc.assert(
    fc.property(coordinates, coordinates, (a, b) => {
      const same = a.job === b.job && a.stage === b.stage && a.partition === b.partition && a.position === b.position && a.index === b.index;
      return same === (outputMsgId(a) === outputMsgId(b));
    }),
  );
});

test('the duplicate window covers two checkpoint intervals and outages plus the restart allowance, in whole minutes', () => {
  assert.is(requiredDuplicateWindowMs({ checkpointIntervalMs: 10_000, maxOutageMs: 60_000 }), 8 * 60_000);
  assert.is(requiredDuplicateWindowMs({ checkpointIntervalMs: 1_000, maxOutageMs: 1_000, restartAllowanceMs: 0 }), 120_000);
  fc.assert(
    fc.property(fc.nat(3_600_000), fc.nat(3_600_000), fc.nat(3_600_000), (interval, outage, restart) => {
      const window = requiredDuplicateWindowMs({ checkpointIntervalMs: interval, maxOutageMs: outage, restartAllowanceMs: restart });
      return window >= 2 * (interval + outage) + restart && window >= 120_000 && window % 60_000 === 0;
    }),
  );
});

test('a replay is deduplicated only while the checkpoint is recent enough for the window', () => {
  const inputs = { checkpointIntervalMs: 10_000, maxOutageMs: 60_000 };
  assert.ok(replayIsDeduplicated(0, 60_000, 300_000, inputs));
  assert.not.ok(replayIsDeduplicated(0, 250_000, 300_000, inputs));
});

test('server features follow the version: 2.9.10 lacks 2.10+ features, 2.12 has them all', () => {
  const debian = serverFeatures('2.9.10');
  assert.equal([debian.subjectTransforms, debian.multiFilterConsumers, debian.perMessageTtl, debian.atomicBatchPublish, debian.slowMaxMsgsLimit], [false, false, false, false, true]);
  const recent = serverFeatures('2.12.1');
  assert.equal([recent.subjectTransforms, recent.multiFilterConsumers, recent.perMessageTtl, recent.atomicBatchPublish, recent.slowMaxMsgsLimit], [true, true, true, true, false]);
  assert.is(serverFeatures('2.10.0-beta.1').subjectTransforms, true);
  assert.is(serverFeatures('garbage').major, 0);
});

test.run();
