import type { RouteOptions } from 'fastify';

/**
 * The methods each route path answers, recorded as routes are added (an `onRoute` hook), so that a
 * method a known path does not answer gets 405 with `Allow` (RFC 9110 §15.5.6), and only an
 * unknown path 404.
 */
export class RouteMethods {
  readonly #paths = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  record(route: RouteOptions): void {
    let path = this.#paths.get(route.url);
    if (!path) {
      path = { pattern: pathPattern(route.url), methods: new Set() };
      this.#paths.set(route.url, path);
    }
    for (const method of [route.method].flat()) path.methods.add(method.toUpperCase());
  }

  /** The methods the path of `url` answers, sorted; undefined when no route has this path. */
  allowed(url: string): string[] | undefined {
    const path = url.split('?', 1)[0] as string;
    for (const { pattern, methods } of this.#paths.values()) {
      if (pattern.test(path)) return [...methods].sort();
    }
    return undefined;
  }
}

/** `/v1/comparisons/:id/verdict` → a pattern that matches it with any one segment for `:id`. */
function pathPattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}
