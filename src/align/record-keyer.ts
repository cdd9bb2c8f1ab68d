import { durationMs } from '../config/duration.js';
import type { ComparisonConfig } from '../config/schema.js';
import { pathSegments } from '../diff/paths.js';
import { UNIT_TO_MS } from '../diff/sql.js';
import { RECORD_SEPARATOR } from './ingest.js';
import { KeyReader } from './key-reader.js';
import { KAFKA_KEY, keyReadAtSource } from './keys.js';

/** What a keyer is made from: plain data, so it crosses to a source thread with the other prepare options. */
export interface RecordKeying {
  /** Member paths of the key parts, or `['$kafkaKey']`. */
  key: string[];
  keyAsText: boolean;
  /** The event-time member and its unit; none: the Kafka record timestamp. */
  time?: { field: string; unitMs: number };
  windowMs: number;
}

/**
 * How records of `comparison` are keyed where the source runs, or undefined when DuckDB keys every
 * record: a scope on a field or a key range is decided there, before sampling and windows.
 */
export function recordKeying(comparison: ComparisonConfig): RecordKeying | undefined {
  if (!keyReadAtSource(comparison)) return undefined;
  const { key, keyAsText, time } = comparison;
  return {
    key: [...key],
    keyAsText,
    windowMs: durationMs(comparison.window.size),
    ...(time && 'field' in time ? { time: { field: time.field, unitMs: UNIT_TO_MS[time.unit] } } : {}),
  };
}

/** A record's canonical key (DuckDB's `k`), event time in ms and window. */
export interface KeyedRecord {
  key: string;
  eventTime: number;
  /** The window's start, as DuckDB computes it: `floor(event_time / size) * size` in doubles. */
  w: number;
}

/**
 * Reads the canonical key and the event time of a valid record where the source runs, as DuckDB's
 * classify statement (`align/ingest.ts`) would, so the record reaches DuckDB keyed and is appended
 * without a JSON parse there. Anything it is not certain of (an invalid record, a spelling DuckDB
 * may read otherwise, a text DuckDB would change: a leading byte order mark) is left to DuckDB.
 */
export class RecordKeyer {
  readonly #byRecordKey: boolean;
  readonly #reader: KeyReader;
  readonly #unitMs: number | undefined;
  readonly #windowMs: number;

  constructor(keying: RecordKeying) {
    this.#byRecordKey = keying.key.length === 1 && keying.key[0] === KAFKA_KEY;
    const time = keying.time && pathSegments(keying.time.field);
    this.#reader = new KeyReader(this.#byRecordKey ? [] : keying.key.map(pathSegments), keying.keyAsText, time);
    this.#unitMs = keying.time?.unitMs;
    this.#windowMs = keying.windowMs;
  }

  /** `recordKey` and `timestamp`: the Kafka record's, used when the comparison keys or times by them. */
  keyOf(text: Buffer, recordKey: Buffer | null, timestamp: number): KeyedRecord | undefined {
    if (text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf) return undefined;
    let read: { key: string; eventTime: number } | undefined;
    if (this.#unitMs === undefined) {
      // Without key parts, a read only checks the text is one JSON object.
      const key = this.#reader.read(text);
      read = key === undefined ? undefined : { key, eventTime: timestamp };
    } else {
      read = this.#reader.keyAndTime(text, this.#unitMs);
    }
    if (read === undefined) return undefined;
    let key = read.key;
    if (this.#byRecordKey) {
      if (recordKey === null || recordKey.length === 0) return undefined;
      key = recordKey.toString('utf8');
    }
    // Keys travel joined by the record separator: one holding it goes the long way.
    if (key.includes(RECORD_SEPARATOR)) return undefined;
    const w = Math.floor(read.eventTime / this.#windowMs) * this.#windowMs;
    return { key, eventTime: read.eventTime, w };
  }
}
