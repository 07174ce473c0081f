import type { CheckpointStore, StoredManifest } from './checkpoint-store.ts';
import { CheckpointPartMissingError, CheckpointStoreError, FencedError } from './errors.ts';

/** Faults a test can inject into a memory store. Each one-shot fault is consumed by the next call. */
export interface MemoryStoreFaults {
  /** The next `putPart` throws `error` (default: a retryable CheckpointStoreError) and stores nothing. */
  failNextPut(error?: Error): void;
  /** The next `commitManifest` throws `error` (default: a retryable CheckpointStoreError) and commits nothing. */
  failNextCommit(error?: Error): void;
  /**
   * Holds every `putPart` (and `commitManifest`) until the returned function is called: a store
   * that is slower than the producer, without timing.
   */
  hold(): () => void;
  /** Flips one byte of a stored part (default: its middle byte). */
  corruptPart(name: string, index?: number): void;
  /** Cuts a stored part to `length` bytes. */
  truncatePart(name: string, length: number): void;
  /** Flips one byte of the current manifest (default: its middle byte). */
  corruptManifest(index?: number): void;
}

/** An in-memory CheckpointStore for tests and the TaskHarness: same contract, nothing durable. */
export interface MemoryCheckpointStore extends CheckpointStore {
  readonly faults: MemoryStoreFaults;
  /** Number of puts started, including failed and held ones. */
  readonly putCalls: number;
  /** Puts currently in progress (held). */
  readonly pendingPuts: number;
}

class MemoryStore implements MemoryCheckpointStore {
  readonly description: string;
  private readonly parts = new Map<string, Uint8Array>();
  private manifest: StoredManifest | undefined;
  /** Earlier manifests, newest first (as many as a JetStream store's KV history keeps). */
  private previous: StoredManifest[] = [];
  private revision = 0;
  private nextPutError: Error | undefined;
  private nextCommitError: Error | undefined;
  private gate: Promise<void> | undefined;
  putCalls = 0;
  pendingPuts = 0;

  constructor(description: string) {
    this.description = description;
  }

  readonly faults: MemoryStoreFaults = {
    failNextPut: (error) => {
      this.nextPutError = error ?? new CheckpointStoreError(this.description, 'put a part (injected fault)');
    },
    failNextCommit: (error) => {
      this.nextCommitError =
        error ?? new CheckpointStoreError(this.description, 'commit the manifest (injected fault)');
    },
    hold: () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      this.gate = gate;
      return () => {
        if (this.gate === gate) this.gate = undefined;
        release();
      };
    },
    corruptPart: (name, index) => {
      const bytes = this.partOrThrow(name);
      const at = index ?? Math.floor(bytes.length / 2);
      bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    },
    truncatePart: (name, length) => {
      this.parts.set(name, this.partOrThrow(name).slice(0, length));
    },
    corruptManifest: (index) => {
      if (this.manifest === undefined) throw new Error(`${this.description} has no manifest to corrupt`);
      const bytes = this.manifest.bytes;
      const at = index ?? Math.floor(bytes.length / 2);
      bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    },
  };

  private partOrThrow(name: string): Uint8Array {
    const bytes = this.parts.get(name);
    if (bytes === undefined) throw new CheckpointPartMissingError(this.description, name);
    return bytes;
  }

  async putPart(name: string, bytes: Uint8Array): Promise<void> {
    this.putCalls++;
    this.pendingPuts++;
    try {
      if (this.gate !== undefined) await this.gate;
      const error = this.nextPutError;
      if (error !== undefined) {
        this.nextPutError = undefined;
        throw error;
      }
      // Copied: the caller may reuse its buffer, and a test corrupting a part must not reach back.
      this.parts.set(name, bytes.slice());
    } finally {
      this.pendingPuts--;
    }
  }

  async getPart(name: string): Promise<Uint8Array> {
    return this.partOrThrow(name).slice();
  }

  async getPartRange(name: string, offset: number, length: number): Promise<Uint8Array> {
    return this.partOrThrow(name).slice(offset, offset + length);
  }

  async listParts(): Promise<string[]> {
    return [...this.parts.keys()].sort();
  }

  async deletePart(name: string): Promise<void> {
    this.parts.delete(name);
  }

  async readManifest(): Promise<StoredManifest | undefined> {
    return this.manifest === undefined
      ? undefined
      : { bytes: this.manifest.bytes.slice(), revision: this.manifest.revision };
  }

  async readPreviousManifests(): Promise<StoredManifest[]> {
    return this.previous.map((m) => ({ bytes: m.bytes.slice(), revision: m.revision }));
  }

  async commitManifest(bytes: Uint8Array, expectedRevision: number | undefined): Promise<number> {
    if (this.gate !== undefined) await this.gate;
    const error = this.nextCommitError;
    if (error !== undefined) {
      this.nextCommitError = undefined;
      throw error;
    }
    const actual = this.manifest?.revision;
    if (actual !== expectedRevision) {
      throw new FencedError(this.description, { expectedRevision, actualRevision: actual });
    }
    this.revision++;
    if (this.manifest !== undefined) this.previous = [this.manifest, ...this.previous].slice(0, 2);
    this.manifest = { bytes: bytes.slice(), revision: this.revision };
    return this.revision;
  }

  async clear(): Promise<void> {
    this.parts.clear();
    this.manifest = undefined;
    this.previous = [];
  }

  async close(): Promise<void> {}
}

let counter = 0;

/** Creates an empty in-memory store. */
export function createMemoryCheckpointStore(options?: { description?: string }): MemoryCheckpointStore {
  return new MemoryStore(options?.description ?? `memory:${++counter}`);
}
