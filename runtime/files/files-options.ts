import { DEFAULT_FILES_MAX_BYTES } from '../defaults.ts';
import { ConfigError } from '../errors.ts';

/** The area's size limit: `maxBytes` or the default, checked. */
export function resolveMaxBytes(maxBytes: number | undefined): number {
  const resolved = maxBytes ?? DEFAULT_FILES_MAX_BYTES;
  if (!Number.isSafeInteger(resolved) || resolved < 1)
    throw new ConfigError(`the file area's maxBytes must be a positive integer of bytes, got ${maxBytes}`);
  return resolved;
}
