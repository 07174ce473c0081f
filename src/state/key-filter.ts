/** Bits of the first segment; each next one has twice as many. */
const FIRST_SEGMENT_BITS = 1 << 16;
/** A segment takes one key per this many bits before the next one is started (about 1 % false positives each). */
const BITS_PER_KEY = 12;

/**
 * A Bloom filter of keys by their 32-bit murmur3 hash that grows with what it holds (a scalable
 * Bloom filter: segments of doubling size, keys added to the newest, a lookup asks each). It
 * never answers false for a key added; it answers true for about 1 % of the keys never added per
 * full segment. Its bytes are about BITS_PER_KEY / 8 per key, in typed arrays (off the V8 heap).
 */
export class KeyFilter {
  private segments: Int32Array[] = [];
  private masks: number[] = [];
  /** Keys the newest segment takes before the next one is started, and how many it has. */
  private capacity = 0;
  private count = 0;

  /**
   * Adds a key by its hash (murmur3 of its bytes). A key it may hold already is not added again (its
   * bits never clear), so a filter of keys that are written over and over grows with the keys, not
   * with the writes.
   */
  add(hash: number): void {
    if (this.mayHold(hash)) return;
    if (this.count >= this.capacity) this.grow();
    const bits = this.segments[this.segments.length - 1]!;
    const mask = this.masks[this.masks.length - 1]!;
    const a = bitA(hash, mask);
    const b = bitB(hash, mask);
    const c = bitC(hash, mask);
    bits[a >>> 5]! |= 1 << (a & 31);
    bits[b >>> 5]! |= 1 << (b & 31);
    bits[c >>> 5]! |= 1 << (c & 31);
    this.count++;
  }

  /** False only when no key with this hash was added. */
  mayHold(hash: number): boolean {
    const segments = this.segments;
    // Newest first: the largest segment holds most keys.
    for (let s = segments.length - 1; s >= 0; s--) {
      const bits = segments[s]!;
      const mask = this.masks[s]!;
      const a = bitA(hash, mask);
      if ((bits[a >>> 5]! & (1 << (a & 31))) === 0) continue;
      const b = bitB(hash, mask);
      if ((bits[b >>> 5]! & (1 << (b & 31))) === 0) continue;
      const c = bitC(hash, mask);
      if ((bits[c >>> 5]! & (1 << (c & 31))) !== 0) return true;
    }
    return false;
  }

  /** Bytes of its segments. */
  get bytes(): number {
    let n = 0;
    for (const bits of this.segments) n += bits.byteLength;
    return n;
  }

  private grow(): void {
    const bits = FIRST_SEGMENT_BITS * 2 ** this.segments.length;
    this.segments.push(new Int32Array(bits >>> 5));
    this.masks.push(bits - 1);
    this.capacity = Math.floor(bits / BITS_PER_KEY);
    this.count = 0;
  }
}

// Three bit positions per key from its 32-bit murmur3 hash. Its low bits are the key group
// (hash % maxKeyGroups), the same few values for all of one partition's keys: the first position
// takes the bits above them, the others remixes of the whole hash.
function bitA(hash: number, mask: number): number {
  return (hash >>> 7) & mask;
}

function bitB(hash: number, mask: number): number {
  let h = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
  h ^= h >>> 13;
  return (h >>> 3) & mask;
}

function bitC(hash: number, mask: number): number {
  let h = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  return (h >>> 2) & mask;
}
