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
export const RECORD_SEPARATOR_BYTE = RECORD_SEPARATOR.charCodeAt(0);

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

/**
 * What one pack binds, each as its own type: a statement whose parameters are bound with another
 * type (or NULL) is planned again with their values on every run, where DuckDB folded the packs'
 * lists into constants at 1–2 µs per record, ten times what splitting them costs.
 */
export interface PackValues {
  /** The texts joined by RECORD_SEPARATOR, as UTF-8 (BLOB). */
  docs: Uint8Array;
  /** Positions joined by commas (VARCHAR). */
  positions: string;
  /** Kafka record keys joined by RECORD_SEPARATOR; empty without (VARCHAR). */
  keys: string;
  /** Kafka timestamps joined by commas; empty without (VARCHAR). */
  times: string;
  /** BIGINT. */
  shift: bigint;
  /** The pack holds replays (BOOLEAN). */
  replay: boolean;
}

/** Stands for "no window closed or expired yet": a BIGINT, as the statement binds it, not NULL. */
const NO_TIME = -(2n ** 62n);

export interface IngestPlan {
  readonly windowMs: number;
  readonly latenessMs: number;
  /** The batch carries each record's Kafka key (`$kafkaKey`). */
  readonly recordKeys: boolean;
  /** The batch carries each record's Kafka timestamp (`time: {source: kafka}`). */
  readonly recordTimestamps: boolean;
  /**
   * A query of the records (ordinal, part, position, doc, k, w, event_time, reason, status) of
   * `slots` packs, `part` being a pack's slot. Its parameters, from $1 on: `packValues` of each
   * slot in turn, then `openValues`. Its text depends on `slots` only, so one prepared statement
   * serves every batch of as many packs: planning it took longer than classifying a batch of
   * thousands of records.
   */
  classifySql(slots: number): string;
  /** The window an event time falls in, as the query computes it. */
  windowOf(eventTime: number): number;
  /** Whether window `w` takes no more records, as the query decides it. */
  isLate(w: number, open: OpenFrom): boolean;
  /** A pack's parameters, `shift` being what its positions are shifted by to give each record's ordinal in the batch. */
  packValues(pack: PackedPartition, shift: number): PackValues;
  /** Parameters per slot, in the order of PackValues' members. */
  readonly valuesPerPack: number;
  /** The last two parameters: which windows take no more records (BIGINTs). */
  openValues(open: OpenFrom): [bigint, bigint];
  /** How many parameters the query of `slots` packs takes. */
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
  // Each pack is a SELECT of its own parameters, unnested there: unnesting from a table of packs
  // cost ten times as much. A slot's part is a literal.
  const valuesPerPack = 6;
  const packSelect = (slot: number) => {
    const parameter = (i: number) => `$${slot * valuesPerPack + i + 1}`;
    const split = (i: number, separator: string) => `unnest(string_split(${parameter(i)}::VARCHAR, ${separator}))`;
    const keys = recordKeys ? `${split(2, 'chr(30)')} AS record_key` : `${parameter(2)}::VARCHAR AS no_keys`;
    const times = recordTimestamps
      ? `${split(3, "','")}::BIGINT AS record_time`
      : `${parameter(3)}::VARCHAR AS no_times`;
    return `SELECT ${slot} AS part, ${parameter(5)}::BOOLEAN AS replay, ${parameter(4)}::BIGINT AS shift,
      unnest(string_split(decode(${parameter(0)}::BLOB), chr(30))) AS raw, ${split(1, "','")}::BIGINT AS position, ${keys}, ${times}`;
  };
  // A record's place in its batch follows its position (not rowid: rows of a table made inside a
  // transaction have row ids from 2^55 on), so the packs of one partition interleave as it delivered them.
  const packsOf = (slots: number) =>
    `(SELECT *, position + shift AS ordinal FROM (${Array.from({ length: slots }, (_, slot) => packSelect(slot)).join(' UNION ALL ')}))`;
  const windowOf = (time: string) => `(floor(${time} / ${windowMs}) * ${windowMs})::BIGINT`;
  const lateness = (slots: number) => {
    const closedThrough = `$${slots * valuesPerPack + 1}::BIGINT`;
    const expiredBefore = `$${slots * valuesPerPack + 2}::BIGINT`;
    return `w + ${windowMs + latenessMs} <= ${closedThrough} OR w < ${expiredBefore}`;
  };
  // A flat CASE over columns: one with parameters in its branches cost DuckDB ten times as much.
  const statusOf = `CASE WHEN replay AND reason IS NULL AND in_scope AND is_sampled AND NOT is_late THEN 'rebuffered'
      WHEN replay THEN 'replayed' WHEN reason IS NOT NULL THEN 'invalid' WHEN NOT in_scope THEN 'out_of_scope'
      WHEN NOT is_sampled THEN 'sampled_out' WHEN is_late THEN 'late' ELSE 'buffered' END AS status`;
  return {
    windowMs,
    latenessMs,
    recordKeys,
    recordTimestamps,
    valuesPerPack,
    classifySql(slots) {
      const isLate = lateness(slots);
      return `WITH parsed AS (
          SELECT *, ${parsed} AS r
          FROM (SELECT *, CASE WHEN starts_with(raw, chr(65279)) THEN raw[2:] ELSE raw END AS doc FROM ${packsOf(slots)})
        ), leaves AS (
          SELECT *${leaves.select} FROM parsed
        ), keyed AS (
          SELECT ordinal, part, replay, position, doc, r IS NULL AS unparsed, ${key} AS k, ${eventTime} AS event_time,
            CAST(NULL AS VARCHAR) AS rejected${scopeValue}
          FROM leaves
        ), classified AS (
          SELECT ordinal, part, replay, position, doc, k, event_time, ${windowOf('event_time')} AS w,
            CASE WHEN unparsed THEN CASE WHEN json_valid(doc) THEN 'not_object' ELSE 'malformed' END
              WHEN rejected IS NOT NULL THEN rejected WHEN k IS NULL THEN 'missing_key' WHEN event_time IS NULL THEN 'missing_time' END AS reason${leaves.scope ? ', scope_value' : ''}
          FROM keyed
        ), scoped AS (
          SELECT *, CASE WHEN reason IS NULL THEN ${scoped} ELSE false END AS in_scope,
            coalesce(${isLate}, false) AS is_late, ${sampled} AS is_sampled
          FROM classified
        )
        SELECT ordinal, part, position, doc, k, w, event_time, reason, ${statusOf}
        FROM scoped`;
    },
    windowOf(eventTime) {
      return Math.floor(eventTime / windowMs) * windowMs;
    },
    isLate(w, open) {
      return (
        (open.closedThrough !== null && w + windowMs + latenessMs <= open.closedThrough) ||
        (open.expiredBefore !== null && w < open.expiredBefore)
      );
    },
    packValues(pack, shift) {
      return {
        docs: pack.docs,
        positions: pack.positions,
        keys: pack.keys ?? '',
        times: pack.timestamps ?? '',
        shift: BigInt(shift),
        replay: pack.replay === true,
      };
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
      const time = (value: number | null) => (value === null ? NO_TIME : BigInt(value));
      return [time(open.closedThrough), time(open.expiredBefore)];
    },
    outsideStatus: (side) => outsideStatus(comparison.scope, side),
  };
}
