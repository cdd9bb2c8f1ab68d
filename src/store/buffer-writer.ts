import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import type { IngestPlan, IngestStatus, OpenFrom } from '../align/ingest.js';
import type { DeadLetter, PackedPartition } from '../align/prepare.js';
import type { Side } from '../config/schema.js';
import { literal } from '../diff/sql.js';
import { EventLoopSlices } from '../slices.js';
import { queryRows } from './duckdb.js';
import { BUFFER } from './schema.js';

const STAGED = 'sd_ingest_staged';

export interface BufferBatch {
  comparison: string;
  side: Side;
  open: OpenFrom;
  partitions: PackedPartition[];
  /** At most this many dead letters are read from the batch's invalid records. */
  deadLetterLimit: number;
}

/** The records of one source partition buffered in one window by a batch. */
export interface BufferedRun {
  source: string;
  w: number;
  /** The first of them in the partition: where a restart must read from while the window is open. */
  first: number;
  n: number;
  /** How many of them were replays (counted before a restart). */
  replays: number;
}

export interface BufferResult {
  /** Records newly counted per status (replays are not). */
  counts: Map<IngestStatus, number>;
  invalidReasons: Map<string, number>;
  /** Latest event time per source partition among the records that had one. */
  maxEventTimes: Map<string, number>;
  buffered: BufferedRun[];
  deadLetters: DeadLetter[];
}

const COUNTED: readonly IngestStatus[] = ['buffered', 'sampled_out', 'late', 'invalid', 'out_of_scope'];

/**
 * Classifies one batch of a side in DuckDB (`align/ingest.ts`) and appends the records of open
 * windows to the in-memory buffer. Nothing here is durable: the counts, positions and dead letters
 * it returns go into the comparison's next checkpoint, and the buffer is rebuilt from the log after
 * a restart.
 */
export class BufferWriter {
  readonly #plan: IngestPlan;
  /** Arrival order in the buffer, shared by every side's connection. */
  #seq = 0;
  /** Per connection, the classify statement prepared for each number of pack slots. */
  readonly #statements = new WeakMap<DuckDBConnection, Map<number, DuckDBPreparedStatement>>();

  constructor(plan: IngestPlan) {
    this.#plan = plan;
  }

  async #statement(connection: DuckDBConnection, slots: number): Promise<DuckDBPreparedStatement> {
    let prepared = this.#statements.get(connection);
    if (!prepared) {
      prepared = new Map();
      this.#statements.set(connection, prepared);
    }
    let statement = prepared.get(slots);
    if (!statement) {
      statement = await connection.prepare(this.#plan.classifySql(STAGED, slots));
      prepared.set(slots, statement);
    }
    return statement;
  }

  /** Batches of different sides may be buffered at once, each on a connection of its own. */
  async write(connection: DuckDBConnection, batch: BufferBatch): Promise<BufferResult> {
    const result: BufferResult = {
      counts: new Map(),
      invalidReasons: new Map(),
      maxEventTimes: new Map(),
      buffered: [],
      deadLetters: [],
    };
    const partitions = batch.partitions.filter((partition) => partition.count > 0);
    if (partitions.length === 0) return result;
    const add = <K>(map: Map<K, number>, key: K, n: number) => map.set(key, (map.get(key) ?? 0) + n);
    // One statement for the whole batch: DuckDB's cost per statement outweighs its cost per record.
    const slots = 2 ** Math.ceil(Math.log2(partitions.length));
    const statement = await this.#statement(connection, slots);
    // Each bind copies a pack into DuckDB on this thread: a pack at a time, with the event loop
    // free in between, so gate polls are not held up by a batch of many megabytes.
    const slices = new EventLoopSlices();
    let parameter = 1;
    let first = 0;
    for (const partition of partitions) {
      await slices.pause();
      const [docs, ...texts] = this.#plan.packValues(partition, first);
      first += partition.count;
      statement.bindBlob(parameter++, docs);
      partition.release?.();
      for (const text of texts) statement.bindVarchar(parameter++, text);
    }
    for (; parameter <= slots * this.#plan.valuesPerPack; parameter++) statement.bindNull(parameter);
    for (const value of this.#plan.openValues(batch.open)) {
      if (value === null) statement.bindNull(parameter++);
      else statement.bindVarchar(parameter++, value);
    }
    await statement.run();
    const source = (part: number) => (partitions[part] as PackedPartition).source;
    const statuses = await queryRows<{
      part: number;
      status: IngestStatus;
      reason: string | null;
      n: bigint;
      t: bigint | null;
    }>(connection, `SELECT part, status, reason, count(*) AS n, max(event_time) AS t FROM ${STAGED} GROUP BY ALL`);
    let invalid = 0;
    let buffered = 0;
    for (const row of statuses) {
      const n = Number(row.n);
      // A candidate held to the scope has its records outside it counted unexpected.
      const status = row.status === 'out_of_scope' ? this.#plan.outsideStatus(batch.side) : row.status;
      if (COUNTED.includes(row.status)) add(result.counts, status, n);
      if (row.status === 'invalid' && row.reason !== null) add(result.invalidReasons, row.reason, n);
      if (row.status === 'invalid') invalid += n;
      if (row.status === 'buffered' || row.status === 'rebuffered') buffered += n;
      if (row.t !== null) {
        const t = Number(row.t);
        const at = source(row.part);
        result.maxEventTimes.set(at, Math.max(result.maxEventTimes.get(at) ?? t, t));
      }
    }
    if (buffered > 0) {
      // Rows stand in arrival order, and positions grow with it: seq orders the buffer for the duplicates rule.
      const base = this.#seq;
      this.#seq += partitions.reduce((sum, partition) => sum + partition.count, 0);
      const sources = `[${partitions.map((partition) => literal(partition.source)).join(', ')}]`;
      await connection.run(
        `INSERT INTO ${BUFFER} SELECT ${literal(batch.comparison)}, ${literal(batch.side)}, w, k, ${base} + ordinal,
           ${sources}[part + 1], position, doc, hash(doc)
         FROM ${STAGED} WHERE status IN ('buffered', 'rebuffered')`,
      );
      const runs = await queryRows<{ source: string; w: bigint; first: bigint; n: bigint; replays: bigint }>(
        connection,
        `SELECT ${sources}[part + 1] AS source, w, min(position) AS first, count(*) AS n,
           count(*) FILTER (status = 'rebuffered') AS replays
         FROM ${STAGED} WHERE status IN ('buffered', 'rebuffered') GROUP BY ALL`,
      );
      for (const run of runs) {
        result.buffered.push({
          source: run.source,
          w: Number(run.w),
          first: Number(run.first),
          n: Number(run.n),
          replays: Number(run.replays),
        });
      }
    }
    if (batch.deadLetterLimit > 0 && invalid > 0) {
      const letters = await queryRows<{ part: number; position: bigint; reason: string; raw: string }>(
        connection,
        `SELECT part, position, reason, doc[:1024] AS raw FROM ${STAGED} WHERE status = 'invalid'
         ORDER BY ordinal LIMIT ${batch.deadLetterLimit}`,
      );
      for (const letter of letters) {
        result.deadLetters.push({
          source: source(letter.part),
          position: Number(letter.position),
          reason: letter.reason,
          raw: letter.raw,
        });
      }
    }
    return result;
  }
}
