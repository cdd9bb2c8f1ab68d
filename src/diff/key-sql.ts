import { KEY_TAG } from '../align/keys.js';
import { pathSegments } from './paths.js';
import { identifier, literal } from './sql.js';

/**
 * How batch and streaming read a record's key and event time in DuckDB (SPEC §2, §3): the same SQL
 * for both, so both align and sample the same keys.
 */

const member = (expression: string, name: string) => `(${expression}).${identifier(name)}`;

/**
 * The member `name` of the JSON value `x`, the last of that name when it appears more than once
 * (as JSON.parse reads it, and so the compared values).
 */
function lastMember(x: string, name: string): string {
  const quoted = literal(name);
  const pointer = literal(`/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`);
  const positions = `list_filter(list_transform(json_keys(v), lambda n, i: CASE WHEN n = ${quoted} THEN i END), lambda i: i IS NOT NULL)`;
  // The list binds x once: a chain of members would otherwise repeat every level's text.
  return `list_transform([${x}], lambda v: CASE WHEN len(${positions}) > 1
    THEN json_extract(v, '$.*')[list_last(${positions})] ELSE json_extract(v, ${pointer}) END)[1]`;
}

/** Every escaped spelling of the characters of a name: `\uXXXX` (hex digits in either case), and `\/`. */
function escapesOf(name: string): string[] {
  const spellings = new Set<string>();
  for (const char of new Set(name)) {
    for (let i = 0; i < char.length; i++) {
      let forms = [''];
      for (const digit of char.charCodeAt(i).toString(16).padStart(4, '0')) {
        const cases = [...new Set([digit, digit.toUpperCase()])];
        forms = forms.flatMap((form) => cases.map((c) => form + c));
      }
      for (const form of forms) spellings.add(`\\u${form}`);
    }
    if (char === '/') spellings.add('\\/');
  }
  return [...spellings];
}

/**
 * SQL true when the raw text `doc` may hold a member named like one of `segments` more than once,
 * or spell a character of one with an escape: its key is then read with the last member of each
 * name winning. WHENs, not OR and AND: DuckDB evaluates a WHEN only for the rows still undecided,
 * every operand always.
 */
function suspectExpression(segments: readonly string[], doc: string): string {
  const repeated = segments.map((name) => {
    // The name and its closing quote, not the opening one: `"` is in every few bytes of JSON and
    // each is a candidate match, which made this split cost three times as much (0.6 s against
    // 0.2 s of CPU over a million 310-byte texts). A longer name ending the same way only costs
    // the slower read of that record.
    const named = literal(JSON.stringify(name).slice(1));
    return `len(string_split(${doc}, ${named})) > 2`;
  });
  const escaped = [...new Set(segments.flatMap(escapesOf))].map((spelling) => `contains(${doc}, ${literal(spelling)})`);
  // A slash has an escape of its own (`\/`), which JSON.stringify never writes: a name holding one is looked for too.
  const noEscape = segments.some((name) => name.includes('/'))
    ? `NOT contains(${doc}, '\\u') AND NOT contains(${doc}, '\\/')`
    : `NOT contains(${doc}, '\\u')`;
  return `CASE ${repeated.map((test) => `WHEN ${test} THEN true`).join(' ')}
    WHEN ${noEscape} THEN false ELSE ${escaped.join(' OR ')} END`;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\]/g;

/**
 * The key of a record whose text starts with its key member, a string without escapes that the
 * text holds once (`{"order_id":"o-17",…`), as `keyExpression` reads it from a typed row; NULL
 * for any other record. A regular expression anchored at the start instead of a JSON parse:
 * a quarter of the CPU (0.3 s against 1.1 s over a million 310-byte texts), and exports often
 * write the key first. Sound only for texts that are valid JSON, as every source's are (`doc` of
 * `SideInput`); undefined for a key this cannot read (several parts, nested, or a name JSON escapes).
 */
export function leadingKeyExpression(keyPaths: readonly string[], doc = 'doc'): string | undefined {
  const [path, ...more] = keyPaths;
  if (path === undefined || more.length > 0 || path.startsWith('$')) return undefined;
  const segments = pathSegments(path);
  const [name] = segments;
  if (name === undefined || segments.length > 1 || JSON.stringify(name) !== `"${name}"`) return undefined;
  const head = `{${JSON.stringify(name)}:`;
  // The quotes are captured so that an empty key ("") is told from no match ('').
  const pattern = `^${head.replace(REGEX_SPECIAL, '\\$&')}("[^"\\\\]*")`;
  return `CASE WHEN starts_with(${doc}, ${literal(`${head}"`)}) AND NOT (${suspectExpression(segments, doc)})
    THEN nullif(regexp_extract(${doc}, ${literal(pattern)}, 1), '')[2:-2] END`;
}

/**
 * SQL for the leaf at `segments` (JSON text) of a record: NULL without a typed row `row`, else
 * from that row (DuckDB reads the first member of a name there), unless the raw text `doc` may
 * repeat one of the names (or spells a character of one with an escape), where it is read again,
 * the last member of each name winning. Escapes of other characters (`\u00e9` in values) cost nothing more than a search.
 */
function memberExpression(segments: readonly string[], row = 'r', doc = 'doc'): string {
  const typed = segments.reduce((expression, name) => member(expression, name), row);
  const last = segments.reduce((expression, name) => lastMember(expression, name), `${doc}::JSON`);
  // No typed row: the text is no JSON object, and the cast to JSON that reads last members would fail the whole batch.
  return `CASE WHEN ${row} IS NULL THEN NULL WHEN ${suspectExpression(segments, doc)} THEN ${last} ELSE ${typed} END`;
}

/** Plain decimal text up to this many characters; past it `<digits>e<exponent>`. */
const PLAIN_DIGITS = 1000;

/**
 * One text per numeric value, from a number's JSON text: `12.0`, `1.2e1` and `12` are all `12`,
 * `-0` is `0`, `1.50` is `1.5`. Integers keep their own text, so their keys (and sampling) are as
 * before. No double in between: `2^60 + 1` stays itself. NULL for an exponent past BIGINT.
 */
function canonicalNumber(text: string): string {
  const parts = `regexp_extract(${text}, '^(-?)([0-9]+)(?:\\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$', ['s', 'i', 'f', 'e'])`;
  return `list_transform([${parts}], lambda m: list_transform([{
      's': m.s, 'f': m.f, 'd': ltrim(m.i || m.f, '0'),
      'x': CASE WHEN m.e = '' THEN 0 ELSE TRY_CAST(m.e AS BIGINT) END}], lambda p: list_transform([{
      's': p.s, 'd': rtrim(p.d, '0'), 'e': p.x - strlen(p.f) + strlen(p.d) - strlen(rtrim(p.d, '0'))}], lambda n:
        CASE WHEN m.i = '' THEN NULL WHEN n.d = '' THEN '0' ELSE n.s || CASE
          WHEN n.e >= 0 AND strlen(n.d) + n.e <= ${PLAIN_DIGITS} THEN n.d || repeat('0', n.e)
          WHEN n.e < 0 AND -n.e < strlen(n.d) THEN left(n.d, strlen(n.d) + n.e) || '.' || right(n.d, -n.e)
          WHEN n.e < 0 AND -n.e <= ${PLAIN_DIGITS} THEN '0.' || repeat('0', -n.e - strlen(n.d)) || n.d
          ELSE n.d || 'e' || n.e END END)[1])[1])[1]`;
}

/**
 * One key part as text from its JSON leaf; NULL for null, objects and arrays (no usable key).
 * Strings are unquoted; numbers take their canonical text (`12.0` is `12`), booleans their JSON
 * text. Unless keys compare as text, numbers and booleans carry KEY_TAG in front (and strings that
 * start with it one more), so the string `"12"` and the number `12` are different keys.
 */
export function keyPartExpression(leaf: string, asText: boolean): string {
  const tag = `chr(${KEY_TAG.charCodeAt(0)})`;
  const tagged = (text: string) => (asText ? text : `${tag} || ${text}`);
  // A raw U+001D in a JSON string is always escaped, so only escaped strings can start with it.
  const escaped = asText
    ? `json_extract_string(${leaf}, '$')`
    : `CASE WHEN starts_with(json_extract_string(${leaf}, '$'), ${tag}) THEN ${tag} ELSE '' END || json_extract_string(${leaf}, '$')`;
  const number = `${leaf}::VARCHAR`;
  // The ELSE branches are cast: a JSON-typed branch would make the whole CASE JSON and re-parse the text.
  // Strings without escapes are unquoted by slicing, and integers kept as they are: cheaper than parsing them.
  return `CASE WHEN starts_with(${leaf}, '"') THEN CASE WHEN contains(${leaf}, '\\') THEN ${escaped} ELSE (${leaf}::VARCHAR)[2:-2] END
    WHEN ${leaf} = 'null' OR starts_with(${leaf}, '{') OR starts_with(${leaf}, '[') THEN NULL
    WHEN ${leaf} = 'true' OR ${leaf} = 'false' THEN ${tagged(number)}
    WHEN contains(${number}, '.') OR contains(${number}, 'e') OR contains(${number}, 'E') OR starts_with(${number}, '-0')
      OR strlen(${number}) > ${PLAIN_DIGITS} THEN ${tagged(canonicalNumber(number))}
    ELSE ${tagged(number)} END`;
}

/**
 * The select list (`, … AS …`) reading the key and time leaves of a record once, from its typed row
 * `r` and its text `doc`, and the columns it names: the expressions that take them use each many
 * times, and DuckDB would compute a repeated expression as often as it is written.
 */
export function leafColumns(
  keyPaths: readonly (readonly string[])[],
  timePath: readonly string[] | undefined,
  scopePath?: readonly string[],
): { select: string; keys: string[]; time: string | undefined; scope: string | undefined } {
  const keys = keyPaths.map((_, i) => `sd_key_${i}`);
  const columns = keyPaths.map((segments, i) => `${memberExpression(segments)} AS ${keys[i]}`);
  if (timePath) columns.push(`${memberExpression(timePath)} AS sd_time`);
  if (scopePath) columns.push(`${memberExpression(scopePath)} AS sd_scope`);
  return {
    select: columns.map((column) => `, ${column}`).join(''),
    keys,
    time: timePath ? 'sd_time' : undefined,
    scope: scopePath ? 'sd_scope' : undefined,
  };
}

/** The canonical key of a record from its key leaves: parts joined by U+001F; NULL when any part is unusable. */
export function keyExpression(leaves: readonly string[], asText: boolean): string {
  const parts = leaves.map((leaf) => keyPartExpression(leaf, asText));
  if (parts.length === 1) return parts[0] as string;
  return `CASE WHEN ${parts.map((p) => `(${p}) IS NULL`).join(' OR ')} THEN NULL ELSE concat_ws(chr(31), ${parts.join(', ')}) END`;
}

/**
 * SQL true when canonical key `k` is sampled at `threshold` (SPEC §3). The hash is of the key
 * without its tags: the text strings and integers always had, so sampling does not shift.
 */
export function sampledExpression(k: string, threshold: bigint | undefined, asText: boolean): string {
  if (threshold === undefined) return 'true';
  return `${keyHashExpression(k, asText)} < ${threshold}::UBIGINT`;
}

/** The stable 64-bit hash of canonical key `k` that sampling and key-range scopes share (SPEC §3). */
export function keyHashExpression(k: string, asText: boolean): string {
  const untagged = asText ? k : `regexp_replace(${k}, '(^|\\x1f)\\x1d', '\\1', 'g')`;
  return `md5_number_upper(${untagged})`;
}
