import type { DuckDBConnection } from '@duckdb/node-api';
import { keyLabel } from '../align/keys.js';
import { ShadowdiffError } from '../errors.js';
import { EventLoopSlices } from '../slices.js';
import { type ProgressListener, queryRows, runWithProgress } from '../store/duckdb.js';
import { compareRecords } from './compare.js';
import { parseExact } from './exact-json.js';
import { type FieldStats, type OutcomeStats, OutcomeTally } from './outcomes.js';
import { pathSegments } from './paths.js';
import { recordsSql, textsSql, typedRow, uniqueSql, validateKeyPaths } from './records-sql.js';
import { redactor } from './redact.js';
import type { CompareRules } from './rules.js';
import { collectInvalid, collectOneSided, locateSamples, recordPair } from './sample-queries.js';
import { type DiffSample, type PendingSample, type RecordPair, SampleCollector } from './samples.js';
import { LEAF, type Shape, shapeFromStructure, withLeafAt } from './shape.js';
import type { DiffSpec, SideInput } from './spec.js';
import { fitsExpression, identifier, normalizedExpression, roundedNumbersExpression } from './sql.js';

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

export type { DiffSpec, FieldStats, OutcomeStats, SideInput };

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
        let pair: RecordPair | undefined;
        for (const difference of differences) {
          if (!collector.wants('different', difference.path)) continue;
          pair ??= recordPair(ldoc, odoc, differences, redact);
          collector.add({
            outcome: 'different',
            key: keyLabel(k),
            ...(spec.time ? { window: Number(w) } : {}),
            field: difference.path,
            kind: difference.kind,
            live: redact(difference.live, difference.path),
            candidate: redact(difference.candidate, difference.path),
            positions: { live: Number(lpos), [other.side]: Number(opos) },
            pair,
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
