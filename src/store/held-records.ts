import type { DuckDBConnection } from '@duckdb/node-api';
import { literal, textHash } from '../diff/sql.js';
import { type HeldRecord, heldText } from './open-pairs.js';
import { BUFFER } from './schema.js';

/** Per connection (a temporary table), where held records stop on their way into the buffer table. */
const STAGING = 'held_records';

/**
 * Writes held records (`OpenPairs`) to the buffer table, as the classify statement would have
 * buffered them: through DuckDB's appender, then one INSERT that decodes each text and takes its
 * hash.
 */
export async function writeHeldRecords(
  connection: DuckDBConnection,
  comparison: string,
  records: readonly HeldRecord[],
): Promise<void> {
  if (records.length === 0) return;
  await connection.run(
    `CREATE TEMP TABLE IF NOT EXISTS ${STAGING} (side VARCHAR, w BIGINT, k VARCHAR, seq BIGINT, source VARCHAR,
       position BIGINT, doc BLOB, replay BOOLEAN, event_time BIGINT)`,
  );
  try {
    const appender = await connection.createAppender(STAGING, 'main', 'temp');
    try {
      for (const record of records) {
        appender.appendVarchar(record.side);
        appender.appendBigInt(BigInt(record.w));
        appender.appendVarchar(record.k);
        appender.appendBigInt(BigInt(record.seq));
        appender.appendVarchar(record.source);
        appender.appendBigInt(BigInt(record.position));
        appender.appendBlob(heldText(record));
        appender.appendBoolean(record.replay);
        appender.appendBigInt(BigInt(record.eventTime));
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    await connection.run(
      `INSERT INTO ${BUFFER} SELECT ${literal(comparison)}, side, w, k, seq, source, position, text, ${textHash('text')},
         CASE WHEN replay THEN 'rebuffered' ELSE 'buffered' END, NULL, event_time, 0
       FROM (SELECT *, decode(doc) AS text FROM temp.main.${STAGING})`,
    );
  } finally {
    await connection.run(`DELETE FROM temp.main.${STAGING}`);
  }
}
