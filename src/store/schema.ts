import type { DuckDBConnection } from '@duckdb/node-api';
import { literal } from '../diff/sql.js';
import { inTransaction, queryRows } from './duckdb.js';

/**
 * Who adds to a count row. Ingest, window close and retention each keep rows of their own (readers
 * sum them), so their transactions never update the same row and may run at once: DuckDB aborts
 * one of two transactions that update one row.
 */
export type CountWriter = 'ingest' | 'close' | 'retention';

export interface CountDelta {
  comparison: string;
  epoch: number;
  side: string;
  status: string;
  n: number;
}

/** One statement adding the deltas to the writer's own count rows. */
export function addCountsSql(writer: CountWriter, deltas: CountDelta[]): string {
  const rows = deltas.map(
    (d) => `(${literal(d.comparison)}, ${d.epoch}, ${literal(d.side)}, ${literal(d.status)}, '${writer}', ${d.n})`,
  );
  return `INSERT INTO record_counts VALUES ${rows.join(', ')} ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n`;
}

const RECORD_COUNTS = `CREATE TABLE IF NOT EXISTS record_counts (
     comparison VARCHAR NOT NULL, epoch INTEGER NOT NULL, side VARCHAR NOT NULL, status VARCHAR NOT NULL,
     writer VARCHAR NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (comparison, epoch, side, status, writer))`;

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
  // Accepted records of open windows; seq orders arrivals for the duplicates rule. rh is hash(doc),
  // taken at ingest, so a window's diff reads the texts of differing pairs only.
  `CREATE TABLE IF NOT EXISTS buffer (
     comparison VARCHAR NOT NULL, side VARCHAR NOT NULL, w BIGINT NOT NULL, k VARCHAR NOT NULL,
     seq BIGINT NOT NULL, source VARCHAR NOT NULL, position BIGINT NOT NULL, doc VARCHAR NOT NULL, rh UBIGINT)`,
  // The last durably counted record per source partition, and its latest event time (watermarks).
  `CREATE TABLE IF NOT EXISTS positions (
     comparison VARCHAR NOT NULL, side VARCHAR NOT NULL, source VARCHAR NOT NULL,
     position BIGINT NOT NULL, max_event_time BIGINT, PRIMARY KEY (comparison, side, source))`,
  RECORD_COUNTS,
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
  await addCountWriters(connection);
  await addTextHashes(connection);
  for (const statement of STATEMENTS) await connection.run(statement);
}

async function columnsOf(connection: DuckDBConnection, table: string): Promise<string[]> {
  const rows = await queryRows<{ column_name: string }>(
    connection,
    `SELECT column_name FROM duckdb_columns() WHERE table_name = ${literal(table)} AND schema_name = 'main'`,
  );
  return rows.map((row) => row.column_name);
}

/** Files written before the buffer kept text hashes: their buffered records get them. */
async function addTextHashes(connection: DuckDBConnection): Promise<void> {
  const columns = await columnsOf(connection, 'buffer');
  if (columns.length === 0 || columns.includes('rh')) return;
  await inTransaction(connection, async () => {
    await connection.run('ALTER TABLE buffer ADD COLUMN rh UBIGINT');
    await connection.run('UPDATE buffer SET rh = hash(doc)');
  });
}

/** Files written before counts had writers: their rows become ingest's (a key cannot be altered in place). */
async function addCountWriters(connection: DuckDBConnection): Promise<void> {
  const columns = await columnsOf(connection, 'record_counts');
  if (columns.length === 0 || columns.includes('writer')) return;
  await inTransaction(connection, async () => {
    await connection.run('ALTER TABLE record_counts RENAME TO record_counts_unattributed');
    await connection.run(RECORD_COUNTS);
    await connection.run(
      `INSERT INTO record_counts SELECT comparison, epoch, side, status, 'ingest', n FROM record_counts_unattributed`,
    );
    await connection.run('DROP TABLE record_counts_unattributed');
  });
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
