// Encodes the many short strings of the output path (each output's bytes and its headers) into
// views of shared buffers. TextEncoder.encode gives every string an ArrayBuffer of its own, which
// the garbage collector then tracks one by one; here one slab serves hundreds of strings.
//
// A view keeps its whole slab alive, so this suits bytes that live briefly and alike (an output
// until its publish is acknowledged), not bytes kept for long next to short-lived ones.

const DEFAULT_SLAB_BYTES = 64 * 1024;
const encoder = new TextEncoder();

export class Utf8Slab {
  /** Written through Buffer.write (the fastest UTF-8 encoder into place); viewed as plain bytes. */
  private slab: Buffer;
  private bytes: Uint8Array;
  private offset = 0;

  constructor(private readonly slabBytes = DEFAULT_SLAB_BYTES) {
    this.slab = Buffer.allocUnsafeSlow(slabBytes);
    this.bytes = new Uint8Array(this.slab.buffer, this.slab.byteOffset, slabBytes);
  }

  /** The UTF-8 bytes of `text`, in a view that is never written again. */
  encode(text: string): Uint8Array {
    // UTF-16 code units take at most 3 UTF-8 bytes each (a surrogate pair: 4 for 2).
    const worst = text.length * 3;
    // A string too large for a slab gets a buffer of its own rather than wasting slabs.
    if (worst > this.slabBytes >>> 2) return encoder.encode(text);
    if (this.offset + worst > this.slabBytes) {
      // The old slab lives on for as long as views of it do; nothing is written to it again.
      this.slab = Buffer.allocUnsafeSlow(this.slabBytes);
      this.bytes = new Uint8Array(this.slab.buffer, this.slab.byteOffset, this.slabBytes);
      this.offset = 0;
    }
    const start = this.offset;
    this.offset += this.slab.write(text, start, 'utf8');
    return this.bytes.subarray(start, this.offset);
  }
}
