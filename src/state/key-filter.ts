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
    const a = mixA(hash) & mask;
    const b = mixB(hash) & mask;
    const c = mixC(hash) & mask;
    bits[a >>> 5]! |= 1 << (a & 31);
    bits[b >>> 5]! |= 1 << (b & 31);
    bits[c >>> 5]! |= 1 << (c & 31);
    this.count++;
  }

  /** False only when no key with this hash was added. */
  mayHold(hash: number): boolean {
    const segments = this.segments;
    if (segments.length === 0) return false;
    // The three positions in the largest segment; a smaller one takes their low bits (its mask).
    const a = mixA(hash);
    const b = mixB(hash);
    const c = mixC(hash);
    // Newest first: the largest segment holds most keys.
    for (let s = segments.length - 1; s >= 0; s--) {
      const bits = segments[s]!;
      const mask = this.masks[s]!;
      const pa = a & mask;
      if ((bits[pa >>> 5]! & (1 << (pa & 31))) === 0) continue;
      const pb = b & mask;
      if ((bits[pb >>> 5]! & (1 << (pb & 31))) === 0) continue;
      const pc = c & mask;
      if ((bits[pc >>> 5]! & (1 << (pc & 31))) !== 0) return true;
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

// Three bit positions per key, each from a remix of the whole 32-bit murmur3 hash (xorshift-multiply
// rounds, bijections, with constants of their own). Not the hash's bits as they are: its low bits are
// the key group (hash % maxKeyGroups), and a partition's keys share the top bits of their key groups'
// range, which with many key groups reach into any fixed bit window; and a shifted hash has too few
// bits for the largest segments (2^26 bits and more).
function mixA(hash: number): number {
  let h = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return h ^ (h >>> 16);
}

function mixB(hash: number): number {
  let h = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return h ^ (h >>> 15);
}

function mixC(hash: number): number {
  let h = Math.imul(hash ^ (hash >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return h ^ (h >>> 16);
}
