// NATS mode's way to a key's owner: the partition this process runs, called directly, or the process
// that runs it, asked over NATS request/reply. So any process's HTTP server answers any key.
import { randomUUID } from 'node:crypto';
import { CoderUtils, StringUtf8Coder } from '../../coders/index.ts';
import { keyGroupFor, partitionForKeyGroup } from '../../src/state/index.ts';
import { asciiKeyGroupFor } from '../../src/state/key-group.ts';
import type { Job } from '../job/job.ts';
import type { JobStreamNames } from '../nats/stream-names.ts';
import type { NatsLink } from '../nats/connection.ts';
import { askOwner, assertFitsNatsMessage } from './owner-requests.ts';
import type { StateCommand, StateCommandResult } from './state-command.ts';
import type { KeyRead, LocalStateOwner, StateOwners } from './state-owner.ts';
import { spanningPartitions } from './state-owner.ts';
import type { StateStore } from './state-stores.ts';

export interface ForwardingStateOwnersOptions {
  readonly job: Job;
  readonly link: NatsLink;
  readonly names: JobStreamNames;
  /** The partitions this process runs (undefined: none, e.g. the CLI). */
  readonly local?: LocalPartitions;
  /** How long a forwarded request waits for an owner. @default 5000 */
  readonly timeoutMs?: number;
}

/** The partitions a process runs, each reached through the LocalStateOwner that runs it. */
export interface LocalPartitions {
  /** Whether the job runs in this process (strong reads are then the default). */
  readonly running: boolean;
  /** The owner running `partition` of `stage` here now, if any. */
  owning(stage: string, partition: number): LocalStateOwner | undefined;
}

export class ForwardingStateOwners implements StateOwners {
  private readonly timeoutMs: number;

  constructor(private readonly options: ForwardingStateOwnersOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  get running(): boolean {
    return this.options.local?.running ?? false;
  }

  partitionOf(store: StateStore, keyText: string): number {
    return keyPartition(this.options.job, store, keyText);
  }

  async read(store: StateStore, keyTexts: readonly string[]): Promise<KeyRead[]> {
    // One key (a GET): its partition's answer is the answer, one read per key in order.
    if (keyTexts.length === 1)
      return this.readPartition(store, keyPartition(this.options.job, store, keyTexts[0]!), keyTexts);
    const byPartition = this.byPartition(store, keyTexts);
    const reads = new Map<string, KeyRead>();
    await Promise.all(
      [...byPartition].map(async ([partition, keys]) => {
        for (const read of await this.readPartition(store, partition, keys)) reads.set(read.key, read);
      }),
    );
    return keyTexts.map((key) => reads.get(key) ?? { key });
  }

  /** Strong reads of keys of one partition: by its local owner, or asked of the process that runs it. */
  private readPartition(store: StateStore, partition: number, keys: readonly string[]): Promise<KeyRead[]> {
    const local = this.options.local?.owning(store.stage.name, partition);
    return local !== undefined
      ? local.read(store, keys, partition)
      : askOwner<KeyRead[]>(
          this.options.link,
          this.subject(store, partition),
          { op: 'read', store: store.name, keys },
          Date.now() + this.timeoutMs,
          `a strong read of ${store.name}`,
        );
  }

  write(
    store: StateStore,
    command: StateCommand,
    id: string | undefined,
    knownPartition?: number,
  ): Promise<StateCommandResult> {
    const partition = knownPartition ?? this.onePartition(store, command);
    const local = this.options.local?.owning(store.stage.name, partition);
    if (local !== undefined) {
      // The same bound as a forwarded request: the logged record is about this size. A UTF-8 byte
      // is at most 3 per UTF-16 unit, so a command well under the bound is not measured.
      const commandJson = JSON.stringify(command);
      const maxPayload = this.options.link.nc.info?.max_payload ?? Number.POSITIVE_INFINITY;
      if (commandJson.length * 3 + RECORD_OVERHEAD_BYTES > maxPayload)
        assertFitsNatsMessage(this.options.link, Buffer.byteLength(commandJson) + RECORD_OVERHEAD_BYTES, 'write');
      return local.write(store, command, id, partition, { commandJson });
    }
    return askOwner<StateCommandResult>(
      this.options.link,
      this.subject(store, partition),
      // Forwarded requests are retried after a lost answer: one id per request, applied once.
      { op: 'write', store: store.name, id: id ?? randomUUID(), command },
      Date.now() + this.timeoutMs,
      `a write to ${store.name}`,
    );
  }

  /** The one partition of a command's keys. @throws StateRequestError naming the keys when they span partitions. */
  private onePartition(store: StateStore, command: StateCommand): number {
    const byPartition = this.byPartition(
      store,
      command.ops.map((op) => op.key),
    );
    if (byPartition.size > 1) throw spanningPartitions(store, byPartition);
    return [...byPartition.keys()][0] ?? 0;
  }

  private subject(store: StateStore, partition: number): string {
    return this.options.names.stateRequestSubject(store.stage.name, partition);
  }

  private byPartition(store: StateStore, keyTexts: readonly string[]): Map<number, string[]> {
    return keysByPartition(this.options.job, store, keyTexts);
  }
}

/** Keys grouped by their partition. */
export function keysByPartition(job: Job, store: StateStore, keyTexts: readonly string[]): Map<number, string[]> {
  const byPartition = new Map<number, string[]>();
  for (const key of keyTexts) {
    const partition = keyPartition(job, store, key);
    byPartition.set(partition, [...(byPartition.get(partition) ?? []), key]);
  }
  return byPartition;
}

/** The key's partition, computed as the job routes its messages (key group, then partition). */
export function keyPartition(job: Job, store: StateStore, keyText: string): number {
  const { maxKeyGroups } = job;
  const coder = store.stage.keyCoder;
  const key = store.parseKey(keyText);
  // A string key in ASCII: its group from its chars, which are its UTF-8 bytes (nothing encoded).
  let keyGroup = coder instanceof StringUtf8Coder ? asciiKeyGroupFor(key as string, maxKeyGroups) : -1;
  if (keyGroup < 0) keyGroup = keyGroupFor(CoderUtils.encodeToByteArray(coder, key), maxKeyGroups);
  return partitionForKeyGroup(keyGroup, maxKeyGroups, store.stage.parallelism);
}

/** Room for a record's other fields and headers besides the command. */
const RECORD_OVERHEAD_BYTES = 1024;
