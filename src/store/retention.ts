import type { DuckDBConnection } from '@duckdb/node-api';
import type { Side } from '../config/schema.js';
import { literal } from '../diff/sql.js';
import { inTransaction, queryRows } from './duckdb.js';
import { addCountsSql } from './schema.js';

/**
 * Deletes the results older than the retention: closed-window results, samples and dead letters,
 * by when they were made. Buffered records expire by event time, per comparison (`expireBuffered`).
 */
export async function applyRetention(
  connection: DuckDBConnection,
  retentionMs: number,
  now = Date.now(),
): Promise<void> {
  const cutoff = `make_timestamptz(${(now - retentionMs) * 1000})`;
  await inTransaction(connection, async () => {
    for (const table of ['window_fields', 'window_fieldsets']) {
      await connection.run(
        `DELETE FROM ${table} t USING windows w WHERE w.comparison = t.comparison AND w.w = t.w AND w.closed_at < ${cutoff}`,
      );
    }
    await connection.run(`DELETE FROM windows WHERE closed_at < ${cutoff}`);
    await connection.run(`DELETE FROM samples WHERE created_at < ${cutoff}`);
    await connection.run(`DELETE FROM dead_letters WHERE created_at < ${cutoff}`);
  });
}

/**
 * Deletes a comparison's buffered records of windows that start before `beforeMs` and counts them
 * `late`: they came too late to meet their other side (a side that stopped), and a one-sided stream
 * cannot grow storage without bound. The runner calls it between window closes, so an expiry and a
 * close never delete the same rows at once. Returns how many records of each side expired.
 */
export async function expireBuffered(
  connection: DuckDBConnection,
  comparison: string,
  epoch: number,
  beforeMs: number,
): Promise<Map<Side, number>> {
  const where = `comparison = ${literal(comparison)} AND w < ${beforeMs}`;
  const expired = new Map<Side, number>();
  await inTransaction(connection, async () => {
    const rows = await queryRows<{ side: Side; n: bigint }>(
      connection,
      `SELECT side, count(*) AS n FROM buffer WHERE ${where} GROUP BY side`,
    );
    if (rows.length === 0) return;
    for (const row of rows) expired.set(row.side, Number(row.n));
    const deltas = rows.flatMap((row) => [
      { comparison, epoch, side: row.side, status: 'late', n: Number(row.n) },
      { comparison, epoch, side: row.side, status: 'buffered', n: -Number(row.n) },
    ]);
    await connection.run(addCountsSql('retention', deltas));
    await connection.run(`DELETE FROM buffer WHERE ${where}`);
  });
  return expired;
}
