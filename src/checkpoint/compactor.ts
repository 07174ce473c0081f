import { Worker } from 'node:worker_threads';
import { mergeKeyGroupParts } from '../state/key-group-part.ts';
import type { MergeKeyGroupParts } from '../state/keyed-state-backend.ts';
import type { CompactionFailure, CompactionRequest, CompactionResponse } from './compaction-worker.ts';
import { CheckpointCorruptError } from './errors.ts';
import { buildPartitionPart, wholeBuffer, type PartitionJob, type PartitionPart } from './partition-compaction.ts';

/** Builds partition parts for the checkpoint writer. */
export interface Compactor {
  /**
   * Builds one partition's part. The job's part buffers may be transferred away (detached): the
   * caller must not use them afterwards.
   */
  build(job: PartitionJob, between: () => Promise<void>): Promise<PartitionPart>;
  /** Stops the worker, if one was started. Idempotent; a build after close runs on the calling thread. */
  close(): Promise<void>;
}

/** Options of {@link createCompactor}. */
export interface CompactorOptions {
  /**
   * A job whose merges read at most this many bytes (the segments merged plus the fresh payloads
   * merged into them) is built on the calling thread, without the worker (which is then not even
   * started). @default 1048576 (INLINE_MERGE_MAX_BYTES)
   */
  readonly inlineMaxBytes?: number;
  /**
   * A job with a key group whose merge reads more than this many bytes goes to the worker, whatever
   * its total: the calling thread yields between key groups, not within one merge.
   * @default 65536 (INLINE_GROUP_MERGE_MAX_BYTES)
   */
  readonly inlineGroupMaxBytes?: number;
}

/**
 * Merges up to this size cost the processing thread a few milliseconds, spread over its turns (the
 * build yields between key groups): less than a round trip to the worker, and far less than
 * starting it (a thread loading its modules), which the checkpoint's commit would wait for.
 */
export const INLINE_MERGE_MAX_BYTES = 1024 * 1024;

/**
 * One key group's merge runs in one piece, at roughly 1 ms per 64 KiB it reads: the largest a merge
 * on the calling thread may be, so that it stalls the loop about as long as a slice of the capture.
 */
export const INLINE_GROUP_MERGE_MAX_BYTES = 64 * 1024;

/**
 * A compactor for `merge`. The state layer's own merge runs in a worker thread once a job's merges
 * exceed `inlineMaxBytes`, or one key group's merge `inlineGroupMaxBytes`: a full checkpoint of a
 * large state reads back and merges the whole state (tens of MB at a million keys), and doing that
 * on the processing thread both takes turns from it and fills its heap, which then pays for it with
 * major GCs inside later turns. Smaller jobs, and any other merge (a test's, say, which cannot be
 * sent to a worker), run on the calling thread, yielding between key groups. Both give the same
 * bytes (buildPartitionPart).
 */
export function createCompactor(merge: MergeKeyGroupParts, options: CompactorOptions = {}): Compactor {
  return merge === mergeKeyGroupParts
    ? new WorkerCompactor(
        options.inlineMaxBytes ?? INLINE_MERGE_MAX_BYTES,
        options.inlineGroupMaxBytes ?? INLINE_GROUP_MERGE_MAX_BYTES,
      )
    : new InlineCompactor(merge);
}

/** The bytes a job's merges read (compacted groups' segments and fresh payloads): in all, and its largest merge's. */
function mergedBytes(job: PartitionJob): { total: number; largest: number } {
  let total = 0;
  let largest = 0;
  for (const group of job.groups) {
    if (!group.compact) continue;
    let bytes = 0;
    for (const ref of group.base) bytes += ref.length;
    for (const payload of group.fresh) bytes += payload.length;
    total += bytes;
    largest = Math.max(largest, bytes);
  }
  return { total, largest };
}

class InlineCompactor implements Compactor {
  constructor(private readonly merge: MergeKeyGroupParts) {}
  build(job: PartitionJob, between: () => Promise<void>): Promise<PartitionPart> {
    return buildPartitionPart(job, this.merge, between);
  }
  async close(): Promise<void> {}
}

type WorkerState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'running'; readonly worker: Worker; readonly exited: Promise<void> }
  | { readonly kind: 'closed' };

interface Pending {
  resolve(part: PartitionPart): void;
  reject(error: unknown): void;
}

class WorkerCompactor implements Compactor {
  private state: WorkerState = { kind: 'idle' };
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    private readonly inlineMaxBytes: number,
    private readonly inlineGroupMaxBytes: number,
  ) {}

  async build(job: PartitionJob, between: () => Promise<void>): Promise<PartitionPart> {
    // Nothing to merge, or little: cheaper here than a round trip (or the worker's start).
    const merged = mergedBytes(job);
    if (merged.total === 0 || (merged.total <= this.inlineMaxBytes && merged.largest <= this.inlineGroupMaxBytes))
      return buildPartitionPart(job, mergeKeyGroupParts, between);
    if (this.state.kind === 'closed') return buildPartitionPart(job, mergeKeyGroupParts, between);
    const worker = this.start();
    const id = this.nextId++;
    // A set: a buffer behind several views is listed once (twice would throw DataCloneError).
    const transfer = new Set<ArrayBuffer>();
    const parts: Array<readonly [string, Uint8Array]> = [];
    for (const [name, bytes] of job.parts) {
      parts.push([name, bytes]);
      // Moved, not copied: the base parts are the bulk of a full checkpoint.
      if (wholeBuffer(bytes) || job.owned?.has(bytes.buffer) === true) transfer.add(bytes.buffer as ArrayBuffer);
    }
    const request: CompactionRequest = {
      id,
      job: { compression: job.compression, baseCheckpointId: job.baseCheckpointId, groups: job.groups, parts },
    };
    const result = new Promise<PartitionPart>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    // Referenced only while a job is in flight: an idle worker never keeps the process alive.
    worker.ref();
    worker.postMessage(request, [...transfer]);
    try {
      return await result;
    } finally {
      if (this.pending.size === 0 && this.state.kind === 'running') this.state.worker.unref();
    }
  }

  private start(): Worker {
    if (this.state.kind === 'running') return this.state.worker;
    const worker = createCompactionWorker();
    worker.unref();
    worker.on('message', (response: CompactionResponse) => {
      const pending = this.pending.get(response.id);
      if (pending === undefined) return;
      this.pending.delete(response.id);
      if (response.ok) pending.resolve({ bytes: response.bytes, segments: response.segments });
      else pending.reject(rebuild(response.failure));
    });
    const fail = (error: unknown) => {
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    const exited = new Promise<void>((resolve) =>
      worker.once('exit', (code) => {
        fail(
          new Error(
            `the checkpoint compaction worker exited (code ${code}) with a job in flight; write the checkpoint again`,
          ),
        );
        if (this.state.kind === 'running' && this.state.worker === worker) this.state = { kind: 'idle' };
        resolve();
      }),
    );
    this.state = { kind: 'running', worker, exited };
    return worker;
  }

  async close(): Promise<void> {
    const state = this.state;
    this.state = { kind: 'closed' };
    if (state.kind === 'running') {
      await state.worker.terminate();
      await state.exited;
    }
  }
}

/**
 * Starts the worker from the module next to this one: compaction-worker.js in the published build,
 * plain JavaScript with no loader. Only when stator itself runs from its TypeScript sources (its own
 * tests, under tsx) is the entry a .ts file; Node 20 does not apply `--import tsx` hooks inside worker
 * threads, so that bootstrap registers tsx before importing it.
 */
function createCompactionWorker(): Worker {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const entry = new URL(`./compaction-worker${extension}`, import.meta.url);
  if (extension === '.js') return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  const source = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(source, { eval: true });
}

function rebuild(failure: CompactionFailure): Error {
  if (failure.name === 'CheckpointCorruptError' && failure.part !== undefined && failure.problem !== undefined) {
    return new CheckpointCorruptError(
      failure.part,
      failure.problem,
      failure.checkpointId === undefined ? {} : { checkpointId: failure.checkpointId },
    );
  }
  const error = new Error(failure.message);
  error.name = failure.name;
  if (failure.code !== undefined) Object.assign(error, { code: failure.code });
  return error;
}
