/** `scheme://user:password@`, `scheme://token@`: the userinfo of a URL, anywhere in a text. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

/**
 * Replaces the credentials of every URL in `text` (`nats://app:s3cret@host` → `nats://***@host`), so
 * a log line or an error message never carries them.
 */
export function redactCredentials(text: string): string {
  return text.includes('@') ? text.replace(URL_USERINFO, '$1***@') : text;
}
