import { samplingThreshold } from '../align/keys.js';
import type { ComparisonConfig, ScopeConfig, Side } from '../config/schema.js';
import { ShadowdiffError } from '../errors.js';
import { keyHashExpression, keyPartExpression } from './key-sql.js';
import { pathSegments } from './paths.js';
import { literal } from './sql.js';

/**
 * A comparison's scope (a canary's slice): which records every side is judged on. Records outside
 * it are counted `out_of_scope`, never missing or extra; with `candidateOnly` the candidate's are
 * `unexpected` (it processed more than its slice).
 */

/** What a record outside the scope counts as on `side`. */
export type OutsideStatus = 'out_of_scope' | 'unexpected';

export function outsideStatus(scope: ScopeConfig | undefined, side: Side): OutsideStatus {
  return scope?.candidateOnly && side === 'candidate' ? 'unexpected' : 'out_of_scope';
}

/** The Kafka partitions `side` is read on, or undefined for all. */
export function scopePartitions(scope: ScopeConfig | undefined, side: Side): readonly number[] | undefined {
  const partitions = scope?.partitions;
  if (partitions === undefined || Array.isArray(partitions)) return partitions;
  return partitions[side];
}

/**
 * Whether the source partition `name` (`topic/3`) of `side` is in the scope's partitions. Partitions
 * outside it neither count toward the side's watermark nor hold it: a canary's candidate topic
 * leaves them empty.
 */
export function partitionInScope(partitions: readonly number[] | undefined, name: string): boolean {
  return partitions === undefined || partitions.includes(Number(name.slice(name.lastIndexOf('/') + 1)));
}

/** The segments of the scope's field, read with the key (undefined without one). */
export function scopeFieldPath(scope: ScopeConfig | undefined): string[] | undefined {
  return scope?.field === undefined ? undefined : pathSegments(scope.field);
}

/**
 * SQL true when a valid record is in the scope's field and key-range conditions (partitions are
 * applied where each record's partition is known). `k` is the canonical key, `value` the scope
 * field's JSON leaf. Values compare as keys do: by canonical text, so `12.0` is `12`, and the string
 * `"12"` is not the number `12` unless keys compare as text. A record without the field (or null)
 * is outside an `in` list and inside a `notIn` list.
 */
export function inScopeExpression(
  scope: ScopeConfig | undefined,
  k: string,
  value: string | undefined,
  asText: boolean,
): string {
  const tests: string[] = [];
  const values = scope?.in ?? scope?.notIn;
  if (scope?.field !== undefined && value !== undefined && values) {
    const list = values.map((v) => keyPartExpression(`${literal(JSON.stringify(v))}::JSON`, asText));
    const listed = `coalesce(list_contains([${list.join(', ')}], ${keyPartExpression(value, asText)}), false)`;
    tests.push(scope.in ? listed : `NOT ${listed}`);
  }
  const range = scope?.keyRange;
  if (range) {
    const hash = keyHashExpression(k, asText);
    // The bounds are sampling's thresholds: keyRange [0, r] holds the keys sampled at rate r.
    const from = range[0] > 0 ? samplingThreshold(range[0]) : undefined;
    const to = samplingThreshold(range[1]);
    if (from !== undefined) tests.push(`${hash} >= ${from}::UBIGINT`);
    if (to !== undefined) tests.push(`${hash} < ${to}::UBIGINT`);
  }
  return tests.length === 0 ? 'true' : tests.map((test) => `(${test})`).join(' AND ');
}

const list = (values: readonly unknown[]) => values.map((value) => JSON.stringify(value)).join(', ');
const percent = (fraction: number) => `${Number((fraction * 100).toFixed(4))}%`;

/** The scope in words, for the verdict body and the summary; undefined when it is everything. */
export function describeScope(scope: ScopeConfig | undefined): string | undefined {
  if (!scope) return undefined;
  const parts: string[] = [];
  const partitions = scope.partitions;
  if (Array.isArray(partitions)) parts.push(`partitions ${partitions.join(', ')}`);
  else if (partitions) {
    const sides = (['live', 'candidate', 'control'] as const).filter((side) => partitions[side]);
    parts.push(sides.map((side) => `${side} partitions ${partitions[side]?.join(', ')}`).join(', '));
  }
  if (scope.field !== undefined && scope.in) parts.push(`${scope.field} in [${list(scope.in)}]`);
  if (scope.field !== undefined && scope.notIn) parts.push(`${scope.field} not in [${list(scope.notIn)}]`);
  if (scope.keyRange) {
    const [from, to] = scope.keyRange;
    parts.push(`key hash in [${from}, ${to}) (${percent(to - from)} of keys)`);
  }
  if (parts.length === 0) return undefined;
  const outside = scope.candidateOnly
    ? "; the candidate's records outside it are unexpected"
    : '; records outside it are out of scope';
  return `${parts.join(' and ')}${outside}`;
}

/** Settings the schema cannot check alone; `prefix` is the comparison's path in a config file. */
export function checkScope(comparison: ComparisonConfig, prefix: string): void {
  const scope = comparison.scope;
  if (!scope) return;
  const invalid = (name: string, problem: string) =>
    new ShadowdiffError('SD_CONFIG_INVALID', `${prefix}scope${name ? `.${name}` : ''}: ${problem}`);
  if (scope.field !== undefined) {
    if (scope.in && scope.notIn) throw invalid('field', 'give one of in and notIn, not both');
    if (!scope.in && !scope.notIn) throw invalid('field', 'needs in or notIn (the values of the slice)');
    if (scope.field.includes('[]')) throw invalid('field', `cannot go through arrays: ${scope.field}`);
  } else if (scope.in || scope.notIn) {
    throw invalid(scope.in ? 'in' : 'notIn', 'needs field (the field whose values select records)');
  }
  if (scope.keyRange && scope.keyRange[0] >= scope.keyRange[1]) {
    throw invalid('keyRange', 'from must be below to ([from, to) is a fraction of the key hash space)');
  }
  if (scope.partitions !== undefined) {
    for (const side of ['live', 'candidate', 'control'] as const) {
      const source = comparison[side];
      if (!source) continue;
      if (!('kafka' in source)) throw invalid('partitions', `applies to Kafka sources only; ${side} is not one`);
      if (!Array.isArray(scope.partitions) && !scope.partitions[side]) {
        throw invalid(`partitions.${side}`, 'required: the comparison has this side');
      }
    }
  }
  if (!describeScope(scope)) throw invalid('', 'names no slice (give partitions, field with in or notIn, or keyRange)');
}

/** What the verdict says of the scope: the slice in words, and the candidate's records outside it. */
export function scopeOfVerdict(
  scope: ScopeConfig | undefined,
  counts: { unexpectedCandidate?: number | undefined },
): { scope?: string; unexpected?: number } {
  const words = describeScope(scope);
  return {
    ...(words ? { scope: words } : {}),
    ...(counts.unexpectedCandidate ? { unexpected: counts.unexpectedCandidate } : {}),
  };
}

/** A value with its object members in name order: one text for one scope however it was written. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, member]) => [name, canonical(member)]),
  );
}

/** A scope's text with its lists in order: partitions and values are sets. */
function scopeText(scope: ScopeConfig | undefined | null): string {
  if (!scope) return 'null';
  const set = (values: readonly unknown[] | undefined) => values?.map((value) => JSON.stringify(value)).sort();
  const { partitions } = scope;
  return JSON.stringify(
    canonical({
      ...scope,
      partitions: Array.isArray(partitions)
        ? set(partitions)
        : partitions && Object.fromEntries(Object.entries(partitions).map(([side, list]) => [side, set(list)])),
      in: set(scope.in),
      notIn: set(scope.notIn),
    }),
  );
}

/** Whether two scopes select the same records, however their members and lists were written. */
export function sameScope(a: ScopeConfig | undefined | null, b: ScopeConfig | undefined | null): boolean {
  return scopeText(a) === scopeText(b);
}

/** The slice alone in words, for a log line: `partitions 0, 1`, or `everything` without a scope. */
export function scopeInWords(scope: ScopeConfig | undefined | null): string {
  return describeScope(scope ?? undefined)?.split(';')[0] ?? 'everything';
}
