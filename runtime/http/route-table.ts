import { ConfigError } from '../errors.ts';

/**
 * A path pattern: `/`-separated segments, each literal text, `:name` (one non-empty segment) or,
 * last only, `*name` (the rest of the path: one or more segments, `/` kept). Parameter values are
 * percent-decoded. When several patterns match a path, the most specific wins, comparing segment by
 * segment: literal over `:name` over `*name` (so `/v1.0/state/:store/bulk` beats
 * `/v1.0/state/:store/:key` for `.../bulk`, whatever the order of registration).
 */
export type PathPattern = string;

type Segment =
  { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'param' | 'rest'; readonly name: string };

const rank = { literal: 0, param: 1, rest: 2 } as const;

/** Matches remembered at most (see RouteTable.recent). */
const RECENT_MATCHES = 256;

interface Entry<H> {
  readonly method: string;
  readonly pattern: string;
  readonly segments: readonly Segment[];
  readonly handler: H;
}

/** A match: the handler and the path's parameters. */
export interface RouteMatch<H> {
  readonly handler: H;
  readonly pattern: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Routes by method and path pattern (a handful of routes: a linear scan is the fast path). */
export class RouteTable<H> {
  private readonly entries: Entry<H>[] = [];
  /**
   * Recent answers of match() by method and path (a client repeats a few paths: every save of a
   * store posts to one), forgotten whenever a route is added or removed, and all at once when full.
   */
  private readonly recent = new Map<string, RouteMatch<H> | { readonly allowed: readonly string[] }>();

  /**
   * Adds a route; returns its removal.
   * @throws ConfigError when the pattern is malformed or `method pattern` is already routed.
   */
  add(method: string, pattern: PathPattern, handler: H): () => void {
    const segments = compile(pattern);
    const shape = shapeOf(segments);
    const upper = method.toUpperCase();
    if (!/^[A-Z]+$/.test(upper))
      throw new ConfigError(`HTTP route ${method} ${pattern}: ${JSON.stringify(method)} is not a method name`);
    const clash = this.entries.find((e) => e.method === upper && shapeOf(e.segments) === shape);
    if (clash !== undefined)
      throw new ConfigError(
        `HTTP route ${upper} ${pattern} is already routed (as ${clash.pattern}): one handler per method and path`,
      );
    const entry: Entry<H> = { method: upper, pattern, segments, handler };
    this.entries.push(entry);
    this.recent.clear();
    return () => {
      const at = this.entries.indexOf(entry);
      if (at >= 0) this.entries.splice(at, 1);
      this.recent.clear();
    };
  }

  /**
   * The route for `method` and `path` (the raw, still percent-encoded path, no query), or the
   * methods routed for that path when none is for `method` (empty when the path is unknown).
   * @throws URIError when a parameter is not valid percent-encoding.
   */
  match(method: string, path: string): RouteMatch<H> | { readonly allowed: readonly string[] } {
    const id = `${method} ${path}`;
    let found = this.recent.get(id);
    if (found === undefined) {
      found = this.find(method, path);
      if (this.recent.size >= RECENT_MATCHES) this.recent.clear();
      this.recent.set(id, found);
    }
    return found;
  }

  private find(method: string, path: string): RouteMatch<H> | { readonly allowed: readonly string[] } {
    const parts = path.split('/').slice(1);
    let best: Entry<H> | undefined;
    let bestParams: Record<string, string> | undefined;
    for (const entry of this.entries) {
      if (entry.method !== method || (best !== undefined && !moreSpecific(entry.segments, best.segments))) continue;
      const params = matchSegments(entry.segments, parts);
      if (params === undefined) continue;
      best = entry;
      bestParams = params;
    }
    if (best === undefined) {
      const allowed = new Set<string>();
      for (const entry of this.entries)
        if (matchSegments(entry.segments, parts) !== undefined) allowed.add(entry.method);
      return Object.freeze({ allowed: Object.freeze([...allowed].sort()) });
    }
    // Frozen: the same match answers every request for the path.
    return Object.freeze({ handler: best.handler, pattern: best.pattern, params: Object.freeze(bestParams!) });
  }
}

function compile(pattern: string): Segment[] {
  const bad = (why: string): never => {
    throw new ConfigError(`HTTP route pattern ${JSON.stringify(pattern)}: ${why}`);
  };
  if (!pattern.startsWith('/')) bad('must start with /');
  if (pattern === '/') return [{ kind: 'literal', text: '' }];
  const names = new Set<string>();
  return pattern
    .slice(1)
    .split('/')
    .map((text, index, all): Segment => {
      const sigil = text[0];
      if (sigil === ':' || sigil === '*') {
        const name = text.slice(1);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) bad(`${JSON.stringify(text)} needs a parameter name`);
        if (names.has(name)) bad(`parameter ${name} appears twice`);
        names.add(name);
        if (sigil === '*' && index !== all.length - 1) bad(`${text} must be the last segment`);
        return { kind: sigil === ':' ? 'param' : 'rest', name };
      }
      if (text === '' && index !== all.length - 1) bad('has an empty segment');
      return { kind: 'literal', text };
    });
}

/** Two patterns that match the same paths (differing only in parameter names) have one shape. */
function shapeOf(segments: readonly Segment[]): string {
  return segments.map((s) => (s.kind === 'literal' ? `=${s.text}` : s.kind)).join('/');
}

function matchSegments(segments: readonly Segment[], parts: readonly string[]): Record<string, string> | undefined {
  // A path of another length cannot match a pattern without a rest (most of those tried).
  if (parts.length !== segments.length && segments.at(-1)?.kind !== 'rest') return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i];
    if (part === undefined) return undefined;
    switch (segment.kind) {
      case 'literal':
        if (part !== segment.text) return undefined;
        break;
      case 'param':
        if (part === '') return undefined;
        params[segment.name] = decode(part);
        break;
      case 'rest': {
        const rest = parts.slice(i);
        if (rest.every((p) => p === '')) return undefined;
        params[segment.name] = rest.map(decode).join('/');
        return params;
      }
    }
  }
  return parts.length === segments.length ? params : undefined;
}

/** Percent-decodes a segment (most have nothing to decode). @throws URIError on malformed encoding. */
function decode(part: string): string {
  return part.includes('%') ? decodeURIComponent(part) : part;
}

function moreSpecific(a: readonly Segment[], b: readonly Segment[]): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const diff = rank[a[i]!.kind] - rank[b[i]!.kind];
    if (diff !== 0) return diff < 0;
  }
  return a.length > b.length;
}
