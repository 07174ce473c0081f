// A KV key's latest entry read from its bucket stream's leader. kv.get uses direct gets when the
// bucket allows them (nats.js creates buckets so), and on a replicated bucket any replica may answer
// a direct get, including one that has not applied the latest write yet. Where a read decides
// something (a compare-and-set revision, whether a holder is still alive), read from the leader:
// STREAM.MSG.GET with last_by_subj is answered by the stream's leader only.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { natsJetStream } from '../deferred-packages.ts';

/** The latest entry of a key, as the bucket stream's leader holds it. */
export interface LeaderKvEntry {
  readonly key: string;
  /** The stream sequence of the entry: the revision kv.update/put(previousSeq) compare against. */
  readonly revision: number;
  readonly operation: 'PUT' | 'DEL' | 'PURGE';
  /** The value; empty for a delete or purge marker. */
  readonly value: Uint8Array;
}

/** The latest entry of `key` in `bucket`, or null when the key was never written (or was purged away). */
export async function leaderKvGet(jsm: JetStreamManager, bucket: string, key: string): Promise<LeaderKvEntry | null> {
  const stored = await jsm.streams.getMessage(`KV_${bucket}`, { last_by_subj: `$KV.${bucket}.${key}` });
  if (stored === null) return null;
  const marker = stored.header?.get('KV-Operation') ?? '';
  const operation = marker === 'DEL' || marker === 'PURGE' ? marker : 'PUT';
  return { key, revision: stored.seq, operation, value: operation === 'PUT' ? stored.data : new Uint8Array(0) };
}

/** Reads keys of one bucket from its stream's leader (see leaderKvGet). */
export type LeaderKvRead = (key: string) => Promise<LeaderKvEntry | null>;

/**
 * A LeaderKvRead of `bucket` over `nc`. Makes no request itself: jetstreamManager's default check (an
 * account info request, which only a cluster's meta leader answers) times out while a server is down
 * or the cluster is slow, and its callers, who created the bucket already, retry their reads instead.
 */
export async function leaderKvReader(nc: NatsConnection, bucket: string): Promise<LeaderKvRead> {
  const jsm = await natsJetStream().jetstreamManager(nc, { checkAPI: false });
  return (key) => leaderKvGet(jsm, bucket, key);
}
