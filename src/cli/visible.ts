/**
 * Values that differ but print the same on a terminal (NFC vs NFD, a non-breaking space, a
 * zero-width character, a tab, whitespace at the ends) would make a report example look like a
 * false alarm. These helpers find such pairs, say what differs, and print them with escapes.
 */

interface Features {
  decomposed: boolean;
  zeroWidth: boolean;
  oddSpace: boolean;
  tab: boolean;
  edgeSpace: boolean;
}

const FEATURE_NAMES: Record<keyof Features, string> = {
  decomposed: 'Unicode normalization (NFC vs NFD)',
  zeroWidth: 'zero-width characters',
  oddSpace: 'non-breaking or other special spaces',
  tab: 'tabs',
  edgeSpace: 'leading/trailing whitespace',
};

const FORMAT_CHARS = /\p{Cf}/gu;
const SPECIAL_SPACES = /[^\S \t\n\r]/u;

/** What a string looks like on a terminal: composed, without invisible characters, spaces folded. */
function skeletonOf(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.normalize('NFC').replace(FORMAT_CHARS, '').replace(/\s+/gu, ' ').trim();
  }
  if (Array.isArray(value)) return value.map(skeletonOf);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, member]) => [name, skeletonOf(member)]));
  }
  return value;
}

function featuresOf(value: unknown, found: Features): Features {
  if (typeof value === 'string') {
    found.decomposed ||= value !== value.normalize('NFC');
    found.zeroWidth ||= /\p{Cf}/u.test(value);
    found.oddSpace ||= SPECIAL_SPACES.test(value);
    found.tab ||= value.includes('\t');
    found.edgeSpace ||= value !== value.trim();
  } else if (value !== null && typeof value === 'object') {
    for (const member of Object.values(value)) featuresOf(member, found);
  }
  return found;
}

const noFeatures = (): Features => ({
  decomposed: false,
  zeroWidth: false,
  oddSpace: false,
  tab: false,
  edgeSpace: false,
});

/**
 * What differs between two values that print the same, or undefined when they print differently
 * (or are the same).
 */
export function invisibleDifference(live: unknown, candidate: unknown): string | undefined {
  if (JSON.stringify(live) === JSON.stringify(candidate)) return undefined;
  if (JSON.stringify(skeletonOf(live)) !== JSON.stringify(skeletonOf(candidate))) return undefined;
  const a = featuresOf(live, noFeatures());
  const b = featuresOf(candidate, noFeatures());
  const names = (Object.keys(FEATURE_NAMES) as (keyof Features)[]).filter((name) => a[name] !== b[name]);
  return names.length > 0 ? names.map((name) => FEATURE_NAMES[name]).join(', ') : 'whitespace or invisible characters';
}

/** JSON text with every character outside printable ASCII escaped, so that nothing hides. */
export function escapedJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'undefined').replace(/[^\x20-\x7e]/gu, (char) => {
    const code = char.codePointAt(0) ?? 0;
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
