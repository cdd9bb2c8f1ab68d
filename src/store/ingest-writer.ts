import type { DuckDBConnection } from '@duckdb/node-api';
import type { IngestPlan, IngestStatus } from '../align/ingest.js';
import type { DeadLetter, PackedPartition } from '../align/prepare.js';
import type { Side } from '../config/schema.js';
import { literal } from '../diff/sql.js';
import { EventLoopSlices } from '../slices.js';
import { inTransaction, queryRows } from './duckdb.js';
import { addCountsSql } from './schema.js';

const STAGED = 'sd_ingest_staged';

export interface IngestBatch {
  comparison: string;
  epoch: number;
  side: Side;
  closedThrough: number | null;
  partitions: PackedPartition[];
  /** Records found invalid before DuckDB (undecodable), counted by reason. */
  invalid: Map<string, number>;
  deadLetters: DeadLetter[];
  /** New durable position per source partition, for every partition the batch read. */
  positions: Map<string, number>;
  /** At most this many dead letters are kept per batch. */
  deadLetterLimit: number;
}

export interface IngestResult {
  /** Records per final or interim status; invalid ones also per reason. */
  counts: Map<IngestStatus, number>;
  invalidReasons: Map<string, number>;
  /** Latest event time per source partition among the records that had one. */
  maxEventTimes: Map<string, number>;
}

/**
 * Makes one ingested batch durable in a single transaction: DuckDB classifies its records
 * (`align/ingest.ts`), buffers those of open windows, and the status counts, source positions and
 * dead letters are stored with them. Offsets may be committed to Kafka once this resolves.
 */
export class IngestWriter {
  readonly #plan: IngestPlan;
  /** Arrival order in the buffer, shared by every side's connection. */
  #seq = 0;

  private constructor(plan: IngestPlan) {
    this.#plan = plan;
  }

  static async open(connection: DuckDBConnection, plan: IngestPlan): Promise<IngestWriter> {
    const writer = new IngestWriter(plan);
    const [row] = await queryRows<{ s: bigint }>(connection, 'SELECT coalesce(max(seq), 0) AS s FROM buffer');
    writer.#seq = Number(row?.s ?? 0);
    return writer;
  }

  /** Batches of different sides may be written at once, each on a connection of its own. */
  async write(connection: DuckDBConnection, batch: IngestBatch): Promise<IngestResult> {
    const id = literal(batch.comparison);
    const side = literal(batch.side);
    const result: IngestResult = {
      counts: new Map(),
      invalidReasons: new Map(batch.invalid),
      maxEventTimes: new Map(),
    };
    const add = <K>(map: Map<K, number>, key: K, n: number) => map.set(key, (map.get(key) ?? 0) + n);
    for (const n of batch.invalid.values()) add(result.counts, 'invalid', n);
    const partitions = batch.partitions.filter((partition) => partition.count > 0);
    const sources = `[${partitions.map((partition) => literal(partition.source)).join(', ')}]`;
    await inTransaction(connection, async () => {
      if (partitions.length > 0) {
        // One statement for the whole batch: DuckDB's cost per statement outweighs its cost per record.
        const statement = await connection.prepare(
          this.#plan.classifySql(
            STAGED,
            batch.closedThrough,
            partitions.map((partition) => partition.count),
          ),
        );
        try {
          // Each bind copies a pack into DuckDB on this thread: a pack at a time, with the event
          // loop free in between, so gate polls are not held up by a batch of many megabytes.
          const slices = new EventLoopSlices();
          let parameter = 1;
          for (const partition of partitions) {
            await slices.pause();
            const [docs, ...texts] = this.#plan.packValues(partition);
            statement.bindBlob(parameter++, docs);
            partition.release?.();
            for (const text of texts) statement.bindVarchar(parameter++, text);
          }
          await statement.run();
        } finally {
          statement.destroySync();
        }
        const records = partitions.reduce((sum, partition) => sum + partition.count, 0);
        const statuses = await queryRows<{
          part: number;
          status: IngestStatus;
          reason: string | null;
          n: bigint;
          t: bigint | null;
        }>(connection, `SELECT part, status, reason, count(*) AS n, max(event_time) AS t FROM ${STAGED} GROUP BY ALL`);
        let invalid = 0;
        for (const row of statuses) {
          const n = Number(row.n);
          add(result.counts, row.status, n);
          if (row.reason !== null) add(result.invalidReasons, row.reason, n);
          if (row.status === 'invalid') invalid += n;
          if (row.t !== null) {
            const source = (partitions[row.part] as PackedPartition).source;
            const t = Number(row.t);
            result.maxEventTimes.set(source, Math.max(result.maxEventTimes.get(source) ?? t, t));
          }
        }
        if ((result.counts.get('buffered') ?? 0) > 0) {
          // Rows stand in arrival order, and positions grow with it: seq orders the buffer for the duplicates rule.
          const base = this.#seq;
          this.#seq += records;
          await connection.run(
            `INSERT INTO buffer SELECT ${id}, ${side}, w, k, ${base} + ordinal, ${sources}[part + 1], position, doc, hash(doc)
             FROM ${STAGED} WHERE status = 'buffered'`,
          );
        }
        const deadLetterRoom = batch.deadLetterLimit - batch.deadLetters.length;
        if (deadLetterRoom > 0 && invalid > 0) {
          await connection.run(
            `INSERT INTO dead_letters SELECT ${id}, ${side}, ${sources}[part + 1], position, reason, doc[:1024], now()
           FROM ${STAGED} WHERE status = 'invalid' ORDER BY ordinal LIMIT ${deadLetterRoom}`,
          );
        }
      }
      const counts = [...result.counts].filter(([, n]) => n !== 0);
      if (counts.length > 0) {
        await connection.run(
          addCountsSql(
            'ingest',
            counts.map(([status, n]) => ({
              comparison: batch.comparison,
              epoch: batch.epoch,
              side: batch.side,
              status,
              n,
            })),
          ),
        );
      }
      if (batch.positions.size > 0) {
        await connection.run(
          `INSERT INTO positions VALUES ${[...batch.positions]
            .map(
              ([source, position]) =>
                `(${id}, ${side}, ${literal(source)}, ${position}, ${result.maxEventTimes.get(source) ?? 'NULL'})`,
            )
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
                `(${id}, ${side}, ${literal(letter.source)}, ${letter.position}, ${literal(letter.reason)},
                ${letter.raw === null ? 'NULL' : literal(letter.raw)}, now())`,
            )
            .join(', ')}`,
        );
      }
    });
    return result;
  }
}
