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
/** Misses of a full RouteTable.recent before it starts over. */
const RECENT_REFILL_MISSES = 8 * RECENT_MATCHES;

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

/**
 * Routes by method and path pattern (a handful of routes). Each method's routes are kept most
 * specific first, so a request takes the first that matches.
 */
export class RouteTable<H> {
  private readonly entries: Entry<H>[] = [];
  /** Each method's entries, most specific first (in the order added among equals). */
  private readonly byMethod = new Map<string, Entry<H>[]>();
  /**
   * Matches of paths seen before, by method and path (a client repeats a few paths: every save of a
   * store posts to one). Once full it takes no more until RECENT_REFILL_MISSES misses later, when it
   * starts over: paths that each come once (a read per key) neither evict the frequent ones at every
   * request nor make it refill itself all the time.
   */
  private readonly recent = new Map<string, Map<string, RouteMatch<H>>>();
  private recentSize = 0;
  private missesWhileFull = 0;

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
    this.index();
    return () => {
      const at = this.entries.indexOf(entry);
      if (at >= 0) this.entries.splice(at, 1);
      this.index();
    };
  }

  /**
   * The route for `method` and `path` (the raw, still percent-encoded path, no query), or the
   * methods routed for that path when none is for `method` (empty when the path is unknown).
   * @throws URIError when a parameter is not valid percent-encoding.
   */
  match(method: string, path: string): RouteMatch<H> | { readonly allowed: readonly string[] } {
    const recent = this.recent.get(method);
    const known = recent?.get(path);
    if (known !== undefined) return known;
    const candidates = this.byMethod.get(method);
    if (candidates !== undefined)
      for (const entry of candidates) {
        const params = matchPath(entry.segments, path, true);
        if (params === undefined) continue;
        const found = { handler: entry.handler, pattern: entry.pattern, params };
        this.remember(recent, method, path, found);
        return found;
      }
    const allowed = new Set<string>();
    for (const entry of this.entries)
      if (matchPath(entry.segments, path, false) !== undefined) allowed.add(entry.method);
    return { allowed: [...allowed].sort() };
  }

  private remember(
    recent: Map<string, RouteMatch<H>> | undefined,
    method: string,
    path: string,
    found: RouteMatch<H>,
  ): void {
    if (this.recentSize >= RECENT_MATCHES) {
      if (++this.missesWhileFull < RECENT_REFILL_MISSES) return;
      this.forget();
      recent = undefined;
    }
    if (recent === undefined) this.recent.set(method, (recent = new Map()));
    // Frozen: a remembered match answers every later request for the path.
    Object.freeze(found.params);
    recent.set(path, Object.freeze(found));
    this.recentSize++;
  }

  private forget(): void {
    this.recent.clear();
    this.recentSize = 0;
    this.missesWhileFull = 0;
  }

  private index(): void {
    this.forget();
    this.byMethod.clear();
    for (const entry of this.entries) {
      const list = this.byMethod.get(entry.method);
      if (list === undefined) this.byMethod.set(entry.method, [entry]);
      else list.push(entry);
    }
    // Stable: among equally specific patterns (none can match the same paths) the first added stays first.
    for (const list of this.byMethod.values())
      list.sort((a, b) => (moreSpecific(a.segments, b.segments) ? -1 : moreSpecific(b.segments, a.segments) ? 1 : 0));
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

/** No parameters (a literal pattern's match): one frozen object for all. */
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Whether `path` matches `segments`, and with `collect` its parameters (else NO_PARAMS). Scans the
 * path in place (no split: a key's path is new to each request), once; parameters are decoded only
 * when the whole path matched, so a route tried and not taken throws nothing.
 * @throws URIError (collecting only) when a parameter of the matched path is not valid percent-encoding.
 */
function matchPath(
  segments: readonly Segment[],
  path: string,
  collect: boolean,
): Readonly<Record<string, string>> | undefined {
  let params: Record<string, string> | undefined;
  // Where the next `/`-separated part starts; past the end: no part is left.
  let at = 1;
  for (const segment of segments) {
    if (at > path.length) return undefined;
    if (segment.kind === 'rest') {
      const rest = path.slice(at);
      if (!/[^/]/.test(rest)) return undefined;
      if (!collect) return NO_PARAMS;
      const decoded = decodeAll(params ?? {});
      decoded[segment.name] = rest.split('/').map(decode).join('/');
      return decoded;
    }
    let end = path.indexOf('/', at);
    if (end < 0) end = path.length;
    if (segment.kind === 'literal') {
      if (end - at !== segment.text.length || !path.startsWith(segment.text, at)) return undefined;
    } else {
      if (end === at) return undefined;
      if (collect) (params ??= {})[segment.name] = path.slice(at, end);
    }
    at = end + 1;
  }
  if (at !== path.length + 1) return undefined;
  return params === undefined ? NO_PARAMS : decodeAll(params);
}

/** Percent-decodes the `:name` parameters collected, in place. */
function decodeAll(params: Record<string, string>): Record<string, string> {
  for (const name in params) params[name] = decode(params[name]!);
  return params;
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
