import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * Everything the service keeps, in one DuckDB file: open-window buffers, durable source positions,
 * record counts, closed-window results, per-field counts, samples and dead letters. A window's
 * results, the deletion of its buffer and the counts move in one transaction, so a restart finds
 * either all of a window or none of it.
 */
const STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS comparisons (
     id VARCHAR PRIMARY KEY, config JSON NOT NULL, epoch INTEGER NOT NULL,
     epoch_started_at TIMESTAMPTZ NOT NULL, created_at TIMESTAMPTZ NOT NULL,
     closed_through BIGINT)`,
  // Accepted records of open windows; seq orders arrivals for the duplicates rule.
  `CREATE TABLE IF NOT EXISTS buffer (
     comparison VARCHAR NOT NULL, side VARCHAR NOT NULL, w BIGINT NOT NULL, k VARCHAR NOT NULL,
     seq BIGINT NOT NULL, source VARCHAR NOT NULL, position BIGINT NOT NULL, doc VARCHAR NOT NULL)`,
  // The last durably counted record per source partition, and its latest event time (watermarks).
  `CREATE TABLE IF NOT EXISTS positions (
     comparison VARCHAR NOT NULL, side VARCHAR NOT NULL, source VARCHAR NOT NULL,
     position BIGINT NOT NULL, max_event_time BIGINT, PRIMARY KEY (comparison, side, source))`,
  `CREATE TABLE IF NOT EXISTS record_counts (
     comparison VARCHAR NOT NULL, epoch INTEGER NOT NULL, side VARCHAR NOT NULL, status VARCHAR NOT NULL,
     n BIGINT NOT NULL, PRIMARY KEY (comparison, epoch, side, status))`,
  `CREATE TABLE IF NOT EXISTS windows (
     comparison VARCHAR NOT NULL, epoch INTEGER NOT NULL, w BIGINT NOT NULL, closed_at TIMESTAMPTZ NOT NULL,
     equal BIGINT NOT NULL, different BIGINT NOT NULL, missing BIGINT NOT NULL, extra BIGINT NOT NULL,
     control_compared BIGINT NOT NULL, diff_seconds DOUBLE NOT NULL, PRIMARY KEY (comparison, w))`,
  // Per window and pair (candidate or control vs live): rows that differ in each field, by kind.
  `CREATE TABLE IF NOT EXISTS window_fields (
     comparison VARCHAR NOT NULL, epoch INTEGER NOT NULL, w BIGINT NOT NULL, pair VARCHAR NOT NULL,
     path VARCHAR NOT NULL, different BIGINT NOT NULL, value BIGINT NOT NULL, type BIGINT NOT NULL,
     missing BIGINT NOT NULL, extra BIGINT NOT NULL)`,
  // How many candidate rows differ in exactly this set of fields: what noise fields discount.
  `CREATE TABLE IF NOT EXISTS window_fieldsets (
     comparison VARCHAR NOT NULL, epoch INTEGER NOT NULL, w BIGINT NOT NULL, fieldset VARCHAR[] NOT NULL, n BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS samples (
     comparison VARCHAR NOT NULL, epoch INTEGER NOT NULL, w BIGINT NOT NULL, outcome VARCHAR NOT NULL,
     field VARCHAR, body JSON NOT NULL, created_at TIMESTAMPTZ NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS dead_letters (
     comparison VARCHAR NOT NULL, side VARCHAR NOT NULL, source VARCHAR NOT NULL, position BIGINT NOT NULL,
     reason VARCHAR NOT NULL, raw VARCHAR, created_at TIMESTAMPTZ NOT NULL)`,
];

export async function createSchema(connection: DuckDBConnection): Promise<void> {
  for (const statement of STATEMENTS) await connection.run(statement);
}

/** Tables holding per-comparison rows, for delete and retention. */
export const COMPARISON_TABLES = [
  'buffer',
  'positions',
  'record_counts',
  'windows',
  'window_fields',
  'window_fieldsets',
  'samples',
  'dead_letters',
  'comparisons',
] as const;
