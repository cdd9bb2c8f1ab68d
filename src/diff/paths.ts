/**
 * Canonical field paths: dotted object members, `[]` for array elements (`items[].price`), so
 * per-field statistics have one entry per field however long the arrays are.
 */
export function childPath(parent: string, member: string): string {
  return parent === '' ? member : `${parent}.${member}`;
}

export function elementPath(parent: string): string {
  return `${parent}[]`;
}

/** Splits a configured path (`customer.id`, `items[].price`) into its object members; `[]` is kept. */
export function pathSegments(path: string): string[] {
  return path.split('.').filter((segment) => segment !== '');
}

function globToRegExp(glob: string, coversSubtree: boolean): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (char === '*') {
      source += '[^.]*';
    } else {
      source += char.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  // Ignoring `meta.*` also ignores everything below it, such as `meta.a.b`.
  return new RegExp(coversSubtree ? `^${source}(?:$|\\.|\\[\\])` : `^${source}$`);
}

/** Matches paths against globs (`*` is one member name, `**` anything), optionally with what lies below them. */
function matcher(globs: readonly string[], coversSubtree: boolean): (path: string) => boolean {
  if (globs.length === 0) return () => false;
  const patterns = globs.map((glob) => globToRegExp(glob, coversSubtree));
  return (path) => patterns.some((pattern) => pattern.test(path));
}

/** For `ignore` and `redact`: a glob covers the paths it names and everything below them. */
export const subtreeMatcher = (globs: readonly string[]) => matcher(globs, true);

/** For per-path settings (tolerances, unordered arrays, timestamps): a glob covers exactly the paths it names. */
export const exactPathMatcher = (globs: readonly string[]) => matcher(globs, false);
