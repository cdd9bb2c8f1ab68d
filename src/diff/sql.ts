import { childPath, elementPath } from './paths.js';
import type { CompareRules } from './rules.js';
import type { Shape } from './shape.js';

/**
 * SQL string literal. A NUL cannot stand in DuckDB SQL text, so it becomes U+FFFD: data that
 * reaches a statement (keys, field names, raw records) never breaks it.
 */
export function literal(text: string): string {
  return `'${text.replaceAll("'", "''").replaceAll('\u0000', '\uFFFD')}'`;
}

/**
 * The hash that stands for a record's raw text: equal hashes count as equal texts, unread. MD5's
 * lower 64 bits, not DuckDB's `hash()`: that one is built for hash tables, not for identity, and
 * maps `{"id":1,"v":1003,"w":100}` and `{"id":1,"v":1008,"w":107}` to one value (about one in ten
 * of such texts collides with another). Taken from `md5_number`, whose upper half is the value
 * `md5_number_lower` gives: DuckDB computes that one at twice the cost (0.8 s against 1.6 s of CPU
 * over a million 310-byte texts).
 */
export function textHash(doc: string): string {
  return `(md5_number(${doc}) >> 64)::UBIGINT`;
}

const LOW_64_BITS = '18446744073709551615::UHUGEINT';

/**
 * `textHash` (upper 64 bits) and DuckDB's cheap `hash()` (lower 64 bits) of a text in one value:
 * the aligning step carries one column instead of two, and finds the texts it reads again by the
 * cheap half (`lowHash`) before the text hash decides (`highHash`).
 */
export function textHashes(doc: string): string {
  return `((md5_number(${doc}) >> 64 << 64) | hash(${doc})::UHUGEINT)`;
}

/**
 * MD5 of a text, all 128 bits: its upper half is `textHash`. Stands for `textHashes` where no text
 * is found again by hash (both sides read their differing texts by position): DuckDB's `hash()`
 * of every text would be computed for nothing (0.16 s of CPU per million 310-byte texts).
 */
export function fullTextHash(doc: string): string {
  return `md5_number(${doc})`;
}

/** The `textHash` half of a `textHashes` (or `fullTextHash`) value. */
export function highHash(hashes: string): string {
  return `(${hashes} >> 64)::UBIGINT`;
}

/** The `hash()` half of a `textHashes` value. */
export function lowHash(hashes: string): string {
  return `(${hashes} & ${LOW_64_BITS})::UBIGINT`;
}

/** SQL quoted identifier. */
export function identifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const member = (expression: string, name: string) => `(${expression}).${identifier(name)}`;

// strlen counts bytes without decoding UTF-8; `:` is one byte, so the difference counts colons.
const colonCount = (expression: string) => `(strlen(${expression}) - strlen(replace(${expression}, ':', '')))`;

function countColonsIn(text: string): number {
  return text.split(':').length - 1;
}

type Members = Map<string, Shape>;

/**
 * How many `:` the raw JSON text of a record holds if every member it has is one the shape knows:
 * one per present member (plus any in its name) and those inside string values. A record whose raw
 * text holds more has members the shape does not know and is compared in full, never by hash.
 */
function expectedColons(members: Members, expression: string, depth: number): string {
  const terms: string[] = [];
  for (const [name, shape] of members) {
    const value = member(expression, name);
    terms.push(`(${value} IS NOT NULL)::INTEGER * ${1 + countColonsIn(name)}`);
    terms.push(valueColons(shape, value, depth));
  }
  return terms.length === 0 ? '0' : terms.join(' + ');
}

function valueColons(shape: Shape, value: string, depth: number): string {
  switch (shape.kind) {
    case 'leaf':
      // Colons in leaves sampled as numbers are not counted: a string there makes the record be
      // compared in full, which is safe, and most leaves skip a string scan.
      return shape.text ? `coalesce(${colonCount(value)}, 0)` : '0';
    case 'object':
      return `(${expectedColons(shape.members, value, depth)})`;
    case 'list': {
      const x = `x${depth}`;
      const inner = valueColons(shape.element, x, depth + 1);
      return inner === '0' ? '0' : `coalesce(list_sum(list_transform(${value}, lambda ${x}: ${inner})), 0)`;
    }
  }
}

/**
 * True when some member that should be an object held a scalar or an empty object: DuckDB then
 * yields a STRUCT of NULLs, which the hash cannot tell from another scalar, so such records are
 * compared in full.
 */
function hollowObjects(members: Members, expression: string, depth: number): string[] {
  const checks: string[] = [];
  for (const [name, shape] of members) {
    const value = member(expression, name);
    if (shape.kind === 'object') {
      const fields = [...shape.members.keys()].map((field) => `${member(value, field)} IS NULL`);
      checks.push(`(${value} IS NOT NULL AND ${fields.join(' AND ')})`);
      checks.push(...hollowObjects(shape.members, value, depth));
    } else if (shape.kind === 'list' && shape.element.kind !== 'leaf') {
      const x = `x${depth}`;
      const inner = hollowElement(shape.element, x, depth + 1);
      if (inner) checks.push(`coalesce(list_bool_or(list_transform(${value}, lambda ${x}: ${inner})), false)`);
    }
  }
  return checks;
}

function hollowElement(shape: Shape, x: string, depth: number): string | undefined {
  if (shape.kind === 'object') {
    const fields = [...shape.members.keys()].map((field) => `${member(x, field)} IS NULL`);
    const checks = [`(${x} IS NOT NULL AND ${fields.join(' AND ')})`, ...hollowObjects(shape.members, x, depth)];
    return checks.join(' OR ');
  }
  if (shape.kind === 'list' && shape.element.kind !== 'leaf') {
    const y = `x${depth}`;
    const inner = hollowElement(shape.element, y, depth + 1);
    return inner ? `coalesce(list_bool_or(list_transform(${x}, lambda ${y}: ${inner})), false)` : undefined;
  }
  return undefined;
}

/**
 * SQL that is true when the typed row `r` holds everything of its raw text `doc`, so comparing
 * hashes of `r` is as good as comparing the records.
 */
export function fitsExpression(shape: Shape, rules: CompareRules, doc = 'doc', row = 'r'): string {
  if (shape.kind !== 'object') return 'false';
  // With nullEqualsMissing, a member set to null means the same as an absent one: its colon is not counted.
  const raw = rules.nullEqualsMissing
    ? `(${colonCount(doc)} - (strlen(${doc}) - strlen(replace(${doc}, ':null', ''))) // 5)`
    : colonCount(doc);
  const hollow = hollowObjects(shape.members, row, 0);
  return `(${raw} = (${expectedColons(shape.members, row, 0)})${hollow.length ? ` AND NOT (${hollow.join(' OR ')})` : ''})`;
}

// DuckDB reads a number with a fraction or an exponent as a double, so past 15 significant digits
// (or beyond the normal exponent range) two numbers can hash the same. Integers it keeps exact
// (int64, uint64, and the text of larger ones).
const ROUNDED_NUMBER = [
  ...Array.from({ length: 15 }, (_, i) => `[0-9]{${i + 1}}\\.[0-9]{${15 - i}}`),
  '[0-9]{16}[eE]',
  '[eE][+-]?[0-9]{3}',
].join('|');

/**
 * SQL that is true when a JSON text may hold a number DuckDB rounds (a false alarm now and then,
 * say in a string, only costs a field-by-field comparison): its typed row cannot decide "equal".
 */
export function roundedNumbersExpression(doc: string): string {
  return `regexp_matches(${doc}, '${ROUNDED_NUMBER}')`;
}

/**
 * The value hashed to decide "equal" without a field-by-field comparison: ignored members left out,
 * a list whose elements are ignored reduced to whether it is there, unordered arrays sorted, JSON
 * null folded into absence when null equals missing.
 */
export function normalizedExpression(shape: Shape, rules: CompareRules, row = 'r'): string {
  return normalized(shape, row, '', rules, 0) ?? 'NULL';
}

/** The normalized form of a value, or the value expression itself when no rule changes anything below it. */
function normalized(shape: Shape, value: string, path: string, rules: CompareRules, depth: number): string | undefined {
  switch (shape.kind) {
    case 'leaf':
      // A JSON null leaf is already SQL NULL, the same as an absent member; with nullEqualsMissing
      // off the fits check sends records holding nulls to the full comparison.
      return value;
    case 'object': {
      const parts: string[] = [];
      let unchanged = true;
      for (const [name, child] of shape.members) {
        const childAt = childPath(path, name);
        const childValue = member(value, name);
        const inner = rules.isIgnored(childAt) ? undefined : normalized(child, childValue, childAt, rules, depth);
        if (inner !== childValue) unchanged = false;
        if (inner !== undefined) parts.push(`${identifier(name)} := ${inner}`);
      }
      // Hashing the STRUCT as it is skips rebuilding it: measurably faster on wide records.
      if (unchanged) return value;
      return parts.length === 0 ? undefined : `struct_pack(${parts.join(', ')})`;
    }
    case 'list': {
      const x = `x${depth}`;
      const elementAt = elementPath(path);
      // Ignored elements leave the list's presence, as the field-by-field comparison does.
      if (rules.isIgnored(elementAt)) return `(${value} IS NOT NULL)`;
      const inner = normalized(shape.element, x, elementAt, rules, depth + 1) ?? 'NULL';
      const list = inner === x ? value : `list_transform(${value}, lambda ${x}: ${inner})`;
      return rules.isUnordered(path) ? `list_sort(${list})` : list;
    }
  }
}

/** Records nested deeper than this are invalid (`too_deep`): every step after reading them stays within its stack. */
export const MAX_DEPTH = 256;
const JSON_STRING = '"(?:[^"\\\\]|\\\\.)*"';

/** Levels one regular expression checks: DuckDB compiles each for every statement, so they stay small. */
const LEVELS_PER_PASS = 16;

/** Text (strings emptied) whose brackets nest at most `depth` deep: one group per level. */
function nestedAtMost(depth: number): string {
  let levels = '[^\\[\\]{}]*';
  for (let level = 1; level <= depth; level++) levels = `(?:[^\\[\\]{}]|[\\[{]${levels}[\\]}])*`;
  return levels;
}
const SHALLOW = nestedAtMost(LEVELS_PER_PASS);
/** A bracketed group nesting at most LEVELS_PER_PASS deep, with what follows it up to the next bracket. */
const SHALLOW_GROUP = `[\\[{]${nestedAtMost(LEVELS_PER_PASS - 1)}[\\]}]`;

/**
 * SQL true when a JSON text nests deeper than MAX_DEPTH. Cheap tests first (regular expressions
 * cost DuckDB more than parsing the text): only a long text with many brackets can nest that deep,
 * and only those few are checked exactly. With strings emptied, each pass removes every group at
 * most LEVELS_PER_PASS deep, which lowers the nesting by that much; bounded nesting is a regular
 * language, so what is left is checked by one more expression in one linear pass.
 */
export function tooDeepExpression(doc: string): string {
  const openings = `len(string_split(${doc}, '{')) + len(string_split(${doc}, '['))`;
  let structure = `regexp_replace(${doc}, '${JSON_STRING}', '""', 'g')`;
  for (let removed = 0; removed + LEVELS_PER_PASS < MAX_DEPTH; removed += LEVELS_PER_PASS) {
    structure = `regexp_replace(${structure}, '${SHALLOW_GROUP}', '', 'g')`;
  }
  // CASE, not AND: DuckDB evaluates only the rows a WHEN selects, but every operand of an AND.
  return `CASE WHEN strlen(${doc}) <= ${2 * MAX_DEPTH} THEN false WHEN ${openings} <= ${MAX_DEPTH + 2} THEN false
    ELSE NOT regexp_full_match(${structure}, '${SHALLOW}') END`;
}

export const UNIT_TO_MS = { ms: 1, s: 1000, us: 0.001 } as const;

/**
 * Event time in ms from a JSON leaf: epoch number (or numeric string) in `unit`, or an ISO-8601
 * string. The cast guards the regular expression, which costs more than the rest together: an ISO
 * text fails the cast at once and never reaches it.
 */
export function eventTimeExpression(leaf: string, unit: keyof typeof UNIT_TO_MS): string {
  const text = `json_extract_string(${leaf}, '$')`;
  const numeric = `floor(TRY_CAST(${text} AS DOUBLE) * ${UNIT_TO_MS[unit]})::BIGINT`;
  return `CASE WHEN ${leaf} IS NULL OR ${leaf} = 'null' THEN NULL
    WHEN TRY_CAST(${text} AS DOUBLE) IS NOT NULL AND regexp_full_match(${text}, '\\s*-?[0-9]+(\\.[0-9]+)?\\s*') THEN ${numeric}
    WHEN starts_with(${leaf}, '"') THEN epoch_ms(TRY_CAST(${text} AS TIMESTAMPTZ))
    ELSE NULL END`;
}
