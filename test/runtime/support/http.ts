// Finds the HTTP server of a `stator run --http 127.0.0.1:0` child from its log.
import type { ChildProcess } from 'node:child_process';

/** Resolves with the server's URL once the child logs `HTTP server listening on <url>`. */
export function httpUrlOf(child: ChildProcess, limitMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const finish = (error: Error | undefined, url?: string): void => {
      clearTimeout(guard);
      child.stderr!.off('data', onData);
      child.off('close', onClose);
      if (error === undefined) resolve(url!);
      else reject(error);
    };
    const onData = (chunk: Buffer | string): void => {
      seen += chunk.toString();
      const match = /HTTP server listening on (http:\/\/\S+)/.exec(seen);
      if (match !== null) finish(undefined, match[1]!);
    };
    const onClose = (): void => finish(new Error(`process exited before its HTTP server listened:\n${seen}`));
    const guard = setTimeout(() => finish(new Error(`no HTTP server after ${limitMs} ms:\n${seen}`)), limitMs);
    child.stderr!.on('data', onData);
    child.once('close', onClose);
  });
}
