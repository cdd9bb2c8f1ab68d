import { isNumberLeaf } from './exact-json.js';
import { childPath, elementPath, subtreeMatcher } from './paths.js';

export const REDACTED = '***';

/**
 * Returns a copy of a record (or of the value found at `basePath`) with every value under a
 * redacted path replaced by `***`, so stored samples and API answers never show them.
 */
export function redactor(globs: readonly string[]): (value: unknown, basePath?: string) => unknown {
  const isRedacted = subtreeMatcher(globs);
  if (globs.length === 0) return (value) => value;
  const walk = (value: unknown, path: string): unknown => {
    if (path !== '' && isRedacted(path)) return value === undefined ? undefined : REDACTED;
    if (Array.isArray(value)) return value.map((item) => walk(item, elementPath(path)));
    if (value !== null && typeof value === 'object' && !isNumberLeaf(value)) {
      return Object.fromEntries(Object.entries(value).map(([name, v]) => [name, walk(v, childPath(path, name))]));
    }
    return value;
  };
  return (value, basePath = '') => walk(value, basePath);
}
