/**
 * Beam's coder contexts. A value encoded in the OUTER context is the whole of its byte string, so a
 * coder may omit a length and read to the end; in the NESTED context more bytes may follow, so it
 * must be self-delimiting. Only byte arrays, strings and composites whose last component is one of
 * them encode differently in the two contexts.
 */
export const Context = {
  OUTER: 'outer',
  NESTED: 'nested',
} as const;

export type Context = (typeof Context)[keyof typeof Context];
