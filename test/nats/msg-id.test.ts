import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { outputMsgId, replayExposure, requiredDuplicateWindowMs, serverFeatures } from '../../runtime/nats/index.ts';

test('output ids are built from job, stage, partition, position and index', () => {
  assert.is(outputMsgId({ job: 'wc', stage: 'count', partition: 3, position: 1042, index: 0 }), 'wc:count:3:1042:0');
});

test('distinct output coordinates never share an id', () => {
  const token = fc.stringMatching(/^[a-z0-9_-]{1,6}$/);
  const coordinates = fc.record({
    job: token,
    stage: token,
    partition: fc.nat(64),
    position: fc.nat(),
    index: fc.nat(100),
  });
  fc.assert(
    fc.property(coordinates, coordinates, (a, b) => {
      const same =
        a.job === b.job &&
        a.stage === b.stage &&
        a.partition === b.partition &&
        a.position === b.position &&
        a.index === b.index;
      return same === (outputMsgId(a) === outputMsgId(b));
    }),
  );
});

test('the duplicate window covers two checkpoint intervals and outages plus the restart allowance, in whole minutes', () => {
  assert.is(requiredDuplicateWindowMs({ checkpointIntervalMs: 10_000, maxOutageMs: 60_000 }), 8 * 60_000);
  assert.is(
    requiredDuplicateWindowMs({ checkpointIntervalMs: 1_000, maxOutageMs: 1_000, restartAllowanceMs: 0 }),
    120_000,
  );
  fc.assert(
    fc.property(fc.nat(3_600_000), fc.nat(3_600_000), fc.nat(3_600_000), (interval, outage, restart) => {
      const window = requiredDuplicateWindowMs({
        checkpointIntervalMs: interval,
        maxOutageMs: outage,
        restartAllowanceMs: restart,
      });
      return window >= 2 * (interval + outage) + restart && window >= 120_000 && window % 60_000 === 0;
    }),
  );
});

test('a replay is exposed only when the previous run stored outputs after the checkpoint that the window has forgotten', () => {
  const settings = { checkpointIntervalMs: 10_000, maxOutageMs: 60_000, duplicateWindowMs: 480_000 };
  const now = 1_000_000_000;
  // Issue 11 item 14: a clean stop of an idle job, restarted 462 s later. Nothing was stored after
  // the final checkpoint, so the replay repeats nothing, however old the checkpoint.
  const idle = { ...settings, capturedAtMs: now - 462_000, lastStoredAtMs: now - 470_000, nowMs: now };
  assert.is(replayExposure(idle), undefined);
  assert.is(replayExposure({ ...idle, lastStoredAtMs: undefined }), undefined);
  // The same checkpoint, but the previous run went on publishing for 100 s after it: those stored
  // in the first 52 s (462 + 70 - 480) are forgotten by the time the replay re-publishes them.
  const busy = { ...idle, lastStoredAtMs: now - 362_000 };
  assert.equal(replayExposure(busy), { fromMs: now - 462_000, toMs: now - 410_000 });
  // A recent checkpoint is covered even when the previous run published right up to the crash.
  assert.is(
    replayExposure({ ...settings, capturedAtMs: now - 60_000, lastStoredAtMs: now - 1_000, nowMs: now }),
    undefined,
  );
  fc.assert(
    fc.property(
      fc.nat(10_000_000),
      fc.option(fc.nat(10_000_000), { nil: undefined }),
      fc.nat(600_000),
      fc.nat(600_000),
      fc.integer({ min: 120_000, max: 3_600_000 }),
      (capturedAgo, storedAgo, interval, outage, window) => {
        const inputs = {
          capturedAtMs: now - capturedAgo,
          lastStoredAtMs: storedAgo === undefined ? undefined : now - storedAgo,
          nowMs: now,
          duplicateWindowMs: window,
          checkpointIntervalMs: interval,
          maxOutageMs: outage,
        };
        const exposed = replayExposure(inputs);
        if (exposed === undefined) {
          // Either nothing stored after the capture, or the oldest such output is still remembered.
          return (
            inputs.lastStoredAtMs === undefined ||
            inputs.lastStoredAtMs < inputs.capturedAtMs ||
            inputs.capturedAtMs + window >= now + interval + outage
          );
        }
        return (
          exposed.fromMs === inputs.capturedAtMs &&
          exposed.toMs >= exposed.fromMs &&
          exposed.toMs <= inputs.lastStoredAtMs! &&
          exposed.toMs + window <= now + interval + outage
        );
      },
    ),
  );
});

test('server features follow the version: 2.9.10 lacks 2.10+ features, 2.12 has them all', () => {
  const debian = serverFeatures('2.9.10');
  assert.equal(
    [
      debian.subjectTransforms,
      debian.multiFilterConsumers,
      debian.perMessageTtl,
      debian.atomicBatchPublish,
      debian.slowMaxMsgsLimit,
    ],
    [false, false, false, false, true],
  );
  const recent = serverFeatures('2.12.1');
  assert.equal(
    [
      recent.subjectTransforms,
      recent.multiFilterConsumers,
      recent.perMessageTtl,
      recent.atomicBatchPublish,
      recent.slowMaxMsgsLimit,
    ],
    [true, true, true, true, false],
  );
  assert.is(serverFeatures('2.10.0-beta.1').subjectTransforms, true);
  assert.is(serverFeatures('garbage').major, 0);
});

test.run();
