// Entry of the compaction worker thread (see compactor.ts): builds partition parts with the state
// layer's merge, off the processing thread. Receives the base parts' buffers transferred, returns
// the built part's buffer transferred, so neither side copies the bytes.
import { parentPort } from 'node:worker_threads';
import { mergeKeyGroupParts } from '../state/key-group-part.ts';
import { CheckpointCorruptError } from './errors.ts';
import { buildPartitionPart, wholeBuffer, type BuiltSegment, type PartitionJob } from './partition-compaction.ts';

/** A job as posted: parts as entries (a Map clones too, but entries keep the message plain). */
export interface CompactionRequest {
  readonly id: number;
  readonly job: Omit<PartitionJob, 'parts'> & { readonly parts: ReadonlyArray<readonly [string, Uint8Array]> };
}

/** A failure as posted: enough to rebuild the error's type on the processing thread. */
export interface CompactionFailure {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly part?: string;
  readonly problem?: string;
  readonly checkpointId?: number;
}

export type CompactionResponse =
  | { readonly id: number; readonly ok: true; readonly bytes: Uint8Array; readonly segments: readonly BuiltSegment[] }
  | { readonly id: number; readonly ok: false; readonly failure: CompactionFailure };

function describe(error: unknown): CompactionFailure {
  if (error instanceof CheckpointCorruptError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      part: error.part,
      problem: error.problem,
      ...(error.checkpointId === undefined ? {} : { checkpointId: error.checkpointId }),
    };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(error) };
}

const port = parentPort;
if (port !== null) {
  port.on('message', (request: CompactionRequest) => {
    const job: PartitionJob = { ...request.job, parts: new Map(request.job.parts) };
    buildPartitionPart(job, mergeKeyGroupParts).then(
      ({ bytes, segments }) => {
        const response: CompactionResponse = { id: request.id, ok: true, bytes, segments };
        port.postMessage(response, wholeBuffer(bytes) ? [bytes.buffer as ArrayBuffer] : []);
      },
      (error: unknown) => {
        const response: CompactionResponse = { id: request.id, ok: false, failure: describe(error) };
        port.postMessage(response);
      },
    );
  });
}
