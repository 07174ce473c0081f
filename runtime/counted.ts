/**
 * `count` with its noun in the number it needs, for log lines and command output: `1 message`,
 * `2 messages`, `0 dead letters`. `plural` for nouns that do not take an `s`.
 */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
