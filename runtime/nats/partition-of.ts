// Which input partition a producer publishes a key to. It is the hash nats-server's subject mapping
// function `{{partition(n, ...)}}` computes (32-bit FNV-1a of the token bytes, modulo n), so a
// producer that calls partitionOf and a server-side mapping put the same key in the same partition.
// No imports: producers load this through `stator/client` without the runtime.

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/**
 * The input partition of `key` among `partitions`: FNV-1a (32 bit) of the key's bytes, modulo
 * `partitions`. A string is hashed as its UTF-8 bytes; a Uint8Array as it is. Publish the message to
 * `<job>.<source>.<partition>` (e.g. `wordcount.in.2`) for a job run with that many input partitions.
 *
 * It equals nats-server's `{{partition(partitions, 1)}}` for a subject whose mapped wildcard token is
 * the key (verified on nats-server 2.9.10, test/scale-out/partition-mapping.test.ts): keys that are
 * valid subject tokens can be partitioned by the server instead (docs/scale-out.md).
 *
 * @throws RangeError when `partitions` is not an integer in 1..2^32-1.
 */
export function partitionOf(key: string | Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 0xffffffff) {
    throw new RangeError(`partitions must be an integer in 1..4294967295, got ${String(partitions)}`);
  }
  const bytes = typeof key === 'string' ? encoder.encode(key) : key;
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, FNV_PRIME);
  return (hash >>> 0) % partitions;
}
