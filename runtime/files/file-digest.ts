import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

// Digests in the NATS Object Store's format (ADR-20): "SHA-256=" + padded base64url of SHA-256.
// Both modes use it, so a digest read in one mode means the same in the other.

const PREFIX = 'SHA-256=';

/** The Object Store digest string of a finished hash. */
export function digestString(hash: Hash): string {
  return PREFIX + hash.digest('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The digest of `bytes`. */
export function digestOf(bytes: Uint8Array): string {
  return digestString(createHash('sha256').update(bytes));
}

/** The digest of a local file's contents (streamed). */
export async function digestOfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return digestString(hash);
}

/** The digest as lowercase hex (file-name safe), or undefined when it is not a SHA-256 digest string. */
export function digestHex(digest: string): string | undefined {
  if (!digest.startsWith(PREFIX)) return undefined;
  const bytes = Buffer.from(digest.slice(PREFIX.length).replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}
