import { readFile } from 'node:fs/promises';
import type { HttpResponse } from '../http/index.ts';

/** The page's files, shipped beside this module (the build copies runtime/status/page/ into dist/). */
const PAGE_FILES = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/status.css': { file: 'status.css', type: 'text/css; charset=utf-8' },
  '/status.js': { file: 'status.js', type: 'text/javascript; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
} as const;

export type StatusPagePath = keyof typeof PAGE_FILES;
export const STATUS_PAGE_PATHS = Object.keys(PAGE_FILES) as StatusPagePath[];

const pageDir = new URL('./page/', import.meta.url);

// The page loads only its own files and fetches only status.json.
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
};

/**
 * Serves the status page (plain HTML, CSS and JavaScript: no build step). The files are read once,
 * on first request.
 */
export class StatusPage {
  private readonly cache = new Map<StatusPagePath, Promise<Uint8Array>>();

  async respond(path: StatusPagePath): Promise<HttpResponse> {
    const { file, type } = PAGE_FILES[path];
    let body = this.cache.get(path);
    if (body === undefined) {
      body = readFile(new URL(file, pageDir));
      this.cache.set(path, body);
      // A failed read is not kept: the next request tries again.
      body.catch(() => this.cache.delete(path));
    }
    return { headers: { 'Content-Type': type, 'Cache-Control': 'no-cache', ...SECURITY_HEADERS }, body: await body };
  }
}
