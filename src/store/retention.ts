import type { DuckDBConnection } from '@duckdb/node-api';
import { inTransaction } from './duckdb.js';

/**
 * Deletes what is older than the retention: closed-window results, samples and dead letters by
 * when they were made, and buffered records of windows that never closed (a side that stopped)
 * by event time, so a one-sided stream cannot grow storage without bound. Expired buffered
 * records are counted `late`: they came too late to meet their other side.
 */
export async function applyRetention(
  connection: DuckDBConnection,
  retentionMs: number,
  now = Date.now(),
): Promise<void> {
  const cutoff = `make_timestamptz(${(now - retentionMs) * 1000})`;
  await inTransaction(connection, async () => {
    await connection.run(
      `INSERT INTO record_counts
         SELECT b.comparison, c.epoch, b.side, s.status, 'retention', CASE s.status WHEN 'late' THEN count(*) ELSE -count(*) END
         FROM buffer b JOIN comparisons c ON c.id = b.comparison, (VALUES ('late'), ('buffered')) s(status)
         WHERE b.w < ${now - retentionMs} GROUP BY 1, 2, 3, 4, 5
       ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n`,
    );
    await connection.run(`DELETE FROM buffer WHERE w < ${now - retentionMs}`);
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
