import { Packr } from 'msgpackr';
import type { CheckpointStats } from './checkpoint-descriptor.ts';
import { EnvelopeKind, decodeEnvelope, encodeEnvelope, envelopeBytes } from './envelope.ts';
import { CheckpointCorruptError } from './errors.ts';

/** One retained checkpoint as the manifest lists it; details are in its descriptor part. */
export interface CheckpointInfo {
  readonly id: number;
  readonly createdAt: number;
  readonly kind: 'full' | 'incremental';
  readonly parentId: number | undefined;
  readonly incrementsSinceFull: number;
  /** Name of the descriptor part (CheckpointDescriptor). */
  readonly descriptor: string;
  readonly stats: CheckpointStats;
}

/**
 * The running marker: a process that runs the job holds it and renews `heartbeatAt`. `clear()` and a
 * second instance refuse to act while it is live: renewed within `ttlMs`, or held by a process that
 * is still alive on this host (checked by pid, so a crashed local process frees it at once).
 */
export interface Lease {
  /** Random token of the holding instance. */
  readonly holder: string;
  readonly pid: number;
  readonly hostname: string;
  readonly acquiredAt: number;
  readonly heartbeatAt: number;
  readonly ttlMs: number;
}

/**
 * The manifest document: the only mutable record of a job's checkpoints, replaced as a whole with
 * compare-and-set. A checkpoint exists exactly when the committed manifest lists it.
 */
export interface Manifest {
  readonly jobId: string;
  /** The id the next checkpoint gets; ids only grow, even past checkpoints abandoned as corrupt. */
  readonly nextId: number;
  /** Retained complete checkpoints, oldest first. */
  readonly checkpoints: readonly CheckpointInfo[];
  readonly lease: Lease | undefined;
}

const MANIFEST_FORMAT = 1;
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** Manifest → stored bytes: msgpack in an envelope (kind MANIFEST), so it carries a checksum. */
export async function encodeManifest(manifest: Manifest): Promise<Uint8Array> {
  const body = packr.pack({
    format: MANIFEST_FORMAT,
    jobId: manifest.jobId,
    nextId: manifest.nextId,
    checkpoints: manifest.checkpoints.map((c) => ({ ...c, parentId: c.parentId ?? null })),
    lease: manifest.lease ?? null,
  });
  return envelopeBytes(await encodeEnvelope(EnvelopeKind.MANIFEST, body, { compression: 'none' }));
}

/** @throws CheckpointCorruptError when the bytes fail verification or are not a manifest. */
export async function decodeManifest(bytes: Uint8Array): Promise<Manifest> {
  const { payload } = await decodeEnvelope(bytes, EnvelopeKind.MANIFEST, { part: 'manifest' });
  let raw: {
    format?: unknown;
    jobId?: unknown;
    nextId?: unknown;
    checkpoints?: unknown;
    lease?: Lease | null;
  };
  try {
    raw = packr.unpack(payload) as typeof raw;
  } catch (error) {
    throw new CheckpointCorruptError('manifest', 'is not valid msgpack', { cause: error });
  }
  if (
    raw.format !== MANIFEST_FORMAT ||
    typeof raw.jobId !== 'string' ||
    typeof raw.nextId !== 'number' ||
    !Array.isArray(raw.checkpoints)
  ) {
    throw new CheckpointCorruptError('manifest', `is not a format ${MANIFEST_FORMAT} manifest`);
  }
  const checkpoints = (raw.checkpoints as Array<CheckpointInfo & { parentId: number | null }>).map(
    (c): CheckpointInfo => ({ ...c, parentId: c.parentId ?? undefined }),
  );
  return { jobId: raw.jobId, nextId: raw.nextId, checkpoints, lease: raw.lease ?? undefined };
}
