import { samplingThreshold } from '../align/keys.js';
import { ShadowdiffError } from '../errors.js';
import { keyExpression, leafColumns, sampledExpression } from './key-sql.js';
import { pathSegments } from './paths.js';
import { positionOf } from './sample-queries.js';
import { inScopeExpression, scopeFieldPath } from './scope.js';
import { type Shape, transformStructure, withLeafAt } from './shape.js';
import type { DiffSpec, SideInput } from './spec.js';
import { eventTimeExpression, literal, textHash, tooDeepExpression } from './sql.js';

// The SQL of the engine's per-record tables (`diffPair`): keys, windows, hashes, scope and sampling.

/** Keys and event times are read from object members: a path through an array is refused. */
export function validateKeyPaths(spec: DiffSpec): void {
  for (const path of [...spec.key, ...(spec.time && 'field' in spec.time ? [spec.time.field] : [])]) {
    if (path.includes('[]')) {
      throw new ShadowdiffError('SD_CONFIG_INVALID', `key and time paths cannot go through arrays: ${path}`);
    }
  }
}

/** Only the members a record's key and event time are read from: one cheap parse per record. */
export function keyShape(spec: Pick<DiffSpec, 'key' | 'time' | 'scope'>): Shape {
  let shape: Shape = { kind: 'object', members: new Map() };
  for (const path of spec.key) if (!path.startsWith('$')) shape = withLeafAt(shape, pathSegments(path));
  if (spec.time && 'field' in spec.time) shape = withLeafAt(shape, pathSegments(spec.time.field));
  const scopeField = scopeFieldPath(spec.scope);
  if (scopeField) shape = withLeafAt(shape, scopeField);
  return shape;
}

/**
 * Builds the per-record table of one side in one pass over its input: why it is invalid, its key,
 * its window, whether its key is sampled, and for sampled valid records the hash of the raw text.
 * The source's reason for an undecodable record is its `invalid` reason: no column of its own.
 * Not the text itself: kept for every record it was most of the table (spilling to disk past a few
 * million records), while the diff needs the texts of the few records whose hashes differ, read
 * again from the input by `textsSql`. Typed rows are built later, and only for pairs whose
 * raw texts differ: identical text is equal under any rules. A keyed input already holds only
 * valid, sampled records with their key and window, so it gets a view instead: copying every text
 * into a table would cost more than the rest of the diff, while later steps read few of them.
 */
export function recordsSql(target: string, input: SideInput, spec: DiffSpec): string {
  if (input.keyed) {
    return `CREATE OR REPLACE TEMP VIEW ${target} AS
      SELECT pos AS given_pos, doc, reason, k, w, rh, rh AS fh, CAST(NULL AS VARCHAR) AS invalid, true AS scoped,
        true AS sampled
      FROM ${input.relation}`;
  }
  const time = spec.time;
  const leaves = leafColumns(
    spec.key.map(pathSegments),
    time && 'field' in time ? pathSegments(time.field) : undefined,
    scopeFieldPath(spec.scope),
  );
  const key = keyExpression(leaves.keys, spec.keyAsText);
  let window = '0::BIGINT';
  if (time && 'field' in time && leaves.time) {
    const ms = eventTimeExpression(leaves.time, time.unit);
    window = `(floor((${ms}) / ${spec.windowMs}) * ${spec.windowMs})::BIGINT`;
  }
  const sampled = sampledExpression('k', samplingThreshold(spec.samplingRate), spec.keyAsText);
  const part = input.parts ? ', part' : '';
  const scoped = inScopeExpression(spec.scope, 'k', leaves.scope && 'scope_value', spec.keyAsText);
  // The scope, then the key, decide before the text is looked at again: a record outside the scope
  // or of an unsampled key is neither hashed nor checked nor kept, so a 1% sample costs little more
  // than reading the keys.
  return `CREATE OR REPLACE TEMP TABLE ${target} AS
    WITH parsed AS (
      SELECT doc, reason${part}, ${typedRow(keyShape(spec), 'doc')} AS r FROM ${input.relation}
    ), leaves AS (
      SELECT *${leaves.select} FROM parsed
    ), keyed AS (
      SELECT doc, reason${part}, r IS NULL AS malformed, ${key} AS k, ${window} AS w${leaves.scope ? `, ${leaves.scope} AS scope_value` : ''}
      FROM leaves
    ), scoping AS (
      SELECT *, CASE WHEN malformed OR k IS NULL OR w IS NULL THEN false ELSE ${scoped} END AS scoped FROM keyed
    ), picked AS (
      SELECT *, CASE WHEN scoped THEN ${sampled} ELSE false END AS picked FROM scoping
    ), checked AS (
      SELECT *, CASE WHEN picked AND ${tooDeepExpression('doc')} THEN 'too_deep' END AS rejected FROM picked
    )
    SELECT k, w, CASE WHEN picked AND rejected IS NULL THEN ${textHash('doc')} END AS rh,
      CASE WHEN picked AND rejected IS NULL THEN hash(doc) END AS fh,
      CASE WHEN malformed THEN coalesce(reason, 'malformed') WHEN rejected IS NOT NULL THEN rejected
        WHEN k IS NULL THEN 'missing_key' WHEN w IS NULL THEN 'missing_time' END AS invalid,
      scoped AND rejected IS NULL AS scoped, picked AND rejected IS NULL AS sampled${part}
    FROM checked`;
}

/**
 * The raw texts whose hashes `wanted` (`rh`, `fh`) selects, one per hash: from a keyed input's
 * buffer, or by reading the input again (no position needed: any text of a hash is that text).
 * There DuckDB's cheap `hash()` (`fh`) finds the few candidate rows, and only those get the text
 * hash that decides.
 */
export function textsSql(target: string, input: SideInput, records: string, wanted: string): string {
  const source = input.keyed
    ? `(SELECT rh, doc FROM ${records} WHERE rh IN (SELECT rh FROM wanted))`
    : `(SELECT ${textHash('doc')} AS rh, doc FROM ${input.relation} WHERE hash(doc) IN (SELECT fh FROM wanted))`;
  return `CREATE OR REPLACE TEMP TABLE ${target} AS WITH wanted AS (${wanted})
    SELECT rh, any_value(doc) AS doc FROM ${source} WHERE rh IN (SELECT rh FROM wanted) GROUP BY rh`;
}

/** The typed row of a JSON text; NULL when it is not a JSON object. */
export function typedRow(shape: Shape, doc: string): string {
  const structure = literal(JSON.stringify(transformStructure(shape)));
  return `CASE WHEN starts_with(ltrim(${doc}), '{') THEN try(json_transform(${doc}, ${structure})) END`;
}

/** One record per (window, key) and side after the duplicates rule, with the duplicate count. */
export function uniqueSql(target: string, records: string, input: SideInput, spec: DiffSpec): string {
  const pick = spec.duplicates === 'first' ? 'min_by' : 'max_by';
  return `CREATE OR REPLACE TEMP TABLE ${target} AS
    SELECT w, k, ${pick}(pos, pos) AS pos, ${pick}(rh, pos) AS rh, ${pick}(fh, pos) AS fh, count(*) AS n
    FROM (SELECT ${positionOf(input)} AS pos, w, k, rh, fh, sampled FROM ${records}) WHERE sampled GROUP BY w, k`;
}
