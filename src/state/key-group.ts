import { StateError } from './state-errors.ts';

/** The default number of key groups: the most partitions a job can ever be scaled to. */
export const DEFAULT_MAX_KEY_GROUPS = 128;

/** MurmurHash3 x86 32-bit of `bytes` (seed 0): stable across processes and versions. */
export function murmur3(bytes: Uint8Array, seed = 0): number {
  let h = seed >>> 0;
  const n = bytes.length;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4)
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  const tail = n & 3;
  if (tail !== 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocks + 2]! << 16;
    if (tail >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    h = mixTail(h, k);
  }
  return finish(h, n);
}

/**
 * keyGroupFor of a string key's UTF-8 bytes (StringUtf8Coder's encoding) when it is all ASCII (its
 * bytes are then its char codes), with no encoding; -1 otherwise.
 */
export function asciiKeyGroupFor(s: string, maxKeyGroups: number): number {
  const h = asciiMurmur3(s);
  return h < 0 ? -1 : (h % maxKeyGroups) | 0;
}

/** murmur3 of a string's UTF-8 bytes when it is all ASCII (its bytes are its char codes), unencoded; else -1. */
export function asciiMurmur3(s: string): number {
  let h = 0;
  const n = s.length;
  const blocks = n & ~3;
  // Every char code ORed: above 0x7f once any is not ASCII (the hash is then not of its bytes).
  let codes = 0;
  for (let i = 0; i < blocks; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    codes |= c0 | c1 | c2 | c3;
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const tail = n & 3;
  if (tail !== 0) {
    let k = 0;
    for (let i = blocks + tail - 1; i >= blocks; i--) {
      const c = s.charCodeAt(i);
      codes |= c;
      k = (k << 8) | c;
    }
    h = mixTail(h, k);
  }
  return codes > 0x7f ? -1 : finish(h, n);
}

function mixBlock(h: number, k: number): number {
  h = mixTail(h, k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function mixTail(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  return h ^ k;
}

function finish(h: number, n: number): number {
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkMaxKeyGroups(maxKeyGroups: number): void {
  if (!Number.isInteger(maxKeyGroups) || maxKeyGroups < 1 || maxKeyGroups > 32768) {
    throw new StateError(`maxKeyGroups ${maxKeyGroups} must be an integer in [1, 32768]`);
  }
}

/**
 * The key group of a key: murmur3 of the key coder's OUTER bytes, modulo `maxKeyGroups`. The
 * runtime routes keys to partitions with this function, and checkpoints are split by it, so it must
 * never change. `| 0` changes no value (< 32768): it makes the result a small integer where the
 * remainder of a uint32 may be a heap number, and a key entry's keyGroup field would then hold
 * every entry's in a box of its own.
 */
export function keyGroupFor(keyBytes: Uint8Array, maxKeyGroups: number): number {
  return (murmur3(keyBytes) % maxKeyGroups) | 0;
}

/**
 * The partition that owns a key group: key groups are split into `parallelism` contiguous ranges
 * (Flink's computeOperatorIndexForKeyGroup), so rescaling moves whole ranges.
 */
export function partitionForKeyGroup(keyGroup: number, maxKeyGroups: number, parallelism: number): number {
  checkMaxKeyGroups(maxKeyGroups);
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > maxKeyGroups) {
    throw new StateError(`parallelism ${parallelism} must be an integer in [1, maxKeyGroups=${maxKeyGroups}]`);
  }
  if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup >= maxKeyGroups) {
    throw new StateError(`key group ${keyGroup} is outside [0, ${maxKeyGroups})`);
  }
  return Math.floor((keyGroup * parallelism) / maxKeyGroups);
}

/** The key groups [start, end) owned by `partition` (the inverse of partitionForKeyGroup). */
export function keyGroupRangeForPartition(
  partition: number,
  maxKeyGroups: number,
  parallelism: number,
): { start: number; end: number } {
  checkMaxKeyGroups(maxKeyGroups);
  const start = Math.ceil((partition * maxKeyGroups) / parallelism);
  const end = Math.ceil(((partition + 1) * maxKeyGroups) / parallelism);
  return { start, end };
}

export { checkMaxKeyGroups };
