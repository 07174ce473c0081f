import { hash } from 'node:crypto';

/**
 * A key's ETag: a digest of the key and its cells as a checkpoint stores them (every namespace; timers and
 * holds excluded), so it changes with every change of the key's state, is the same in every process
 * and survives checkpoint/restore without being stored. Undefined when the key has no state.
 * A state that returns to exactly an earlier content gets the earlier ETag back; a first-write with
 * it then succeeds, which is right for a value-based precondition (the state is what the client read).
 */
export function etagOf(keyBytes: Uint8Array, cells: Uint8Array | undefined): string | undefined {
  if (cells === undefined) return undefined;
  // The key is digested too: two keys with equal state do not share an ETag. One-shot (no Hash
  // object): the digest of the concatenation is that of the two updates.
  const bytes = new Uint8Array(keyBytes.length + cells.length);
  bytes.set(keyBytes);
  bytes.set(cells, keyBytes.length);
  return hash('sha256', bytes, 'base64url').slice(0, 22);
}

const ETAG = /^[A-Za-z0-9_-]{22}$/;

/**
 * An ETag as a client sent it (body field or If-Match: quotes and a weak W/ prefix dropped), or undefined when it is
 * not one of ours.
 */
export function parseETag(text: string): string | undefined {
  let t = text.trim();
  if (t.startsWith('W/')) t = t.slice(2);
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) t = t.slice(1, -1);
  return ETAG.test(t) ? t : undefined;
}
