import { samplingThreshold } from '../align/keys.js';
import { ShadowdiffError } from '../errors.js';
import { keyExpression, leadingKeyExpression, leafColumns, sampledExpression } from './key-sql.js';
import { pathSegments } from './paths.js';
import { RECORD_STATUS } from './record-status.js';
import { positionOf } from './sample-queries.js';
import { inScopeExpression, scopeFieldPath } from './scope.js';
import { type Shape, transformStructure, withLeafAt } from './shape.js';
import type { DiffSpec, SideInput } from './spec.js';
import { eventTimeExpression, literal, textHash, textHashes, tooDeepExpression } from './sql.js';

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

/** Bits of the key hash a records table keeps (`p`): the aligning step splits keys into at most 2^8 partitions. */
export const PARTITION_HASH_BITS = 8;

/** The key-hash partition column of a record: the top bits of DuckDB's hash of its key. */
function partitionOf(k: string): string {
  return `(hash(${k}) >> ${64 - PARTITION_HASH_BITS})::UTINYINT`;
}

/**
 * Builds the per-record table of one side in one pass over its input: its key (or, for an
 * invalid record, the reason), its window (with an event time only), its status
 * (`RECORD_STATUS`), for compared records the hashes of the raw text (`hashes`: `textHashes`, or
 * `fullTextHash` where both sides' texts are found again by position), and its key's
 * partition. The source's reason for an undecodable record is its `invalid` reason: no column of
 * its own. Not the text itself: kept for every record it was most of the table (spilling to disk
 * past a few million records), while the diff needs the texts of the few records whose hashes
 * differ, read again from the input (by position, or by `textsSql`). Narrow for the same reason: ~35 bytes a record,
 * where separate flags, reason and hash columns took ~60. Typed rows are built later, and only for
 * pairs whose raw texts differ: identical text is equal under any rules. A keyed input already
 * holds only valid, sampled records with their key and window, so it gets a view instead: copying
 * every text into a table would cost more than the rest of the diff, while later steps read few of
 * them.
 */
export function recordsSql(
  target: string,
  input: SideInput,
  spec: DiffSpec,
  hashes: (doc: string) => string = textHashes,
): string {
  if (input.keyed) {
    return `CREATE OR REPLACE TEMP VIEW ${target} AS
      SELECT pos AS given_pos, doc, k, w, rh, (rh::UHUGEINT << 64) | rh::UHUGEINT AS h,
        ${RECORD_STATUS.compared}::UTINYINT AS status, ${partitionOf('k')} AS p
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
  // A text that starts with its key is not parsed: its typed row is only built (and its key read
  // from it) when the leading key is NULL.
  const leading = leaves.time || leaves.scope ? undefined : leadingKeyExpression(spec.key);
  const parsed = leading
    ? `SELECT doc, reason${part}, lead, CASE WHEN lead IS NULL THEN ${typedRow(keyShape(spec), 'doc')} END AS r
       FROM (SELECT doc, reason${part}, ${leading} AS lead FROM ${input.relation})`
    : `SELECT doc, reason${part}, ${typedRow(keyShape(spec), 'doc')} AS r FROM ${input.relation}`;
  return `CREATE OR REPLACE TEMP TABLE ${target} AS
    WITH parsed AS (${parsed}), leaves AS (
      SELECT *${leaves.select} FROM parsed
    ), keyed AS (
      SELECT doc, reason${part}, ${leading ? 'lead IS NULL AND ' : ''}r IS NULL AS malformed,
        ${leading ? `CASE WHEN lead IS NOT NULL THEN lead ELSE ${key} END` : key} AS k, ${window} AS w${leaves.scope ? `, ${leaves.scope} AS scope_value` : ''}
      FROM leaves
    ), scoping AS (
      SELECT *, CASE WHEN malformed OR k IS NULL OR w IS NULL THEN false ELSE ${scoped} END AS scoped FROM keyed
    ), picked AS (
      SELECT *, CASE WHEN scoped THEN ${sampled} ELSE false END AS picked FROM scoping
    ), checked AS (
      SELECT *, CASE WHEN picked AND ${tooDeepExpression('doc')} THEN 'too_deep' END AS rejected FROM picked
    ), classified AS (
      SELECT doc, k, w${part}, CASE WHEN malformed THEN coalesce(reason, 'malformed') WHEN rejected IS NOT NULL THEN rejected
          WHEN k IS NULL THEN 'missing_key' WHEN w IS NULL THEN 'missing_time' END AS invalid,
        picked AND rejected IS NULL AS compared, scoped
      FROM checked
    )
    SELECT coalesce(invalid, k) AS k${time ? ', w' : ''},
      CASE WHEN compared THEN ${hashes('doc')} END AS h,
      (CASE WHEN invalid IS NOT NULL THEN ${RECORD_STATUS.invalid} WHEN NOT scoped THEN ${RECORD_STATUS.outOfScope}
        WHEN NOT compared THEN ${RECORD_STATUS.sampledOut} ELSE ${RECORD_STATUS.compared} END)::UTINYINT AS status,
      ${partitionOf('k')} AS p${part}
    FROM classified`;
}

/** A records table's window column: a table without an event time keeps none (every record is in window 0). */
export function windowColumn(spec: DiffSpec, input: SideInput): string {
  return spec.time || input.keyed ? 'w' : '0::BIGINT';
}

/**
 * The raw texts whose hashes `wanted` (`rh`, `fh`: the halves of `textHashes`) selects, one per
 * hash: from a keyed input's buffer, or by reading the input again (no position needed: any text
 * of a hash is that text). There DuckDB's cheap `hash()` (`fh`) finds the few candidate rows, and
 * only those get the text hash that decides.
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

/**
 * One side's compared records as `(side, pos, w, k, h)` (`side`: 0 live, 1 other), with `part`,
 * their partition of `2^bits` (the top bits of `p`).
 */
export function comparedRowsSql(records: string, input: SideInput, side: 0 | 1, spec: DiffSpec, bits: number): string {
  return `SELECT ${side} AS side, ${positionOf(input)} AS pos, ${windowColumn(spec, input)} AS w, k, h,
      p >> ${PARTITION_HASH_BITS - bits} AS part
    FROM ${records} WHERE status = ${RECORD_STATUS.compared}`;
}

/**
 * The keys of `rows` (`comparedRowsSql`, or one partition of it), one row per (window, key): per
 * side the record the duplicates rule keeps (its position and hashes) and how many records the
 * key has there, and the outcome. One aggregate over both sides' records: it costs less than one
 * per side and a join of the two, and the duplicates rule needs the grouping anyway.
 */
export function alignSql(target: string, rows: string, spec: DiffSpec): string {
  const pick = spec.duplicates === 'first' ? 'min' : 'max';
  const argPick = spec.duplicates === 'first' ? 'arg_min' : 'arg_max';
  const ofSide = (side: number, prefix: string) =>
    `${pick}(pos) FILTER (side = ${side}) AS ${prefix}pos, ${argPick}(h, pos) FILTER (side = ${side}) AS ${prefix}h,
     count(*) FILTER (side = ${side}) AS ${prefix}count`;
  return `CREATE OR REPLACE TEMP TABLE ${target} AS
    SELECT *, CASE WHEN lcount = 0 THEN 'extra' WHEN ocount = 0 THEN 'missing' WHEN lh = oh THEN 'equal' ELSE 'pending' END
      AS outcome
    FROM (SELECT w, k, ${ofSide(0, 'l')}, ${ofSide(1, 'o')} FROM (${rows}) GROUP BY w, k)`;
}
