import { isNumberLeaf, parseExact } from './exact-json.js';
import { childPath, elementPath, subtreeMatcher } from './paths.js';
import type { DiffSample, RecordPair } from './samples.js';

export const REDACTED = '***';

/** The `redact` entry that masks every value: only field paths, kinds and positions remain. */
export const EVERY_VALUE = '*';

/**
 * Masks what a comparison's `redact` setting hides in samples. Called as a function it returns a
 * copy of a record (or of the value found at `basePath`) with every value under a redacted path
 * replaced by `***`; with `*` every value is, while members and array elements stay, so the paths
 * still show.
 */
export interface Redactor {
  (value: unknown, basePath?: string): unknown;
  /**
   * The text of an invalid record, redacted as JSON when it parses. Text that does not parse (or
   * was cut short) cannot be redacted by path, so with any redaction it is masked whole.
   */
  text(raw: string): string;
  /** A record's key: masked with `*` or when a redacted path covers a key field. */
  key(key: string): string;
}

function parsed(text: string): { value: unknown } | undefined {
  try {
    JSON.parse(text); // throws for text cut short, which parseExact would hand back as a string
    return { value: parseExact(text) };
  } catch {
    return undefined;
  }
}

export function redactor(globs: readonly string[], keyPaths: readonly string[] = []): Redactor {
  const everything = globs.includes(EVERY_VALUE);
  const isRedacted = everything ? () => true : subtreeMatcher(globs);
  const active = globs.length > 0;
  const keyMasked = keyPaths.some((path) => isRedacted(path));
  const walk = (value: unknown, path: string): unknown => {
    if (value === undefined) return undefined;
    // `*` masks leaves only: the record's shape is what a team without access to records may see.
    const leaf = value === null || typeof value !== 'object' || isNumberLeaf(value);
    if (everything ? leaf : path !== '' && isRedacted(path)) return REDACTED;
    if (Array.isArray(value)) return value.map((item) => walk(item, elementPath(path)));
    if (value !== null && typeof value === 'object' && !isNumberLeaf(value)) {
      return Object.fromEntries(Object.entries(value).map(([name, v]) => [name, walk(v, childPath(path, name))]));
    }
    return value;
  };
  const redact = (value: unknown, basePath = '') => (active ? walk(value, basePath) : value);
  return Object.assign(redact, {
    text(raw: string): string {
      if (!active) return raw;
      const json = parsed(raw);
      if (json === undefined) return REDACTED;
      const shown = walk(json.value, '');
      return typeof shown === 'string' ? shown : JSON.stringify(shown);
    },
    key: (key: string) => (keyMasked ? REDACTED : key),
  });
}

function redactPair(redact: Redactor, pair: RecordPair): RecordPair {
  return {
    ...pair,
    ...('live' in pair ? { live: redact(pair.live) } : {}),
    ...('candidate' in pair ? { candidate: redact(pair.candidate) } : {}),
  };
}

/**
 * A sample's key and values as the redaction shows them; masking twice changes nothing, so stored
 * samples can be masked again when read, under the comparison's current setting. A raw text is
 * masked where it is read (`text`): cut short, it could not be redacted again.
 */
export function redactSample<T extends DiffSample>(redact: Redactor, sample: T): T {
  const at = sample.outcome === 'different' ? sample.field : undefined;
  return {
    ...sample,
    ...(sample.key === undefined ? {} : { key: redact.key(sample.key) }),
    ...('live' in sample ? { live: redact(sample.live, at) } : {}),
    ...('candidate' in sample ? { candidate: redact(sample.candidate, at) } : {}),
    ...(sample.pair === undefined ? {} : { pair: redactPair(redact, sample.pair) }),
  };
}
