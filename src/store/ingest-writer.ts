import type { DuckDBConnection } from '@duckdb/node-api';
import type { Side } from '../config/schema.js';
import { literal } from '../diff/sql.js';

export interface BufferedRecord {
  side: Side;
  window: number;
  key: string;
  source: string;
  position: number;
  doc: string;
}

export interface DeadLetter {
  side: Side;
  source: string;
  position: number;
  reason: string;
  raw: string | null;
}

export interface IngestBatch {
  comparison: string;
  epoch: number;
  records: BufferedRecord[];
  /** Status counts of this batch per side (`buffered` records get their final status when their window closes). */
  counts: { side: Side; status: string; n: number }[];
  /** New durable position and latest event time per source partition. */
  positions: { side: Side; source: string; position: number; maxEventTime: number | null }[];
  deadLetters: DeadLetter[];
}

const STAGING = 'sd_ingest_staging';

/**
 * Makes one ingested batch durable in a single transaction: buffered records (bulk-appended, never
 * one INSERT per record), status counts, source positions and dead letters. Offsets may be
 * committed to Kafka once this resolves.
 */
export class IngestWriter {
  readonly #connection: DuckDBConnection;
  #seq = 0;

  private constructor(connection: DuckDBConnection) {
    this.#connection = connection;
  }

  static async open(connection: DuckDBConnection): Promise<IngestWriter> {
    await connection.run(
      `CREATE TEMP TABLE IF NOT EXISTS ${STAGING} (comparison VARCHAR, side VARCHAR, w BIGINT, k VARCHAR, seq BIGINT, source VARCHAR, position BIGINT, doc VARCHAR)`,
    );
    const writer = new IngestWriter(connection);
    const reader = await connection.runAndReadAll('SELECT coalesce(max(seq), 0) AS s FROM buffer');
    writer.#seq = Number(reader.getRowObjectsJS()[0]?.s ?? 0);
    return writer;
  }

  async write(batch: IngestBatch): Promise<void> {
    const connection = this.#connection;
    if (batch.records.length > 0) {
      const appender = await connection.createAppender(STAGING, 'main', 'temp');
      try {
        for (const record of batch.records) {
          appender.appendVarchar(batch.comparison);
          appender.appendVarchar(record.side);
          appender.appendBigInt(BigInt(record.window));
          appender.appendVarchar(record.key);
          appender.appendBigInt(BigInt(++this.#seq));
          appender.appendVarchar(record.source);
          appender.appendBigInt(BigInt(record.position));
          appender.appendVarchar(record.doc);
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
    }
    const id = literal(batch.comparison);
    await connection.run('BEGIN TRANSACTION');
    try {
      if (batch.records.length > 0) await connection.run(`INSERT INTO buffer SELECT * FROM ${STAGING}`);
      for (const { side, status, n } of batch.counts) {
        if (n === 0) continue;
        await connection.run(
          `INSERT INTO record_counts VALUES (${id}, ${batch.epoch}, ${literal(side)}, ${literal(status)}, ${n})
           ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n`,
        );
      }
      for (const p of batch.positions) {
        await connection.run(
          `INSERT INTO positions VALUES (${id}, ${literal(p.side)}, ${literal(p.source)}, ${p.position}, ${p.maxEventTime ?? 'NULL'})
           ON CONFLICT DO UPDATE SET position = greatest(position, EXCLUDED.position),
             max_event_time = greatest(max_event_time, EXCLUDED.max_event_time)`,
        );
      }
      for (const letter of batch.deadLetters) {
        await connection.run(
          `INSERT INTO dead_letters VALUES (${id}, ${literal(letter.side)}, ${literal(letter.source)}, ${letter.position},
             ${literal(letter.reason)}, ${letter.raw === null ? 'NULL' : literal(letter.raw)}, now())`,
        );
      }
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK');
      throw error;
    } finally {
      if (batch.records.length > 0) await connection.run(`DELETE FROM ${STAGING}`);
    }
  }
}
