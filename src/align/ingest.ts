import { durationMs } from '../config/duration.js';
import type { ComparisonConfig, Side } from '../config/schema.js';
import { keyExpression, leafColumns, sampledExpression } from '../diff/key-sql.js';
import { pathSegments } from '../diff/paths.js';
import { keyShape, typedRow } from '../diff/records-sql.js';
import { inScopeExpression, type OutsideStatus, outsideStatus, scopeFieldPath } from '../diff/scope.js';
import { eventTimeExpression, MAX_DEPTH, tooDeepExpression } from '../diff/sql.js';
import { KAFKA_KEY, samplingThreshold } from './keys.js';
import type { PackedPartition } from './prepare.js';

/**
 * Separates the records of a batch in the one text that carries them into DuckDB. U+001E never
 * stands unescaped in JSON text, so a record holding it is malformed and never reaches the text.
 */
export const RECORD_SEPARATOR = '\u001e';
const RECORD_SEPARATOR_BYTE = RECORD_SEPARATOR.charCodeAt(0);

/** True when a text, or its UTF-8 bytes, holds RECORD_SEPARATOR and so cannot travel in a batch. */
export function holdsRecordSeparator(text: Buffer | string): boolean {
  return typeof text === 'string' ? text.includes(RECORD_SEPARATOR) : text.includes(RECORD_SEPARATOR_BYTE);
}

/**
 * Where each record of a batch goes (SPEC §9): an open window's buffer, or a final count. A record
 * the log gives back after a restart (a replay: counted before) is only `rebuffered` when its
 * window is still open, or else `replayed` (left alone): it is never counted twice.
 */
export type IngestStatus =
  | 'buffered'
  | 'sampled_out'
  | 'late'
  | 'invalid'
  | 'out_of_scope'
  | 'unexpected'
  | 'rebuffered'
  | 'replayed';

/** Which windows take no more records: those closed, and those expired (a side stopped). */
export interface OpenFrom {
  /** Records of windows ending (plus lateness) at or before this are late. */
  closedThrough: number | null;
  /** Records of windows starting before this are late. */
  expiredBefore: number | null;
}

export interface IngestPlan {
  readonly windowMs: number;
  readonly latenessMs: number;
  /** The batch carries each record's Kafka key (`$kafkaKey`). */
  readonly recordKeys: boolean;
  /** The batch carries each record's Kafka timestamp (`time: {source: kafka}`). */
  readonly recordTimestamps: boolean;
  /**
   * A query of the records (ordinal, part, position, doc, k, w, event_time, reason, status) of up
   * to `slots` packs, `part` being a pack's slot. Its parameters, from $1
   * on: `packValues` of each slot in turn (NULL for every value of a slot without a pack), then
   * `openValues`. Its text depends on `slots` only, so one prepared statement serves every batch
   * that fits: planning it took longer than classifying a batch of thousands of records.
   */
  classifySql(slots: number): string;
  /**
   * A pack's parameters: its docs joined by RECORD_SEPARATOR (UTF-8, as a BLOB), their positions
   * joined by commas, then its record keys joined by RECORD_SEPARATOR (recordKeys), its
   * timestamps joined by commas (recordTimestamps), the ordinal its first record follows
   * (`first`), its record count and whether it holds replays, as text.
   */
  packValues(pack: PackedPartition, first: number): [Uint8Array, ...string[]];
  /** Parameters per slot. */
  readonly valuesPerPack: number;
  /** The last parameters: which windows take no more records (null binds NULL). */
  openValues(open: OpenFrom): (string | null)[];
  /** How many parameters the classify query of `slots` packs takes. */
  parameterCount(slots: number): number;
  /**
   * The texts nested past MAX_DEPTH are found apart from the classify query: its regular
   * expressions cost DuckDB ~7 ms to compile on every run, however few records, while only long
   * texts with many brackets can nest that deep. `candidate` is true of the classified rows that
   * could; only when any row of `table` (filtered by `where`) is one does `update` mark those that
   * do `too_deep` (invalid, or left alone when a replay), as the classify query would have.
   */
  tooDeep(table: string, where: string): { candidate: string; update: string };
  /** What the records a side's batch finds outside the scope count as (`out_of_scope` in the statement). */
  outsideStatus(side: Side): OutsideStatus;
}

/**
 * The streaming side of SPEC §1 and §3, in DuckDB SQL (one vectorized pass per batch, off the JS
 * thread): keys and event times read as the batch engine reads them, the scope's field and key
 * range and sampling before any buffering (the same key hash as batch), windows, and lateness. A
 * record for a window that already closed (its end plus the allowed lateness is at or before
 * `closedThrough`) is late: counted, never buffered.
 */
export function ingestPlan(comparison: ComparisonConfig): IngestPlan {
  const windowMs = durationMs(comparison.window.size);
  const latenessMs = durationMs(comparison.window.allowedLateness);
  const recordKeys = comparison.key.length === 1 && comparison.key[0] === KAFKA_KEY;
  const time = comparison.time;
  const recordTimestamps = !time || !('field' in time);
  const fieldKeys = recordKeys ? [] : comparison.key;
  const shape = keyShape({ key: fieldKeys, time, scope: comparison.scope });
  const parsed =
    shape.kind === 'object' && shape.members.size > 0
      ? typedRow(shape, 'doc')
      : "CASE WHEN starts_with(ltrim(doc), '{') AND json_valid(doc) THEN true END";
  const leaves = leafColumns(
    fieldKeys.map(pathSegments),
    time && 'field' in time ? pathSegments(time.field) : undefined,
    scopeFieldPath(comparison.scope),
  );
  const key = recordKeys ? "nullif(record_key, '')" : keyExpression(leaves.keys, comparison.keyAsText);
  const eventTime =
    time && 'field' in time && leaves.time ? eventTimeExpression(leaves.time, time.unit) : 'record_time';
  const sampled = sampledExpression('k', samplingThreshold(comparison.sampling.rate), comparison.keyAsText);
  const scoped = inScopeExpression(comparison.scope, 'k', leaves.scope && 'scope_value', comparison.keyAsText);
  const scopeValue = leaves.scope ? `, ${leaves.scope} AS scope_value` : '';
  // Each pack binds its blob, then its texts, then first (ordinal), n and replay; part is a literal.
  const textColumns = [
    'positions',
    ...(recordKeys ? ['record_keys'] : []),
    ...(recordTimestamps ? ['record_times'] : []),
  ];
  const packColumns = ['pack', ...textColumns, 'first', 'n', 'replay', 'part'];
  const columns = [
    'part',
    'replay',
    'unnest(string_split(decode(pack), chr(30))) AS raw',
    "unnest(string_split(positions, ','))::BIGINT AS position",
    // Not rowid: rows of a table made inside a transaction have row ids from 2^55 on. A range
    // unnests as fast as the texts; generate_subscripts of a parameter costs 5 times more.
    'unnest(range(first + 1, first + n + 1)) AS ordinal',
    ...(recordKeys ? ['unnest(string_split(record_keys, chr(30))) AS record_key'] : []),
    ...(recordTimestamps ? ["unnest(string_split(record_times, ','))::BIGINT AS record_time"] : []),
  ];
  const valuesPerPack = 4 + textColumns.length;
  const packRow = (part: number) => {
    const parameter = (i: number) => `$${part * valuesPerPack + i + 1}`;
    const texts = textColumns.map((_, i) => `${parameter(i + 1)}::VARCHAR`);
    const at = 1 + textColumns.length;
    const numbers = [`${parameter(at)}::BIGINT`, `${parameter(at + 1)}::BIGINT`, `${parameter(at + 2)}::BOOLEAN`];
    return `(${[`${parameter(0)}::BLOB`, ...texts, ...numbers, part].join(', ')})`;
  };
  return {
    windowMs,
    latenessMs,
    recordKeys,
    recordTimestamps,
    valuesPerPack,
    classifySql(slots) {
      const closedThrough = `$${slots * valuesPerPack + 1}::BIGINT`;
      const expiredBefore = `$${slots * valuesPerPack + 2}::BIGINT`;
      const isLate = `coalesce(w + ${windowMs + latenessMs} <= ${closedThrough}, false) OR coalesce(w < ${expiredBefore}, false)`;
      const packs = Array.from({ length: slots }, (_, part) => packRow(part));
      // A pack per row, not one text for the batch: each pack binds on its own (no joined copy).
      return `WITH packs AS (SELECT * FROM (VALUES ${packs.join(', ')}) p(${packColumns.join(', ')}) WHERE n > 0),
        batch AS (SELECT ${columns.join(', ')} FROM packs),
        parsed AS (
          SELECT *, ${parsed} AS r
          FROM (SELECT *, CASE WHEN starts_with(raw, chr(65279)) THEN raw[2:] ELSE raw END AS doc FROM batch)
        ), leaves AS (
          SELECT *${leaves.select} FROM parsed
        ), keyed AS (
          SELECT ordinal, part, replay, position, doc, r IS NULL AS unparsed, ${key} AS k, ${eventTime} AS event_time,
            CAST(NULL AS VARCHAR) AS rejected${scopeValue}
          FROM leaves
        ), classified AS (
          SELECT ordinal, part, replay, position, doc, k, event_time, (floor(event_time / ${windowMs}) * ${windowMs})::BIGINT AS w,
            CASE WHEN unparsed THEN CASE WHEN json_valid(doc) THEN 'not_object' ELSE 'malformed' END
              WHEN rejected IS NOT NULL THEN rejected WHEN k IS NULL THEN 'missing_key' WHEN event_time IS NULL THEN 'missing_time' END AS reason${leaves.scope ? ', scope_value' : ''}
          FROM keyed
        ), scoped AS (
          SELECT *, CASE WHEN reason IS NULL THEN ${scoped} ELSE false END AS in_scope FROM classified
        )
        SELECT ordinal, part, position, doc, k, w, event_time, reason,
          CASE WHEN replay THEN
              CASE WHEN reason IS NULL AND in_scope AND (${sampled}) AND NOT (${isLate}) THEN 'rebuffered' ELSE 'replayed' END
            WHEN reason IS NOT NULL THEN 'invalid' WHEN NOT in_scope THEN 'out_of_scope' WHEN NOT (${sampled}) THEN 'sampled_out'
            WHEN ${isLate} THEN 'late' ELSE 'buffered' END AS status
        FROM scoped`;
    },
    packValues(pack, first) {
      return [
        pack.docs,
        pack.positions,
        ...(recordKeys ? [pack.keys ?? ''] : []),
        ...(recordTimestamps ? [pack.timestamps ?? ''] : []),
        String(first),
        String(pack.count),
        String(pack.replay === true),
      ];
    },
    tooDeep(table, where) {
      // Reasons found before nesting is looked at: their records stay as they are.
      const candidate = `coalesce(reason NOT IN ('malformed', 'not_object'), true)
        AND strlen(doc) > ${2 * MAX_DEPTH} AND len(string_split(doc, '{')) + len(string_split(doc, '[')) > ${MAX_DEPTH + 2}`;
      return {
        candidate,
        update: `UPDATE ${table} SET
            status = CASE WHEN status IN ('rebuffered', 'replayed') THEN 'replayed' ELSE 'invalid' END,
            reason = 'too_deep'
          WHERE ${where} AND ${candidate} AND ${tooDeepExpression('doc')}`,
      };
    },
    parameterCount(slots) {
      return slots * valuesPerPack + 2;
    },
    openValues(open) {
      return [open.closedThrough, open.expiredBefore].map((value) => (value === null ? null : String(value)));
    },
    outsideStatus: (side) => outsideStatus(comparison.scope, side),
  };
}
