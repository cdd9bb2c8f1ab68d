import type { DuckDBConnection } from '@duckdb/node-api';
import { type ProgressListener, queryRows, runWithProgress } from '../store/duckdb.js';
import { textsSql } from './records-sql.js';
import type { SideInput } from './spec.js';

/**
 * The column that joins a side's texts table to the aligned keys (`a.lpos`/`a.lrh`…): the position
 * where the input reads texts by position, else the text hash.
 */
export function textKey(input: SideInput): 'pos' | 'rh' {
  return input.readTexts ? 'pos' : 'rh';
}

/** The columns of the aligned keys (side prefix `l` or `o`) that `readDifferingTexts` needs of its `wanted` query. */
export function wantedColumns(input: SideInput, side: 'l' | 'o'): string {
  return textKey(input) === 'pos' ? `${side}pos AS pos` : `${side}rh AS rh, ${side}fh AS fh`;
}

/**
 * Builds `target` (`textKey(input)`, `doc`) with the raw texts of the records `wanted` selects
 * (`wantedColumns`; none when undefined): read by position from an input that can (a scan for
 * line ends, texts handed to DuckDB's appender as they are found), else by reading the input again
 * in DuckDB (`textsSql`).
 */
export async function readDifferingTexts(
  connection: DuckDBConnection,
  target: { name: string; sql: string },
  input: SideInput,
  records: string,
  wanted: string | undefined,
  onProgress?: ProgressListener,
): Promise<void> {
  const byPosition = textKey(input) === 'pos';
  if (wanted === undefined || byPosition) {
    await connection.run(
      `CREATE OR REPLACE TEMP TABLE ${target.sql} (${byPosition ? 'pos BIGINT' : 'rh UBIGINT'}, doc VARCHAR)`,
    );
  }
  if (wanted === undefined) return;
  if (!byPosition || !input.readTexts) {
    await runWithProgress(connection, textsSql(target.sql, input, records, wanted), onProgress);
    return;
  }
  const positions = await queryRows<{ pos: bigint }>(connection, `SELECT DISTINCT pos FROM (${wanted}) ORDER BY pos`);
  const appender = await connection.createAppender(target.name, null, 'temp');
  try {
    await input.readTexts(
      positions.map((row) => Number(row.pos)),
      (position, text) => {
        appender.appendBigInt(BigInt(position));
        appender.appendVarchar(text);
        appender.endRow();
      },
    );
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
