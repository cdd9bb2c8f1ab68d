import type { DuckDBConnection } from '@duckdb/node-api';
import { keyLabel } from '../align/keys.js';
import { ShadowdiffError } from '../errors.js';
import { EventLoopSlices } from '../slices.js';
import { type ProgressListener, queryRows, runWithProgress } from '../store/duckdb.js';
import { compareRecords } from './compare.js';
import { readDifferingTexts, textKey, wantedColumns } from './differing-texts.js';
import { parseExact } from './exact-json.js';
import { type AlignedOutcome, alignInPartitions, KeyPartitions, type SideRecords } from './key-partitions.js';
import { type FieldStats, type OutcomeStats, OutcomeTally } from './outcomes.js';
import { pathSegments } from './paths.js';
import { RECORD_STATUS } from './record-status.js';
import { recordsSql, typedRow, validateKeyPaths } from './records-sql.js';
import { redactor } from './redact.js';
import type { CompareRules } from './rules.js';
import { collectOneSided, invalidSamples, locateSamples, recordPair } from './sample-queries.js';
import { type DiffSample, type PendingSample, type RecordPair, SampleCollector } from './samples.js';
import { LEAF, type Shape, shapeFromStructure, withLeafAt } from './shape.js';
import type { DiffSpec, SideInput } from './spec.js';
import {
  fitsExpression,
  fullTextHash,
  identifier,
  normalizedExpression,
  roundedNumbersExpression,
  textHashes,
} from './sql.js';

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
  /** Pairs whose texts differed, and how many of them DuckDB settled equal as typed rows (`DiffTuning.settle`). */
  settle: SettleYield;
}

export interface SettleYield {
  /** Whether the typed rows were compared at all. */
  tried: boolean;
  /** Pairs whose texts differ. */
  pending: number;
  /** Of those, found equal as typed rows: the others were compared field by field. */
  settled: number;
}

export interface DiffStages {
  onStage?: (stage: string) => void;
  onProgress?: ProgressListener;
}

export interface DiffTuning {
  /** Compared records per key-hash partition of the aligning step (`ROWS_PER_PARTITION`); tests split small inputs with it. */
  rowsPerPartition?: number;
  /**
   * Compare pairs whose texts differ as typed rows in DuckDB before the field-by-field pass (the
   * default). false sends them all to that pass, which finds the same: where the typed rows settle
   * (almost) none, as when a field differs on every record, they only cost DuckDB a second parse.
   */
  settle?: boolean;
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

/** A side's records by status, before aligning: a keyed input holds compared records only. */
interface RecordCounts {
  compared: number;
  sampledOut: number;
  outOfScope: number;
  invalid: number;
  invalidReasons: Record<string, number>;
}

async function recordCounts(connection: DuckDBConnection, input: SideInput, records: string): Promise<RecordCounts> {
  const [row] = await queryRows<Record<string, bigint | null>>(
    connection,
    input.keyed
      ? `SELECT count(*) AS compared FROM ${records}`
      : `SELECT count(*) FILTER (status = ${RECORD_STATUS.compared}) AS compared,
           count(*) FILTER (status = ${RECORD_STATUS.sampledOut}) AS sampled_out,
           count(*) FILTER (status = ${RECORD_STATUS.outOfScope}) AS out_of_scope,
           count(*) FILTER (status = ${RECORD_STATUS.invalid}) AS invalid
         FROM ${records}`,
  );
  const invalid = Number(row?.invalid ?? 0);
  // An invalid record's key column holds its reason.
  const reasons =
    invalid > 0
      ? await queryRows<{ reason: string; n: bigint }>(
          connection,
          `SELECT k AS reason, count(*) AS n FROM ${records} WHERE status = ${RECORD_STATUS.invalid} GROUP BY 1`,
        )
      : [];
  return {
    compared: Number(row?.compared ?? 0),
    sampledOut: Number(row?.sampled_out ?? 0),
    outOfScope: Number(row?.out_of_scope ?? 0),
    invalid,
    invalidReasons: Object.fromEntries(reasons.map((r) => [r.reason, Number(r.n)])),
  };
}

/** What reading a side leaves for the later steps once its records table may be gone. */
interface SideRead {
  counts: RecordCounts;
  /** Its first invalid records, as samples. */
  invalid: PendingSample[];
  /** Of a side read from several files: each file's first position. */
  partStarts?: Map<number, number>;
}

function sideCounts(counts: RecordCounts, records: number, duplicates: number): SideCounts {
  return {
    valid: records + counts.sampledOut,
    invalid: counts.invalid,
    sampledOut: counts.sampledOut,
    outOfScope: counts.outOfScope,
    duplicates,
    invalidReasons: counts.invalidReasons,
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
  tuning: DiffTuning = {},
): Promise<PairResult> {
  validateKeyPaths(spec);
  const id = ++tableCounter;
  const t = (name: string) => identifier(`sd_${name}_${id}`);
  const liveRecords = t('live_records');
  const otherRecords = t('other_records');
  const aligned = t('aligned');
  const liveTexts = { name: `sd_live_texts_${id}`, sql: t('live_texts') };
  const otherTexts = { name: `sd_other_texts_${id}`, sql: t('other_texts') };
  const pairs = t('pairs');
  const redact = redactor(spec.redact, spec.key);
  const collector = new SampleCollector(spec.samplesPerGroup);
  const partitions = new KeyPartitions(tuning.rowsPerPartition);
  try {
    // Per side: its records table, its counts and invalid samples, its compared records into the
    // key-hash partitions; then, when those are files, the table is dropped before the next side is read.
    // Both sides' hashes must be of one kind: they are compared.
    const hashes = live.readTexts && other.readTexts ? fullTextHash : textHashes;
    const readSide = async (side: SideRecords, index: 0 | 1): Promise<SideRead> => {
      stages.onStage?.(`reading ${side.input.side}`);
      await runWithProgress(connection, recordsSql(side.records, side.input, spec, hashes), stages.onProgress);
      const counts = await recordCounts(connection, side.input, side.records);
      await partitions.add(connection, index, side, counts.compared, spec, stages.onProgress);
      const read: SideRead = {
        counts,
        invalid:
          counts.invalid > 0 ? await invalidSamples(connection, side.records, side.input, spec.samplesPerGroup) : [],
        ...(side.input.parts ? { partStarts: await partStarts(connection, side.records) } : {}),
      };
      if (partitions.copies && !side.input.keyed) await connection.run(`DROP TABLE ${side.records}`);
      return read;
    };
    const liveRead = await readSide({ records: liveRecords, input: live }, 0);
    const otherRead = await readSide({ records: otherRecords, input: other }, 1);

    stages.onStage?.('aligning keys');
    const alignedKeys = await alignInPartitions(connection, aligned, partitions, spec, stages.onProgress);
    const liveCounts = sideCounts(liveRead.counts, alignedKeys.records[0], alignedKeys.duplicates[0]);
    const otherCounts = sideCounts(otherRead.counts, alignedKeys.records[1], alignedKeys.duplicates[1]);
    if (spec.duplicates === 'error' && liveCounts.duplicates + otherCounts.duplicates > 0) {
      const dup = alignedKeys.duplicate;
      throw new ShadowdiffError(
        'SD_DIFF_DUPLICATE_KEY',
        `duplicate key ${JSON.stringify(dup ? keyLabel(dup.k) : undefined)} on ${dup?.side === 0 ? 'live' : other.side} (duplicates: error); ${liveCounts.duplicates} duplicate(s) on live, ${otherCounts.duplicates} on ${other.side}`,
      );
    }
    const outcomeCount = (outcome: AlignedOutcome) =>
      [...alignedKeys.windows.values()].reduce((sum, counts) => sum + counts[outcome], 0);
    // The texts of pending pairs and of the first missing and extra records (samples), read once
    // per side: the shape, the typed rows, the comparison and the samples read these few texts
    // again. A side with none of them is not read a second time.
    const pending = outcomeCount('pending');
    const settleRows = pending > 0 && tuning.settle !== false;
    stages.onStage?.('reading differing texts');
    for (const [input, records, texts, side, oneSided] of [
      [live, liveRecords, liveTexts, 'l', 'missing'],
      [other, otherRecords, otherTexts, 'o', 'extra'],
    ] as const) {
      const columns = wantedColumns(input, side);
      const first =
        collector.wants(oneSided) && outcomeCount(oneSided) > 0
          ? ` UNION ALL (SELECT ${columns} FROM ${aligned} WHERE outcome = '${oneSided}' ORDER BY ${side}pos LIMIT ${spec.samplesPerGroup})`
          : '';
      const wanted =
        pending > 0 || first ? `SELECT ${columns} FROM ${aligned} WHERE outcome = 'pending'${first}` : undefined;
      await readDifferingTexts(connection, texts, input, records, wanted, stages.onProgress);
    }
    if (pending > 0) {
      await connection.run(
        `CREATE OR REPLACE TEMP TABLE ${pairs} AS
          SELECT a.w, a.k, a.lpos, a.opos, l.doc AS ldoc, o.doc AS odoc, ${settleRows ? 'NULL' : 'false'}::BOOLEAN AS same
          FROM ${aligned} a JOIN ${liveTexts.sql} l ON l.${textKey(live)} = a.l${textKey(live)}
            JOIN ${otherTexts.sql} o ON o.${textKey(other)} = a.o${textKey(other)}
          WHERE a.outcome = 'pending'`,
      );
      if (settleRows) {
        stages.onStage?.('inferring record shape');
        const shape = await inferShape(connection, pairs, spec);
        await settleEqualHashes(connection, pairs, shape, spec.rules);
      }
    } else {
      await connection.run(
        `CREATE OR REPLACE TEMP TABLE ${pairs} (w BIGINT, k VARCHAR, lpos BIGINT, opos BIGINT, ldoc VARCHAR,
           odoc VARCHAR, same BOOLEAN)`,
      );
    }
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
    const add = (w: number, outcome: 'equal' | 'missing' | 'extra', n: number) => {
      if (n === 0) return;
      total[outcome] += n;
      tallyOf(w)[outcome] += n;
    };
    for (const [w, counts] of alignedKeys.windows) {
      for (const outcome of ['equal', 'missing', 'extra'] as const) add(w, outcome, counts[outcome]);
    }
    const settled = settleRows
      ? await queryRows<{ w: bigint; n: bigint }>(
          connection,
          `SELECT w, count(*) AS n FROM ${pairs} WHERE same GROUP BY w`,
        )
      : [];
    let settledPairs = 0;
    for (const row of settled) {
      add(Number(row.w), 'equal', Number(row.n));
      settledPairs += Number(row.n);
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
      await collectOneSided(connection, aligned, 'missing', live, liveTexts.sql, 'lpos', spec, collector, redact);
    }
    if (total.extra > 0) {
      await collectOneSided(connection, aligned, 'extra', other, otherTexts.sql, 'opos', spec, collector, redact);
    }
    for (const sample of [...liveRead.invalid, ...otherRead.invalid]) collector.add(sample, sample.side);

    return {
      live: liveCounts,
      other: otherCounts,
      ...total.stats(),
      samples: await locateSamples(
        collector.all(),
        [
          { input: live, partStarts: liveRead.partStarts },
          { input: other, partStarts: otherRead.partStarts },
        ],
        redact,
      ),
      windows: new Map([...perWindow].map(([w, tally]) => [w, tally.stats()])),
      settle: { tried: settleRows, pending, settled: settledPairs },
    };
  } finally {
    await partitions.remove();
    for (const [records, input] of [
      [liveRecords, live],
      [otherRecords, other],
    ] as const) {
      await connection.run(`DROP ${input.keyed ? 'VIEW' : 'TABLE'} IF EXISTS ${records}`);
    }
    for (const table of [aligned, liveTexts.sql, otherTexts.sql, pairs])
      await connection.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** The first position of each file of a side read from several, to locate its samples. */
async function partStarts(connection: DuckDBConnection, records: string): Promise<Map<number, number>> {
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
