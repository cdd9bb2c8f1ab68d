import type { DuckDBConnection } from '@duckdb/node-api';
import { keyLabel, samplingThreshold } from '../align/keys.js';
import type { ScopeConfig, Side, TimeConfig } from '../config/schema.js';
import { ShadowdiffError } from '../errors.js';
import { EventLoopSlices } from '../slices.js';
import { type ProgressListener, queryRows, runWithProgress } from '../store/duckdb.js';
import { compareRecords } from './compare.js';
import { parseExact } from './exact-json.js';
import { keyExpression, leafColumns, sampledExpression } from './key-sql.js';
import { type FieldStats, type OutcomeStats, OutcomeTally } from './outcomes.js';
import { pathSegments } from './paths.js';
import { redactor } from './redact.js';
import type { CompareRules } from './rules.js';
import { collectInvalid, collectOneSided, locateSamples, positionOf } from './sample-queries.js';
import { type DiffSample, type PendingSample, SampleCollector } from './samples.js';
import { inScopeExpression, scopeFieldPath } from './scope.js';
import { LEAF, type Shape, shapeFromStructure, transformStructure, withLeafAt } from './shape.js';
import {
  eventTimeExpression,
  fitsExpression,
  identifier,
  literal,
  normalizedExpression,
  roundedNumbersExpression,
  textHash,
  tooDeepExpression,
} from './sql.js';

/** What the engine needs to know of a comparison. */
export interface DiffSpec {
  key: readonly string[];
  time?: TimeConfig | undefined;
  windowMs: number;
  duplicates: 'last' | 'first' | 'error';
  /** Keys compare as text: the string `"12"` and the number `12` are one key. */
  keyAsText: boolean;
  rules: CompareRules;
  samplingRate: number;
  /** The slice every side is judged on (field and key range; files have no partitions). */
  scope?: ScopeConfig | undefined;
  redact: readonly string[];
  samplesPerGroup: number;
}

/**
 * One side's input: a SQL relation of `doc VARCHAR` (one JSON object text, NULL when the record
 * could not be decoded) and `reason VARCHAR` (why not, when the source knows), in arrival order.
 * A record's position is its 1-based row number in that order: it decides which duplicate is
 * first or last, and `locate` turns it into a source position.
 */
export interface SideInput {
  side: Side;
  relation: string;
  /**
   * True when the relation also has `k VARCHAR` (canonical key), `w BIGINT` (window start),
   * `pos BIGINT` (the record's position, growing with arrival) and `rh UBIGINT` (a hash of `doc`),
   * computed by the streaming ingest; the engine then uses them instead of reading them from `doc`
   * and the row order, and reads `doc` only for pairs whose hashes differ. A keyed
   * relation holds valid, sampled records only: the ingest counted the others.
   */
  keyed?: boolean;
  /**
   * True when the relation also has `part INTEGER`: which of the side's files (0-based) a record
   * comes from. `locate` then gets the first position of each part that holds records.
   */
  parts?: boolean;
  /** Labels of source positions for samples (`live.ndjson:12`), and raw text of undecodable records. */
  locate(
    positions: number[],
    partStarts?: ReadonlyMap<number, number>,
  ): Promise<Map<number, { label: string; raw?: string }>>;
}

export interface SideCounts {
  /** Valid records read, duplicates included. */
  valid: number;
  invalid: number;
  sampledOut: number;
  /** Valid records outside the scope (not in `valid`): out of scope, or unexpected on a candidate held to it. */
  outOfScope: number;
  duplicates: number;
  /** Invalid records by reason (`missing_key`, `missing_time`, `malformed`, or the decoder's reason). */
  invalidReasons: Record<string, number>;
}

export type { FieldStats, OutcomeStats };

export interface PairResult extends OutcomeStats {
  live: SideCounts;
  other: SideCounts;
  samples: DiffSample[];
  /** The same statistics per window start, for windows of event time (the service closes several at once). */
  windows: Map<number, OutcomeStats>;
}

export interface DiffStages {
  onStage?: (stage: string) => void;
  onProgress?: ProgressListener;
}

const SHAPE_SAMPLE_ROWS = 5000;

let tableCounter = 0;

/**
 * Infers the record shape from the pairs whose raw texts differ (the only ones typed rows are built
 * for), and forces the key and time paths in. A shape that misses members costs no correctness:
 * pairs whose typed rows do not hold their whole text are compared field by field.
 */
async function inferShape(connection: DuckDBConnection, pairs: string, spec: DiffSpec): Promise<Shape> {
  const [row] = await queryRows<{ s: string | null }>(
    connection,
    `SELECT json_group_structure(doc::JSON)::VARCHAR AS s FROM (
       (SELECT ldoc AS doc FROM ${pairs} LIMIT ${SHAPE_SAMPLE_ROWS})
       UNION ALL (SELECT odoc FROM ${pairs} LIMIT ${SHAPE_SAMPLE_ROWS}))`,
  );
  let shape = row?.s ? shapeFromStructure(JSON.parse(row.s)) : LEAF;
  for (const path of spec.key) if (!path.startsWith('$')) shape = withLeafAt(shape, pathSegments(path));
  if (spec.time && 'field' in spec.time) shape = withLeafAt(shape, pathSegments(spec.time.field));
  return shape;
}

function validateKeyPaths(spec: DiffSpec): void {
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
function recordsSql(target: string, input: SideInput, spec: DiffSpec): string {
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
function textsSql(target: string, input: SideInput, records: string, wanted: string): string {
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
function uniqueSql(target: string, records: string, input: SideInput, spec: DiffSpec): string {
  const pick = spec.duplicates === 'first' ? 'min_by' : 'max_by';
  return `CREATE OR REPLACE TEMP TABLE ${target} AS
    SELECT w, k, ${pick}(pos, pos) AS pos, ${pick}(rh, pos) AS rh, ${pick}(fh, pos) AS fh, count(*) AS n
    FROM (SELECT ${positionOf(input)} AS pos, w, k, rh, fh, sampled FROM ${records}) WHERE sampled GROUP BY w, k`;
}

/**
 * A keyed input holds valid, sampled records only, so its unique table alone tells its counts: no
 * second scan of the buffer.
 */
async function sideCounts(
  connection: DuckDBConnection,
  input: SideInput,
  records: string,
  unique: string,
): Promise<SideCounts> {
  const duplicates = `(SELECT coalesce(sum(n - 1), 0) FROM ${unique})`;
  const [row] = await queryRows<Record<string, bigint | number | null>>(
    connection,
    input.keyed
      ? `SELECT coalesce(sum(n), 0) AS valid, 0 AS invalid, 0 AS sampled_out, 0 AS out_of_scope,
           ${duplicates} AS duplicates FROM ${unique}`
      : `SELECT count(*) FILTER (invalid IS NULL AND scoped) AS valid, count(*) FILTER (invalid IS NOT NULL) AS invalid,
           count(*) FILTER (scoped AND NOT sampled) AS sampled_out,
           count(*) FILTER (invalid IS NULL AND NOT scoped) AS out_of_scope, ${duplicates} AS duplicates
         FROM ${records}`,
  );
  const invalid = Number(row?.invalid ?? 0);
  const reasons =
    invalid > 0
      ? await queryRows<{ reason: string; n: bigint }>(
          connection,
          `SELECT invalid AS reason, count(*) AS n FROM ${records} WHERE invalid IS NOT NULL GROUP BY 1`,
        )
      : [];
  return {
    valid: Number(row?.valid ?? 0),
    invalid,
    sampledOut: Number(row?.sampled_out ?? 0),
    outOfScope: Number(row?.out_of_scope ?? 0),
    duplicates: Number(row?.duplicates ?? 0),
    invalidReasons: Object.fromEntries(reasons.map((r) => [r.reason, Number(r.n)])),
  };
}

/**
 * Diffs two sides in DuckDB: typed rows, hash comparison first, and a field-by-field comparison
 * only for pairs whose hashes differ (or whose hash cannot be trusted).
 */
export async function diffPair(
  connection: DuckDBConnection,
  spec: DiffSpec,
  live: SideInput,
  other: SideInput,
  stages: DiffStages = {},
): Promise<PairResult> {
  validateKeyPaths(spec);
  const id = ++tableCounter;
  const t = (name: string) => identifier(`sd_${name}_${id}`);
  const liveRecords = t('live_records');
  const otherRecords = t('other_records');
  const liveUnique = t('live_unique');
  const otherUnique = t('other_unique');
  const aligned = t('aligned');
  const liveTexts = t('live_texts');
  const otherTexts = t('other_texts');
  const pairs = t('pairs');
  const redact = redactor(spec.redact, spec.key);
  const collector = new SampleCollector(spec.samplesPerGroup);
  try {
    stages.onStage?.(`reading ${live.side}`);
    await runWithProgress(connection, recordsSql(liveRecords, live, spec), stages.onProgress);
    stages.onStage?.(`reading ${other.side}`);
    await runWithProgress(connection, recordsSql(otherRecords, other, spec), stages.onProgress);

    stages.onStage?.('aligning keys');
    await connection.run(uniqueSql(liveUnique, liveRecords, live, spec));
    await connection.run(uniqueSql(otherUnique, otherRecords, other, spec));
    const liveCounts = await sideCounts(connection, live, liveRecords, liveUnique);
    const otherCounts = await sideCounts(connection, other, otherRecords, otherUnique);
    if (spec.duplicates === 'error' && liveCounts.duplicates + otherCounts.duplicates > 0) {
      const [dup] = await queryRows<{ k: string; side: string }>(
        connection,
        `SELECT k, 'live' AS side FROM ${liveUnique} WHERE n > 1 UNION ALL SELECT k, '${other.side}' FROM ${otherUnique} WHERE n > 1 LIMIT 1`,
      );
      throw new ShadowdiffError(
        'SD_DIFF_DUPLICATE_KEY',
        `duplicate key ${JSON.stringify(dup ? keyLabel(dup.k) : undefined)} on ${dup?.side} (duplicates: error); ${liveCounts.duplicates} duplicate(s) on live, ${otherCounts.duplicates} on ${other.side}`,
      );
    }
    await runWithProgress(
      connection,
      `CREATE OR REPLACE TEMP TABLE ${aligned} AS
        SELECT coalesce(l.w, o.w) AS w, coalesce(l.k, o.k) AS k, l.pos AS lpos, o.pos AS opos, l.rh AS lrh, o.rh AS orh,
          l.fh AS lfh, o.fh AS ofh,
          CASE WHEN l.k IS NULL THEN 'extra' WHEN o.k IS NULL THEN 'missing'
               WHEN l.rh = o.rh THEN 'equal' ELSE 'pending' END AS outcome
        FROM ${liveUnique} l FULL OUTER JOIN ${otherUnique} o ON l.w = o.w AND l.k = o.k`,
      stages.onProgress,
    );
    const outcomes = await queryRows<{ outcome: string; n: bigint }>(
      connection,
      `SELECT outcome, count(*) AS n FROM ${aligned} GROUP BY outcome`,
    );
    const outcomeCount = (outcome: string) => Number(outcomes.find((row) => row.outcome === outcome)?.n ?? 0);
    // The texts of pending pairs and of the first missing and extra records (samples), read once
    // per side: the shape, the typed rows, the comparison and the samples read these few texts
    // again. A side with none of them is not read a second time.
    const firstOf = (outcome: 'missing' | 'extra', side: 'l' | 'o') =>
      collector.wants(outcome) && outcomeCount(outcome) > 0
        ? ` UNION ALL (SELECT ${side}rh, ${side}fh FROM ${aligned} WHERE outcome = '${outcome}' ORDER BY ${side}pos LIMIT ${spec.samplesPerGroup})`
        : '';
    const pending = outcomeCount('pending');
    stages.onStage?.('reading differing texts');
    for (const [input, records, texts, side, more] of [
      [live, liveRecords, liveTexts, 'l', firstOf('missing', 'l')],
      [other, otherRecords, otherTexts, 'o', firstOf('extra', 'o')],
    ] as const) {
      const wanted = `SELECT ${side}rh AS rh, ${side}fh AS fh FROM ${aligned} WHERE outcome = 'pending'${more}`;
      if (pending > 0 || more)
        await runWithProgress(connection, textsSql(texts, input, records, wanted), stages.onProgress);
      else await connection.run(`CREATE OR REPLACE TEMP TABLE ${texts} (rh UBIGINT, doc VARCHAR)`);
    }
    if (pending > 0) {
      await connection.run(
        `CREATE OR REPLACE TEMP TABLE ${pairs} AS
          SELECT a.w, a.k, a.lpos, a.opos, l.doc AS ldoc, o.doc AS odoc, NULL::BOOLEAN AS same
          FROM ${aligned} a JOIN ${liveTexts} l ON l.rh = a.lrh JOIN ${otherTexts} o ON o.rh = a.orh
          WHERE a.outcome = 'pending'`,
      );
      stages.onStage?.('inferring record shape');
      const shape = await inferShape(connection, pairs, spec);
      await settleEqualHashes(connection, pairs, shape, spec.rules);
    } else {
      await connection.run(
        `CREATE OR REPLACE TEMP TABLE ${pairs} (w BIGINT, k VARCHAR, lpos BIGINT, opos BIGINT, ldoc VARCHAR,
           odoc VARCHAR, same BOOLEAN)`,
      );
    }
    const outcomeRows = await queryRows<{ w: bigint; outcome: string; n: bigint }>(
      connection,
      `SELECT w, outcome, count(*) AS n FROM ${aligned} WHERE outcome <> 'pending' GROUP BY w, outcome
       UNION ALL SELECT w, 'equal', count(*) FROM ${pairs} WHERE same GROUP BY w`,
    );
    const total = new OutcomeTally();
    const perWindow = new Map<number, OutcomeTally>();
    const tallyOf = (w: bigint | number) => {
      let tally = perWindow.get(Number(w));
      if (!tally) {
        tally = new OutcomeTally();
        perWindow.set(Number(w), tally);
      }
      return tally;
    };
    for (const row of outcomeRows) {
      const outcome = row.outcome as 'equal' | 'missing' | 'extra';
      total[outcome] += Number(row.n);
      tallyOf(row.w)[outcome] += Number(row.n);
    }

    stages.onStage?.('comparing differing records');
    const checkResult = await connection.stream(
      `SELECT k, w, lpos, opos, ldoc, odoc FROM ${pairs} WHERE NOT same ORDER BY lpos`,
    );
    // In source order, so samples are the earliest differing records: locating their lines reads
    // only the start of a file.
    const slices = new EventLoopSlices();
    for await (const rows of checkResult.yieldRowsJs()) {
      for (const [k, w, lpos, opos, ldoc, odoc] of rows as [string, bigint, bigint, bigint, string, string][]) {
        await slices.pause();
        const differences = compareRecords(parseExact(ldoc), parseExact(odoc), spec.rules);
        if (differences.length === 0) {
          total.equal++;
          tallyOf(w).equal++;
          continue;
        }
        total.addDifferences(differences);
        tallyOf(w).addDifferences(differences);
        for (const difference of differences) {
          if (!collector.wants('different', difference.path)) continue;
          collector.add({
            outcome: 'different',
            key: keyLabel(k),
            ...(spec.time ? { window: Number(w) } : {}),
            field: difference.path,
            kind: difference.kind,
            live: redact(difference.live, difference.path),
            candidate: redact(difference.candidate, difference.path),
            positions: { live: Number(lpos), [other.side]: Number(opos) },
          });
        }
      }
    }

    stages.onStage?.('collecting samples');
    // Each query reads a side's texts: skipped when there is nothing of its kind to sample.
    if (total.missing > 0) {
      await collectOneSided(connection, aligned, 'missing', live, liveTexts, 'lpos', spec, collector, redact);
    }
    if (total.extra > 0) {
      await collectOneSided(connection, aligned, 'extra', other, otherTexts, 'opos', spec, collector, redact);
    }
    if (liveCounts.invalid > 0) await collectInvalid(connection, liveRecords, live, spec.samplesPerGroup, collector);
    if (otherCounts.invalid > 0) await collectInvalid(connection, otherRecords, other, spec.samplesPerGroup, collector);

    return {
      live: liveCounts,
      other: otherCounts,
      ...total.stats(),
      samples: await locateSamples(
        collector.all(),
        [
          { input: live, partStarts: await partStarts(connection, live, liveRecords, collector.all()) },
          { input: other, partStarts: await partStarts(connection, other, otherRecords, collector.all()) },
        ],
        redact,
      ),
      windows: new Map([...perWindow].map(([w, tally]) => [w, tally.stats()])),
    };
  } finally {
    for (const [records, input] of [
      [liveRecords, live],
      [otherRecords, other],
    ] as const) {
      await connection.run(`DROP ${input.keyed ? 'VIEW' : 'TABLE'} IF EXISTS ${records}`);
    }
    for (const table of [liveUnique, otherUnique, aligned, liveTexts, otherTexts, pairs])
      await connection.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** The first position of each file of a side read from several, when a sample needs locating there. */
async function partStarts(
  connection: DuckDBConnection,
  input: SideInput,
  records: string,
  samples: readonly PendingSample[],
): Promise<Map<number, number> | undefined> {
  if (!input.parts || !samples.some((sample) => sample.positions[input.side] !== undefined)) return undefined;
  const rows = await queryRows<{ part: number; first: bigint }>(
    connection,
    `SELECT part, min(rowid) + 1 AS first FROM ${records} GROUP BY part`,
  );
  return new Map(rows.map((row) => [Number(row.part), Number(row.first)]));
}

/**
 * Pending pairs (raw texts differ) are the same when their typed rows, normalized by the rules,
 * are equal, both typed rows provably hold every member of their raw text and no number in
 * them may have been rounded; the others are compared field by field.
 */
async function settleEqualHashes(
  connection: DuckDBConnection,
  pairs: string,
  shape: Shape,
  rules: CompareRules,
): Promise<void> {
  // Compared, not hashed: DuckDB's hash() of nested values collides as it does for texts.
  const equal = `(${normalizedExpression(shape, rules, 'lrow')}) IS NOT DISTINCT FROM (${normalizedExpression(shape, rules, 'orow')})
    AND ${fitsExpression(shape, rules, 'ldoc', 'lrow')} AND ${fitsExpression(shape, rules, 'odoc', 'orow')}
    AND NOT ${roundedNumbersExpression('ldoc')} AND NOT ${roundedNumbersExpression('odoc')}`;
  await connection.run(
    `UPDATE ${pairs} p SET same = s.same
     FROM (SELECT lpos, coalesce(${equal}, false) AS same
           FROM (SELECT lpos, ldoc, ${typedRow(shape, 'ldoc')} AS lrow, odoc, ${typedRow(shape, 'odoc')} AS orow
                 FROM ${pairs})) s
     WHERE p.lpos = s.lpos`,
  );
}
