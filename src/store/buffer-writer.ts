import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import {
  type IngestPlan,
  type IngestStatus,
  type OpenFrom,
  RECORD_SEPARATOR,
  RECORD_SEPARATOR_BYTE,
} from '../align/ingest.js';
import type { DeadLetter, PackedPartition } from '../align/prepare.js';
import type { Side } from '../config/schema.js';
import { literal, textHash } from '../diff/sql.js';
import { EventLoopSlices } from '../slices.js';
import { inTransaction, queryRows } from './duckdb.js';
import { writeHeldRecords } from './held-records.js';
import type { HeldRecord, OpenPairs } from './open-pairs.js';
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

/** How many records `#hold` takes between looks at the event loop. */
const HOLD_SLICE_RECORDS = 512;

const COUNTED: readonly IngestStatus[] = ['buffered', 'sampled_out', 'late', 'invalid', 'out_of_scope'];

/**
 * Buffers one batch of a side. Packs keyed where the source ran are held in memory by window
 * (`OpenPairs`) and counted from their runs, without a query; the others are classified in
 * DuckDB (`align/ingest.ts`) straight into the in-memory buffer table, counted there, and only the
 * records of open windows kept, in one transaction. Nothing here is durable: the counts, positions
 * and dead letters it returns go into the comparison's next checkpoint, and both buffers are
 * rebuilt from the log after a restart.
 */
export class BufferWriter {
  readonly #plan: IngestPlan;
  readonly #pairs: OpenPairs;
  /** Arrival order in the buffer, shared by every side's connection. */
  #seq = 0;
  /** Per connection, the classify statement prepared for each number of pack slots. */
  readonly #statements = new WeakMap<DuckDBConnection, Map<number, DuckDBPreparedStatement>>();

  constructor(plan: IngestPlan, pairs: OpenPairs) {
    this.#plan = plan;
    this.#pairs = pairs;
  }

  /** The statement classifying `slots` packs into the buffer table. */
  async #statement(connection: DuckDBConnection, slots: number): Promise<DuckDBPreparedStatement> {
    let prepared = this.#statements.get(connection);
    if (!prepared) {
      prepared = new Map();
      this.#statements.set(connection, prepared);
    }
    let statement = prepared.get(slots);
    if (!statement) {
      // After the query's own parameters: comparison, side, the seq the batch follows, and the
      // packs' sources joined by RECORD_SEPARATOR.
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

  /**
   * Binds packs to the classify statement. Each bind copies a pack into DuckDB on this thread: a
   * pack at a time, with the event loop free in between, so gate polls are not held up by a batch
   * of many megabytes.
   */
  async #bind(
    connection: DuckDBConnection,
    { batch, packs, shifts, base }: PackBinding,
    slices: EventLoopSlices,
  ): Promise<DuckDBPreparedStatement> {
    // As many slots as packs: an unused slot would bind NULLs, which makes DuckDB plan the statement again.
    const statement = await this.#statement(connection, packs.length);
    let parameter = 1;
    for (const pack of packs) {
      await slices.pause();
      const values = this.#plan.packValues(pack, shifts.get(pack.source) ?? 0);
      statement.bindBlob(parameter++, values.docs);
      pack.release?.();
      statement.bindVarchar(parameter++, values.positions);
      statement.bindVarchar(parameter++, values.keys);
      statement.bindVarchar(parameter++, values.times);
      statement.bindBigInt(parameter++, values.shift);
      statement.bindBoolean(parameter++, values.replay);
    }
    for (const value of this.#plan.openValues(batch.open)) statement.bindBigInt(parameter++, value);
    statement.bindVarchar(parameter++, batch.comparison);
    statement.bindVarchar(parameter++, batch.side);
    statement.bindBigInt(parameter++, BigInt(base));
    statement.bindVarchar(parameter++, packs.map((pack) => pack.source).join(RECORD_SEPARATOR));
    return statement;
  }

  /** Batches of different sides may be buffered at once, each on a connection of its own. */
  async write(connection: DuckDBConnection, batch: BufferBatch): Promise<BufferResult> {
    const partitions = batch.partitions.filter((partition) => partition.count > 0);
    if (partitions.length === 0) return emptyResult();
    const keyed = partitions.filter((partition) => partition.runs);
    const unkeyed = partitions.filter((partition) => !partition.runs);
    const { shifts, span } = ordinalShifts(partitions);
    // seq orders the buffer for the duplicates rule: by position within a source partition. The
    // range is taken before any await: the other side's batches take theirs meanwhile.
    const base = this.#seq;
    this.#seq += span;
    const unheld = await this.#hold({ batch, packs: keyed, shifts, base });
    const result =
      unkeyed.length > 0
        ? await this.#classify(connection, { batch, packs: unkeyed, shifts, base }, span)
        : emptyResult();
    // Records of windows too large to hold: the buffer table can spill them to disk.
    await writeHeldRecords(connection, batch.comparison, unheld);
    return this.#countKeyed(keyed, batch.open, result);
  }

  /**
   * Holds the records of open windows of keyed packs; returns those to write to the buffer table
   * instead (`OpenPairs.hold`, `OpenPairs.spillOverflow`). A batch may gather 50,000 records while
   * the previous one is written: in slices of the event loop, so gate polls are answered meanwhile.
   */
  async #hold({ batch, packs, shifts, base }: PackBinding): Promise<HeldRecord[]> {
    const unheld: HeldRecord[] = [];
    const slices = new EventLoopSlices();
    for (const pack of packs) {
      // A copy: the texts may sit in shared memory that is reused once released.
      const docs = Buffer.from(pack.docs);
      pack.release?.();
      const positions = pack.positions.split(',');
      const keys = (pack.keys ?? '').split(RECORD_SEPARATOR);
      const times = (pack.timestamps ?? '').split(',');
      const shift = shifts.get(pack.source) ?? 0;
      let start = 0;
      for (let i = 0; i < pack.count; i++) {
        if (i % HOLD_SLICE_RECORDS === 0) await slices.pause();
        const separator = docs.indexOf(RECORD_SEPARATOR_BYTE, start);
        const end = separator < 0 ? docs.length : separator;
        const eventTime = Number(times[i]);
        const w = this.#plan.windowOf(eventTime);
        if (!this.#plan.isLate(w, batch.open)) {
          const position = Number(positions[i]);
          const record: HeldRecord = {
            side: batch.side,
            w,
            k: keys[i] as string,
            texts: docs,
            start,
            end,
            seq: base + position + shift,
            source: pack.source,
            position,
            eventTime,
            replay: pack.replay === true,
          };
          if (!this.#pairs.hold(record)) unheld.push(record);
        }
        start = end + 1;
      }
    }
    return unheld.concat(this.#pairs.spillOverflow());
  }

  /**
   * Classifies unkeyed packs into the buffer table. The batch lands whole and leaves only the
   * records of open windows: no other connection ever sees the rest (a window's diff reads the
   * buffer while batches land).
   */
  async #classify(connection: DuckDBConnection, binding: PackBinding, span: number): Promise<BufferResult> {
    const { batch, base } = binding;
    const statement = await this.#bind(connection, binding, new EventLoopSlices());
    const mine = `comparison = ${literal(batch.comparison)} AND side = ${literal(batch.side)}
      AND seq > ${base} AND seq <= ${base + span}`;
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

  /** Adds the counts, open-window runs and latest event times of keyed packs, from their runs. */
  #countKeyed(packs: PackedPartition[], open: OpenFrom, result: BufferResult): BufferResult {
    const add = (status: IngestStatus, n: number) => result.counts.set(status, (result.counts.get(status) ?? 0) + n);
    for (const pack of packs) {
      for (const run of pack.runs ?? []) {
        const latest = result.maxEventTimes.get(pack.source);
        result.maxEventTimes.set(pack.source, Math.max(latest ?? run.maxEventTime, run.maxEventTime));
        const late = this.#plan.isLate(run.w, open);
        // A replay was counted before a restart: it is only buffered again, while its window is open.
        if (!pack.replay) add(late ? 'late' : 'buffered', run.n);
        if (!late) {
          const replays = pack.replay ? run.n : 0;
          result.buffered.push({ source: pack.source, w: run.w, first: run.first, n: run.n, replays });
        }
      }
    }
    return result;
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

/** Packs of one kind, with what their records' ordinals and seqs follow. */
interface PackBinding {
  batch: BufferBatch;
  packs: PackedPartition[];
  /** Per source: what its positions are shifted by to give ordinals (`ordinalShifts`). */
  shifts: Map<string, number>;
  /** The seq the batch's ordinals follow. */
  base: number;
}

interface StatusRow {
  source: string;
  status: IngestStatus;
  reason: string | null;
  n: bigint;
  t: bigint | null;
  deep: bigint;
}

/**
 * Gives each source partition of a batch a range of ordinals from 1 on, as wide as its positions
 * span: a record's ordinal is its position plus its partition's shift, so a keyed and an unkeyed
 * pack of one partition interleave in the order it delivered them. Positions grow within a pack.
 */
function ordinalShifts(packs: PackedPartition[]): { shifts: Map<string, number>; span: number } {
  const ranges = new Map<string, { first: number; last: number }>();
  for (const pack of packs) {
    const comma = pack.positions.indexOf(',');
    const first = Number(comma < 0 ? pack.positions : pack.positions.slice(0, comma));
    const last = Number(pack.positions.slice(pack.positions.lastIndexOf(',') + 1));
    const range = ranges.get(pack.source);
    if (range) {
      range.first = Math.min(range.first, first);
      range.last = Math.max(range.last, last);
    } else ranges.set(pack.source, { first, last });
  }
  const shifts = new Map<string, number>();
  let span = 0;
  for (const [source, range] of ranges) {
    shifts.set(source, span + 1 - range.first);
    span += range.last - range.first + 1;
  }
  return { shifts, span };
}

function emptyResult(): BufferResult {
  return { counts: new Map(), invalidReasons: new Map(), maxEventTimes: new Map(), buffered: [], deadLetters: [] };
}
