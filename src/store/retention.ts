import type { DuckDBConnection } from '@duckdb/node-api';
import { inTransaction } from './duckdb.js';

/**
 * Deletes the results older than the retention: closed-window results, samples and dead letters,
 * by when they were made. Buffered records expire by event time, in their runner's tick
 * (`service/window-closer.ts`).
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
