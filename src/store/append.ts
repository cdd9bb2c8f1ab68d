import type { DuckDBConnection } from '@duckdb/node-api';

export interface DocRow {
  doc: string | null;
  reason?: string | undefined;
}

/**
 * Appends decoded records to a `(doc VARCHAR, reason VARCHAR)` table through DuckDB's appender:
 * one bulk load, never an INSERT per record.
 */
export async function appendDocs(
  connection: DuckDBConnection,
  table: string,
  rows: AsyncIterable<DocRow> | Iterable<DocRow>,
): Promise<number> {
  const appender = await connection.createAppender(table);
  let count = 0;
  try {
    for await (const row of rows) {
      if (row.doc === null) appender.appendNull();
      else appender.appendVarchar(row.doc);
      if (row.reason === undefined) appender.appendNull();
      else appender.appendVarchar(row.reason);
      appender.endRow();
      count++;
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return count;
}
