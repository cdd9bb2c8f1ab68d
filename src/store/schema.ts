import type { DuckDBConnection } from '@duckdb/node-api';
import { literal } from '../diff/sql.js';
import { inTransaction, queryRows } from './duckdb.js';

export interface CountDelta {
  comparison: string;
  epoch: number;
  side: string;
  status: string;
  n: number;
}

/**
 * One statement adding the deltas to the count rows, at most one delta per row. Rows carry the
 * writer that added to them: files of earlier releases have rows of ingest, window close and
 * retention, which ran in transactions of their own; readers sum them all.
 */
export function addCountsSql(deltas: CountDelta[]): string {
  const rows = deltas.map(
    (d) => `(${literal(d.comparison)}, ${d.epoch}, ${literal(d.side)}, ${literal(d.status)}, 'checkpoint', ${d.n})`,
  );
  return `INSERT INTO record_counts VALUES ${rows.join(', ')} ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n`;
}

const RECORD_COUNTS = `CREATE TABLE IF NOT EXISTS record_counts (
     comparison VARCHAR NOT NULL, epoch INTEGER NOT NULL, side VARCHAR NOT NULL, status VARCHAR NOT NULL,
     writer VARCHAR NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (comparison, epoch, side, status, writer))`;

/**
 * The in-memory database that holds open-window buffers: a cache of what the source logs keep, so
 * never written through the WAL. DuckDB spills it to its temp directory under `memory_limit`.
 */
export const BUFFER_DATABASE = 'open_windows';
/** Accepted records of open windows (`open_windows.buffer`). */
export const BUFFER = `${BUFFER_DATABASE}.buffer`;

/**
 * What the service keeps in its DuckDB file is only what the logs cannot give back: per source
 * partition a checkpoint, record counts, closed-window results, per-field counts, samples and dead
 * letters. A checkpoint (`service/checkpoint.ts`) stores them in one transaction, with the windows
 * it closed, so a restart finds either all of it or none.
 */
const STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS comparisons (
     id VARCHAR PRIMARY KEY, config JSON NOT NULL, epoch INTEGER NOT NULL,
     epoch_started_at TIMESTAMPTZ NOT NULL, created_at TIMESTAMPTZ NOT NULL,
     closed_through BIGINT, expired_before BIGINT)`,
  // Per source partition: every record at or before \`position\` is in some count (counted through);
  // \`resume\` is the first record an open window still needs, where a restart reads from; \`buffered\`
  // how many of its counted records sit in open windows (re-buffered from the log after a restart).
  `CREATE TABLE IF NOT EXISTS positions (
     comparison VARCHAR NOT NULL, side VARCHAR NOT NULL, source VARCHAR NOT NULL,
     position BIGINT NOT NULL, max_event_time BIGINT, resume BIGINT, buffered BIGINT,
     PRIMARY KEY (comparison, side, source))`,
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

// seq orders arrivals for the duplicates rule; rh is the text's MD5 (`textHash`: DuckDB's hash()
// maps distinct texts to one value), taken at ingest, so a window's diff reads the texts of
// differing pairs only. A batch lands here whole, in one transaction that
// counts its records by status and keeps only those of open windows (`store/buffer-writer.ts`).
const BUFFER_TABLE = `CREATE TABLE IF NOT EXISTS ${BUFFER} (
   comparison VARCHAR NOT NULL, side VARCHAR NOT NULL, w BIGINT, k VARCHAR,
   seq BIGINT NOT NULL, source VARCHAR NOT NULL, position BIGINT NOT NULL, doc VARCHAR NOT NULL, rh UBIGINT,
   status VARCHAR NOT NULL, reason VARCHAR, event_time BIGINT, part INTEGER NOT NULL)`;

/** Creates what is missing and brings files of earlier releases up to date; the buffer starts empty. */
export async function createSchema(connection: DuckDBConnection): Promise<void> {
  await addCountWriters(connection);
  await addCheckpointColumns(connection);
  for (const statement of STATEMENTS) await connection.run(statement);
  await connection.run(`ATTACH IF NOT EXISTS ':memory:' AS ${BUFFER_DATABASE}`);
  await connection.run(BUFFER_TABLE);
  await rebuildFromLog(connection);
}

/** Files written before checkpoints: positions gain their resume point, comparisons their expiry. */
async function addCheckpointColumns(connection: DuckDBConnection): Promise<void> {
  const positions = await columnsOf(connection, 'positions');
  if (positions.length > 0 && !positions.includes('resume')) {
    await connection.run('ALTER TABLE positions ADD COLUMN resume BIGINT');
    await connection.run('ALTER TABLE positions ADD COLUMN buffered BIGINT');
  }
  const comparisons = await columnsOf(connection, 'comparisons');
  if (comparisons.length > 0 && !comparisons.includes('expired_before')) {
    await connection.run('ALTER TABLE comparisons ADD COLUMN expired_before BIGINT');
  }
}

/**
 * Files of the release that kept open-window buffers on disk: each partition resumes at its first
 * buffered record, so its open windows are rebuilt from the log (every buffered record is counted
 * already: it comes back as a replay), and the stored buffer goes.
 */
async function rebuildFromLog(connection: DuckDBConnection): Promise<void> {
  if ((await columnsOf(connection, 'buffer')).length === 0) return;
  await inTransaction(connection, async () => {
    await connection.run(
      `UPDATE positions p SET resume = b.first, buffered = b.n
       FROM (SELECT comparison, side, source, min(position) AS first, count(*) AS n FROM main.buffer GROUP BY ALL) b
       WHERE p.comparison = b.comparison AND p.side = b.side AND p.source = b.source`,
    );
    await connection.run('DROP TABLE main.buffer');
  });
}

async function columnsOf(connection: DuckDBConnection, table: string): Promise<string[]> {
  const rows = await queryRows<{ column_name: string }>(
    connection,
    `SELECT column_name FROM duckdb_columns()
     WHERE table_name = ${literal(table)} AND schema_name = 'main' AND database_name = current_database()`,
  );
  return rows.map((row) => row.column_name);
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

/** Stored tables holding per-comparison rows, for delete (the buffer is apart: in memory). */
export const COMPARISON_TABLES = [
  'positions',
  'record_counts',
  'windows',
  'window_fields',
  'window_fieldsets',
  'samples',
  'dead_letters',
  'comparisons',
] as const;
