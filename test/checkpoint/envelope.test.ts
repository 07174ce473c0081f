import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { brotliCompressSync, crc32, gzipSync } from 'node:zlib';
import {
  EnvelopeKind,
  concatEnvelopes,
  decodeEnvelope,
  encodeEnvelope,
  envelopeBytes,
  ENVELOPE_HEADER_BYTES,
} from '../../src/checkpoint/envelope.ts';
import type { Compression } from '../../src/checkpoint/envelope.ts';
import { CheckpointCorruptError } from '../../src/checkpoint/index.ts';

const where = { part: 'p' };

test('envelope - golden header: magic, version, kind, compression, key group, lengths, crc32 (checked with Python zlib.crc32)', async () => {
  const bytes = envelopeBytes(
    await encodeEnvelope(EnvelopeKind.KEY_GROUP, new Uint8Array([1, 2, 3]), { compression: 'none', keyGroup: 5 }),
  );
  assert.equal(
    Buffer.from(bytes).toString('hex'),
    '5354434b' + '01' + '01' + '00' + '00' + '00000005' + '00000003' + '00000003' + '21443c54' + '010203',
  );
});

for (const compression of ['none', 'gzip', 'brotli'] as Compression[]) {
  test(`envelope - ${compression} round trips any payload`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.nat(127), async (payload, kg) => {
        const bytes = envelopeBytes(
          await encodeEnvelope(EnvelopeKind.KEY_GROUP, payload, { compression, keyGroup: kg }),
        );
        const decoded = await decodeEnvelope(bytes, EnvelopeKind.KEY_GROUP, where);
        assert.equal([...decoded.payload], [...payload]);
        assert.is(decoded.keyGroup, kg);
      }),
      { numRuns: 40 },
    );
  });
}

test('envelope - any single flipped byte is detected as corrupt', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      async (payload, at, xor) => {
        const bytes = envelopeBytes(await encodeEnvelope(EnvelopeKind.KEY_GROUP, payload, { compression: 'none' }));
        const index = at % bytes.length;
        bytes[index] = bytes[index]! ^ xor;
        try {
          await decodeEnvelope(bytes, EnvelopeKind.KEY_GROUP, where, 0, bytes.length);
          return false;
        } catch (error) {
          return error instanceof CheckpointCorruptError;
        }
      },
    ),
  );
});

test('envelope - truncation anywhere is detected as corrupt', async () => {
  const bytes = envelopeBytes(
    await encodeEnvelope(EnvelopeKind.DESCRIPTOR, new Uint8Array(100).fill(7), { compression: 'gzip' }),
  );
  for (let length = 0; length < bytes.length; length++) {
    await decodeEnvelope(bytes.subarray(0, length), EnvelopeKind.DESCRIPTOR, where).then(
      () => assert.unreachable(`length ${length} accepted`),
      (error) => assert.instance(error, CheckpointCorruptError),
    );
  }
});

test('envelope - the wrong kind or a newer format version is rejected with a reason', async () => {
  const bytes = envelopeBytes(
    await encodeEnvelope(EnvelopeKind.MANIFEST, new Uint8Array([1]), { compression: 'none' }),
  );
  await decodeEnvelope(bytes, EnvelopeKind.KEY_GROUP, where).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /kind 3/),
  );
  bytes[4] = 2;
  await decodeEnvelope(bytes, EnvelopeKind.MANIFEST, where).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /format version 2/),
  );
});

test('envelope - concatenated envelopes are each extractable by offset and length', async () => {
  const envelopes = await Promise.all(
    [10, 0, 33].map((n, kg) =>
      encodeEnvelope(EnvelopeKind.KEY_GROUP, new Uint8Array(n).fill(kg), { compression: 'none', keyGroup: kg }),
    ),
  );
  const { bytes, offsets } = concatEnvelopes(envelopes);
  assert.equal(offsets, [0, ENVELOPE_HEADER_BYTES + 10, 2 * ENVELOPE_HEADER_BYTES + 10]);
  for (let kg = 0; kg < 3; kg++) {
    const decoded = await decodeEnvelope(bytes, EnvelopeKind.KEY_GROUP, where, offsets[kg], envelopes[kg]!.byteLength);
    assert.is(decoded.keyGroup, kg);
  }
});

/**
 * An envelope whose header declares `declared` bytes around a stored payload that inflates to far more (valid
 * checksum).
 */
function bomb(compression: 'gzip' | 'brotli', declared: number, inflated: number): Uint8Array {
  const zeros = new Uint8Array(inflated);
  const stored = compression === 'gzip' ? gzipSync(zeros, { level: 9 }) : brotliCompressSync(zeros);
  const bytes = new Uint8Array(ENVELOPE_HEADER_BYTES + stored.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x5354434b);
  view.setUint8(4, 1);
  view.setUint8(5, EnvelopeKind.KEY_GROUP);
  view.setUint8(6, compression === 'gzip' ? 1 : 2);
  view.setUint32(12, declared);
  view.setUint32(16, stored.length);
  bytes.set(stored, ENVELOPE_HEADER_BYTES);
  view.setUint32(20, crc32(stored, crc32(bytes.subarray(0, 20))));
  return bytes;
}

for (const compression of ['gzip', 'brotli'] as const) {
  test(`envelope - a ${compression} payload inflating past its declared length stops at that length (decompression bomb)`, async () => {
    // 16 MiB of zeros stored in ~16 KiB (gzip) or a few bytes (brotli), declared as 10 bytes.
    const bytes = bomb(compression, 10, 16 * 1024 * 1024);
    await decodeEnvelope(bytes, EnvelopeKind.KEY_GROUP, where).then(
      () => assert.unreachable(),
      (error: Error) => {
        assert.instance(error, CheckpointCorruptError);
        assert.match(error.message, /decompresses to more than the 10 bytes the header records/);
      },
    );
  });
}

test.run();
