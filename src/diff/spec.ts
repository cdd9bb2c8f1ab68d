import type { ScopeConfig, Side, TimeConfig } from '../config/schema.js';
import type { CompareRules } from './rules.js';

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
  /**
   * The raw texts of the records at `positions` (ascending), read straight from the
   * input: for a plain NDJSON file a scan for line ends costs a fraction of DuckDB parsing the
   * file again. Absent where the engine reads texts again through DuckDB (`textsSql`).
   */
  readTexts?(positions: readonly number[], onText: (position: number, text: string) => void): Promise<void>;
  /** Labels of source positions for samples (`live.ndjson:12`), and raw text of undecodable records. */
  locate(
    positions: number[],
    partStarts?: ReadonlyMap<number, number>,
  ): Promise<Map<number, { label: string; raw?: string }>>;
}
