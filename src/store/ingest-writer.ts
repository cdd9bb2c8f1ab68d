import { setImmediate } from 'node:timers/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Side } from '../config/schema.js';
import { literal } from '../diff/sql.js';

const YIELD_EVERY = 2000;

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
    const writer = new IngestWriter(connection);
    const reader = await connection.runAndReadAll('SELECT coalesce(max(seq), 0) AS s FROM buffer');
    writer.#seq = Number(reader.getRowObjectsJS()[0]?.s ?? 0);
    return writer;
  }

  async write(batch: IngestBatch): Promise<void> {
    const connection = this.#connection;
    const id = literal(batch.comparison);
    await connection.run('BEGIN TRANSACTION');
    try {
      // The appender writes inside the open transaction: the records commit with their counts.
      if (batch.records.length > 0) {
        const appender = await connection.createAppender('buffer');
        try {
          let appended = 0;
          for (const record of batch.records) {
            // Long appends yield now and then, so HTTP answers are not held behind them.
            if (++appended % YIELD_EVERY === 0) await setImmediate();
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
      const counts = batch.counts.filter(({ n }) => n !== 0);
      if (counts.length > 0) {
        await connection.run(
          `INSERT INTO record_counts VALUES ${counts
            .map(({ side, status, n }) => `(${id}, ${batch.epoch}, ${literal(side)}, ${literal(status)}, ${n})`)
            .join(', ')}
           ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n`,
        );
      }
      if (batch.positions.length > 0) {
        await connection.run(
          `INSERT INTO positions VALUES ${batch.positions
            .map((p) => `(${id}, ${literal(p.side)}, ${literal(p.source)}, ${p.position}, ${p.maxEventTime ?? 'NULL'})`)
            .join(', ')}
           ON CONFLICT DO UPDATE SET position = greatest(position, EXCLUDED.position),
             max_event_time = greatest(max_event_time, EXCLUDED.max_event_time)`,
        );
      }
      if (batch.deadLetters.length > 0) {
        await connection.run(
          `INSERT INTO dead_letters VALUES ${batch.deadLetters
            .map(
              (letter) =>
                `(${id}, ${literal(letter.side)}, ${literal(letter.source)}, ${letter.position}, ${literal(letter.reason)},
                  ${letter.raw === null ? 'NULL' : literal(letter.raw)}, now())`,
            )
            .join(', ')}`,
        );
      }
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK');
      throw error;
    }
  }
}
