import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { type IngestPlan, type IngestStatus, type OpenFrom, RECORD_SEPARATOR } from '../align/ingest.js';
import type { DeadLetter, PackedPartition } from '../align/prepare.js';
import type { Side } from '../config/schema.js';
import { literal, textHash } from '../diff/sql.js';
import { EventLoopSlices } from '../slices.js';
import { inTransaction, queryRows } from './duckdb.js';
import { BUFFER } from './schema.js';

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
 * Classifies one batch of a side in DuckDB (`align/ingest.ts`) straight into the in-memory buffer,
 * counts it there and keeps the records of open windows, in one transaction. Nothing here is durable: the counts, positions and dead letters
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
      // After the classify statement's own parameters: comparison, side, the seq the batch follows,
      // and the packs' sources joined by RECORD_SEPARATOR.
      const at = this.#plan.parameterCount(slots);
      statement = await connection.prepare(
        `INSERT INTO ${BUFFER} SELECT $${at + 1}::VARCHAR, $${at + 2}::VARCHAR, w, k, $${at + 3}::BIGINT + ordinal,
           string_split($${at + 4}::VARCHAR, chr(30))[part + 1], position, doc, ${textHash('doc')}, status, reason,
           event_time, part
         FROM (${this.#plan.classifySql(slots)})`,
      );
      prepared.set(slots, statement);
    }
    return statement;
  }

  /** Batches of different sides may be buffered at once, each on a connection of its own. */
  async write(connection: DuckDBConnection, batch: BufferBatch): Promise<BufferResult> {
    const partitions = batch.partitions.filter((partition) => partition.count > 0);
    if (partitions.length === 0) return emptyResult();
    const slots = 2 ** Math.ceil(Math.log2(partitions.length));
    const statement = await this.#statement(connection, slots);
    // Each bind copies a pack into DuckDB on this thread: a pack at a time, with the event loop
    // free in between, so gate polls are not held up by a batch of many megabytes.
    const slices = new EventLoopSlices();
    let parameter = 1;
    let records = 0;
    for (const partition of partitions) {
      await slices.pause();
      const [docs, ...texts] = this.#plan.packValues(partition, records);
      records += partition.count;
      statement.bindBlob(parameter++, docs);
      partition.release?.();
      for (const text of texts) statement.bindVarchar(parameter++, text);
    }
    for (; parameter <= slots * this.#plan.valuesPerPack; parameter++) statement.bindNull(parameter);
    for (const value of this.#plan.openValues(batch.open)) {
      if (value === null) statement.bindNull(parameter++);
      else statement.bindVarchar(parameter++, value);
    }
    // Rows stand in arrival order, and positions grow with it: seq orders the buffer for the duplicates rule.
    const base = this.#seq;
    this.#seq += records;
    statement.bindVarchar(parameter++, batch.comparison);
    statement.bindVarchar(parameter++, batch.side);
    statement.bindVarchar(parameter++, String(base));
    statement.bindVarchar(parameter++, partitions.map((partition) => partition.source).join(RECORD_SEPARATOR));
    const mine = `comparison = ${literal(batch.comparison)} AND side = ${literal(batch.side)}
      AND seq > ${base} AND seq <= ${base + records}`;
    // The batch lands whole and leaves only the records of open windows: no other connection ever
    // sees the rest (a window's diff reads the buffer while batches land).
    const tooDeep = this.#plan.tooDeep(BUFFER, mine);
    return inTransaction(connection, async () => {
      await statement.run();
      let statuses = await this.#statuses(connection, mine, tooDeep.candidate);
      if (statuses.some((row) => Number(row.deep) > 0)) {
        await connection.run(tooDeep.update);
        statuses = await this.#statuses(connection, mine, tooDeep.candidate);
      }
      const result = await this.#read(connection, mine, batch, statuses);
      await connection.run(`DELETE FROM ${BUFFER} WHERE ${mine} AND status NOT IN ('buffered', 'rebuffered')`);
      return result;
    });
  }

  /** A batch's records by source, status and reason, with how many could nest too deep. */
  #statuses(connection: DuckDBConnection, mine: string, deepCandidate: string): Promise<StatusRow[]> {
    return queryRows<StatusRow>(
      connection,
      `SELECT source, status, reason, count(*) AS n, max(event_time) AS t, count(*) FILTER (${deepCandidate}) AS deep
       FROM ${BUFFER} WHERE ${mine} GROUP BY ALL`,
    );
  }

  /** The counts, open-window runs and dead letters of a batch just landed in the buffer. */
  async #read(
    connection: DuckDBConnection,
    mine: string,
    batch: BufferBatch,
    statuses: StatusRow[],
  ): Promise<BufferResult> {
    const result = emptyResult();
    const add = <K>(map: Map<K, number>, key: K, n: number) => map.set(key, (map.get(key) ?? 0) + n);
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
        result.maxEventTimes.set(row.source, Math.max(result.maxEventTimes.get(row.source) ?? t, t));
      }
    }
    if (buffered > 0) {
      const runs = await queryRows<{ source: string; w: bigint; first: bigint; n: bigint; replays: bigint }>(
        connection,
        `SELECT source, w, min(position) AS first, count(*) AS n, count(*) FILTER (status = 'rebuffered') AS replays
         FROM ${BUFFER} WHERE ${mine} AND status IN ('buffered', 'rebuffered') GROUP BY ALL`,
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
      const letters = await queryRows<{ source: string; position: bigint; reason: string; raw: string }>(
        connection,
        `SELECT source, position, reason, doc[:1024] AS raw FROM ${BUFFER} WHERE ${mine} AND status = 'invalid'
         ORDER BY seq LIMIT ${batch.deadLetterLimit}`,
      );
      for (const letter of letters) {
        result.deadLetters.push({
          source: letter.source,
          position: Number(letter.position),
          reason: letter.reason,
          raw: letter.raw,
        });
      }
    }
    return result;
  }
}

interface StatusRow {
  source: string;
  status: IngestStatus;
  reason: string | null;
  n: bigint;
  t: bigint | null;
  deep: bigint;
}

function emptyResult(): BufferResult {
  return { counts: new Map(), invalidReasons: new Map(), maxEventTimes: new Map(), buffered: [], deadLetters: [] };
}
