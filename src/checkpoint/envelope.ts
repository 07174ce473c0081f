import { crc32, gunzip, gzip, brotliCompress, brotliDecompress, constants as zlibConstants } from 'node:zlib';
import { promisify } from 'node:util';
import { CheckpointCorruptError } from './errors.ts';

/**
 * Every byte string the checkpoint layer stores (a key group's state, a checkpoint descriptor, the
 * manifest) is wrapped in an envelope with a fixed 24-byte big-endian header, so a file on its own
 * says what it is and whether it is intact:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0  | 4 | magic `STCK` |
 * | 4  | 1 | format version (1) |
 * | 5  | 1 | kind: 1 key-group state, 2 checkpoint descriptor, 3 manifest |
 * | 6  | 1 | compression: 0 none, 1 gzip, 2 brotli |
 * | 7  | 1 | flags (0; readers reject unknown flags) |
 * | 8  | 4 | key group (0 unless kind 1) |
 * | 12 | 4 | uncompressed payload length |
 * | 16 | 4 | stored payload length (what follows the header) |
 * | 20 | 4 | CRC-32 of bytes 0..20 and of the stored payload |
 *
 * The checksum covers the header too, so a flipped length or kind is caught like a flipped payload
 * byte. Several key-group envelopes are concatenated into one stored part (one per stage partition
 * per checkpoint); each stays separately verifiable and extractable, which a rescale needs.
 */
export const ENVELOPE_HEADER_BYTES = 24;
export const ENVELOPE_FORMAT_VERSION = 1;
const MAGIC = 0x5354434b; // 'STCK'
const MAX_LENGTH = 0xffffffff;

export const EnvelopeKind = { KEY_GROUP: 1, DESCRIPTOR: 2, MANIFEST: 3 } as const;
export type EnvelopeKind = (typeof EnvelopeKind)[keyof typeof EnvelopeKind];

/** How envelopes are compressed. `none` is the default (see docs/checkpoints.md for why). */
export type Compression = 'none' | 'gzip' | 'brotli';
const compressionCode: Record<Compression, number> = { none: 0, gzip: 1, brotli: 2 };
const compressionByCode: readonly Compression[] = ['none', 'gzip', 'brotli'];

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);

/** Compresses on libuv's thread pool (zlib's async API), so the processing loop keeps running. */
async function compress(payload: Uint8Array, compression: Compression): Promise<Uint8Array> {
  switch (compression) {
    case 'none':
      return payload;
    case 'gzip':
      // Level 1: checkpoint parts are mostly coder bytes; higher levels cost CPU for a few percent.
      return gzipAsync(payload, { level: 1 });
    case 'brotli':
      return brotliAsync(payload, {
        params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: payload.length },
      });
  }
}

/**
 * Inflates at most `maxBytes` (the header's declared length): zlib stops with ERR_BUFFER_TOO_LARGE
 * past it, so a small payload that claims a small length cannot allocate gigabytes first.
 */
async function decompress(stored: Uint8Array, compression: Compression, maxBytes: number): Promise<Uint8Array> {
  // zlib needs a positive bound; a declared 0 that inflates to 1 byte still fails the length check.
  const bound = { maxOutputLength: Math.max(1, maxBytes) };
  switch (compression) {
    case 'none':
      return stored;
    case 'gzip':
      return gunzipAsync(stored, bound);
    case 'brotli':
      return unbrotliAsync(stored, bound);
  }
}

function isOutputTooLarge(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ERR_BUFFER_TOO_LARGE';
}

/** An envelope as separate header and payload buffers, so containers concatenate them with one copy. */
export interface EncodedEnvelope {
  readonly header: Uint8Array;
  readonly stored: Uint8Array;
  readonly byteLength: number;
}

export async function encodeEnvelope(
  kind: EnvelopeKind,
  payload: Uint8Array,
  options: { compression: Compression; keyGroup?: number },
): Promise<EncodedEnvelope> {
  if (payload.length > MAX_LENGTH) throw new RangeError(`checkpoint payload of ${payload.length} bytes exceeds 4 GiB`);
  const stored = await compress(payload, options.compression);
  const header = new Uint8Array(ENVELOPE_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, MAGIC);
  view.setUint8(4, ENVELOPE_FORMAT_VERSION);
  view.setUint8(5, kind);
  view.setUint8(6, compressionCode[options.compression]);
  view.setUint8(7, 0);
  view.setUint32(8, options.keyGroup ?? 0);
  view.setUint32(12, payload.length);
  view.setUint32(16, stored.length);
  view.setUint32(20, crc32(stored, crc32(header.subarray(0, 20))));
  return { header, stored, byteLength: ENVELOPE_HEADER_BYTES + stored.length };
}

/** Concatenates envelopes into one part's bytes; returns each envelope's offset. */
export function concatEnvelopes(envelopes: readonly EncodedEnvelope[]): { bytes: Uint8Array; offsets: number[] } {
  let total = 0;
  for (const envelope of envelopes) total += envelope.byteLength;
  const bytes = new Uint8Array(total);
  const offsets: number[] = [];
  let at = 0;
  for (const envelope of envelopes) {
    offsets.push(at);
    bytes.set(envelope.header, at);
    bytes.set(envelope.stored, at + ENVELOPE_HEADER_BYTES);
    at += envelope.byteLength;
  }
  return { bytes, offsets };
}

/** One envelope's bytes, header included, as a standalone byte string. */
export function envelopeBytes(envelope: EncodedEnvelope): Uint8Array {
  return concatEnvelopes([envelope]).bytes;
}

/** Where an envelope is, for error messages. */
export interface EnvelopeLocation {
  readonly part: string;
  readonly checkpointId?: number;
}

/**
 * Verifies and unwraps the envelope at `offset` (spanning `length` bytes when given) of `bytes`.
 * @throws CheckpointCorruptError on a wrong magic/version/kind/flags, truncation, a checksum
 * mismatch or a payload that does not decompress to its recorded length (decompression stops
 * at that length, so a forged payload cannot inflate beyond it).
 */
export async function decodeEnvelope(
  bytes: Uint8Array,
  expectedKind: EnvelopeKind,
  where: EnvelopeLocation,
  offset = 0,
  length?: number,
): Promise<{ payload: Uint8Array; keyGroup: number }> {
  const corrupt = (problem: string, cause?: unknown): CheckpointCorruptError =>
    new CheckpointCorruptError(where.part, problem, {
      ...(where.checkpointId === undefined ? {} : { checkpointId: where.checkpointId }),
      ...(cause === undefined ? {} : { cause }),
    });
  if (offset + ENVELOPE_HEADER_BYTES > bytes.length) {
    throw corrupt(
      `truncated: ${bytes.length} bytes, an envelope header at offset ${offset} needs ${ENVELOPE_HEADER_BYTES}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, ENVELOPE_HEADER_BYTES);
  if (view.getUint32(0) !== MAGIC) throw corrupt(`no STCK magic at offset ${offset}`);
  const version = view.getUint8(4);
  if (version !== ENVELOPE_FORMAT_VERSION) {
    throw corrupt(
      `format version ${version} at offset ${offset}; this stator reads version ${ENVELOPE_FORMAT_VERSION} (upgrade stator to read newer checkpoints)`,
    );
  }
  const kind = view.getUint8(5);
  const compression = compressionByCode[view.getUint8(6)];
  const flags = view.getUint8(7);
  const keyGroup = view.getUint32(8);
  const uncompressedLength = view.getUint32(12);
  const storedLength = view.getUint32(16);
  const checksum = view.getUint32(20);
  const end = offset + ENVELOPE_HEADER_BYTES + storedLength;
  if (end > bytes.length)
    throw corrupt(`truncated: envelope at offset ${offset} needs ${end} bytes, the part has ${bytes.length}`);
  if (length !== undefined && end - offset !== length) {
    throw corrupt(`envelope at offset ${offset} spans ${end - offset} bytes, the manifest records ${length}`);
  }
  const stored = bytes.subarray(offset + ENVELOPE_HEADER_BYTES, end);
  const actual = crc32(stored, crc32(bytes.subarray(offset, offset + 20)));
  if (actual !== checksum) {
    throw corrupt(`checksum mismatch at offset ${offset} (recorded ${hex(checksum)}, computed ${hex(actual)})`);
  }
  // Checked after the checksum: with a matching CRC these are writer bugs or a newer format, not bit rot.
  if (kind !== expectedKind) throw corrupt(`envelope kind ${kind} at offset ${offset}, expected ${expectedKind}`);
  if (compression === undefined) throw corrupt(`unknown compression code ${view.getUint8(6)}`);
  if (flags !== 0) throw corrupt(`unknown flags ${flags}`);
  let payload: Uint8Array;
  try {
    payload = await decompress(stored, compression, uncompressedLength);
  } catch (error) {
    if (isOutputTooLarge(error))
      throw corrupt(
        `${compression} payload decompresses to more than the ${uncompressedLength} bytes the header records`,
        error,
      );
    throw corrupt(`${compression} payload does not decompress`, error);
  }
  if (payload.length !== uncompressedLength) {
    throw corrupt(`payload is ${payload.length} bytes, the header records ${uncompressedLength}`);
  }
  return { payload, keyGroup };
}

/**
 * Whether `bytes` are exactly one envelope whose checksum matches, without decompressing: what a
 * store checks before it keeps a manifest as the fallback for the next one.
 */
export function envelopeIsIntact(bytes: Uint8Array): boolean {
  if (bytes.length < ENVELOPE_HEADER_BYTES) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, ENVELOPE_HEADER_BYTES);
  if (view.getUint32(0) !== MAGIC || ENVELOPE_HEADER_BYTES + view.getUint32(16) !== bytes.length) return false;
  return crc32(bytes.subarray(ENVELOPE_HEADER_BYTES), crc32(bytes.subarray(0, 20))) === view.getUint32(20);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
