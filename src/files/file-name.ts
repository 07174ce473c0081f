import { FileNameError } from './files-errors.ts';

/** Longest name, in UTF-8 bytes (a path segment may have at most 255, as on common file systems). */
export const MAX_FILE_NAME_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;

/**
 * Checks that `name` is a relative path that stays inside the area on every platform, and returns
 * it. Refused: non-strings, empty names, a leading `/`, `\` (a separator on Windows), a drive
 * (`C:`), empty segments (`a//b`, a trailing `/`), `.` and `..` segments, NUL and control
 * characters, names longer than 1024 bytes or with a segment longer than 255.
 * @throws FileNameError saying which rule the name breaks.
 */
export function checkFileName(name: unknown): string {
  if (typeof name !== 'string')
    throw new FileNameError(name, `it is a ${name === null ? 'null' : typeof name}, not a string`);
  if (name === '') throw new FileNameError(name, 'it is empty');
  if (Buffer.byteLength(name, 'utf8') > MAX_FILE_NAME_BYTES)
    throw new FileNameError(name, `it is longer than ${MAX_FILE_NAME_BYTES} bytes`);
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new FileNameError(name, 'it contains NUL or a control character');
  if (name.includes('\\')) throw new FileNameError(name, "it contains '\\' (use '/' between folders)");
  if (name.startsWith('/')) throw new FileNameError(name, 'it is an absolute path');
  if (/^[A-Za-z]:/.test(name)) throw new FileNameError(name, 'it starts with a drive letter');
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)) {
    throw new FileNameError(name, 'it is not well-formed Unicode (a lone surrogate)');
  }
  for (const segment of name.split('/')) {
    if (segment === '') throw new FileNameError(name, "it has an empty segment ('//' or a trailing '/')");
    if (segment === '.' || segment === '..')
      throw new FileNameError(name, `it has a '${segment}' segment (names cannot leave or re-enter folders)`);
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES)
      throw new FileNameError(name, `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
  return name;
}
