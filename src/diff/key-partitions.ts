import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type ProgressListener, queryRows, runWithProgress } from '../store/duckdb.js';
import { alignSql, comparedRowsSql, PARTITION_HASH_BITS } from './records-sql.js';
import type { DiffSpec, SideInput } from './spec.js';
import { highHash, identifier, literal, lowHash } from './sql.js';

/**
 * Compared records (both sides together) one partition of the aligning step takes at most. Its
 * aggregate holds ~100 bytes a key, so a partition stays well inside the batch diff's 1 GB: at 10M
 * records a side the step takes 16 partitions, and nothing spills.
 */
export const ROWS_PER_PARTITION = 2_000_000;

/** Rows a Parquet writer of the partitions buffers before it writes them out. */
const PARTITION_WRITE_FLUSH_ROWS = 65_536;

/** How many bits of the key hash split `rows` compared records into partitions of about `perPartition` at most (256 at most). */
export function partitionBits(rows: number, perPartition = ROWS_PER_PARTITION): number {
  let bits = 0;
  while (bits < PARTITION_HASH_BITS && rows > perPartition * 2 ** bits) bits++;
  return bits;
}

export type AlignedOutcome = 'equal' | 'pending' | 'missing' | 'extra';

export interface AlignedKeys {
  /** Per window start, the number of keys of each outcome. */
  windows: Map<number, Record<AlignedOutcome, number>>;
  /** Per side (live, other): records of compared keys, duplicates included, and the duplicates. */
  records: [number, number];
  duplicates: [number, number];
  /** A key with duplicates and its side (0 live, 1 other), when there is one. */
  duplicate?: { k: string; side: 0 | 1 };
}

/** A side's records table (`recordsSql`) and the input it was read from. */
export interface SideRecords {
  records: string;
  input: SideInput;
}

/**
 * Both sides' compared records, split by key hash into `2^bits` partitions for the aligning step.
 * With more than one partition, each side's compared records go to a Parquet file per partition
 * as soon as its records table is built, so the table can be dropped before the next side is read:
 * at 10M records a side the two tables did not fit DuckDB's memory beside each other, spilled, and
 * every later step (the aligning, the second read of the inputs) grew faster than the data. With
 * one partition the records tables themselves are read, in memory.
 */
export class KeyPartitions {
  readonly #perPartition: number;
  #bits = 0;
  #folder: string | undefined;
  readonly #inMemory: string[] = [];

  constructor(perPartition = ROWS_PER_PARTITION) {
    this.#perPartition = perPartition;
  }

  get bits(): number {
    return this.#bits;
  }

  /** True when `add` copied the side's compared records out of its records table, which may then be dropped. */
  get copies(): boolean {
    return this.#folder !== undefined;
  }

  /**
   * Adds the `compared` records of a side (0 live, then 1 other). Live's count decides the number
   * of partitions before the other side is read, taking that one to be about as large: a larger
   * one makes larger partitions, not wrong ones.
   */
  async add(
    connection: DuckDBConnection,
    side: 0 | 1,
    { records, input }: SideRecords,
    compared: number,
    spec: DiffSpec,
    onProgress?: ProgressListener,
  ): Promise<void> {
    if (side === 0) {
      this.#bits = partitionBits(2 * compared, this.#perPartition);
      if (this.#bits > 0) this.#folder = await mkdtemp(join(tmpdir(), 'shadowdiff-partitions-'));
    }
    const rows = comparedRowsSql(records, input, side, spec, this.#bits);
    if (!this.#folder) {
      this.#inMemory.push(rows);
      return;
    }
    // Parquet holds no 128-bit integers (DuckDB would write a double): the hashes go as their halves.
    // Small row groups and early flushes: the writers' buffers live outside DuckDB's memory limit.
    await connection.run(`SET partitioned_write_flush_threshold = ${PARTITION_WRITE_FLUSH_ROWS}`);
    try {
      await runWithProgress(
        connection,
        `COPY (SELECT side, pos, w, k, ${highHash('h')} AS rh, ${lowHash('h')} AS fh, part FROM (${rows}))
         TO ${literal(join(this.#folder, String(side)))}
         (FORMAT parquet, PARTITION_BY (part), ROW_GROUP_SIZE ${PARTITION_WRITE_FLUSH_ROWS})`,
        onProgress,
      );
    } finally {
      await connection.run('RESET partitioned_write_flush_threshold');
    }
  }

  /** The rows (`side, pos, w, k, h`) of partition `index`; undefined when no record falls in it. */
  rows(index: number): string | undefined {
    if (!this.#folder) return this.#inMemory.join(' UNION ALL ');
    const folder = this.#folder;
    const files = [0, 1]
      .map((side) => join(folder, String(side), `part=${index}`))
      .filter((path) => existsSync(path))
      .map((path) => literal(join(path, '*.parquet')));
    if (files.length === 0) return undefined;
    return `SELECT side, pos, w, k, (rh::UHUGEINT << 64) | fh::UHUGEINT AS h
      FROM read_parquet([${files.join(', ')}], hive_partitioning = false)`;
  }

  async remove(): Promise<void> {
    if (this.#folder) await rm(this.#folder, { recursive: true, force: true });
  }
}

/**
 * Aligns the compared records of both sides by (window, key), one key-hash partition at a time,
 * so each partition's aggregate fits in memory whatever the input's size: one over everything
 * spilled to disk past a few million records a side and grew faster than the data. Only the keys
 * that are not equal are kept, in `aligned` (with the hashes of both sides' records, split into
 * `rh`/`fh` for `textsSql`): equal ones, almost all of them, are only counted.
 */
export async function alignInPartitions(
  connection: DuckDBConnection,
  aligned: string,
  partitions: KeyPartitions,
  spec: DiffSpec,
  onProgress?: ProgressListener,
): Promise<AlignedKeys> {
  const partition = identifier(`${aligned.slice(1, -1)}_partition`);
  const result: AlignedKeys = { windows: new Map(), records: [0, 0], duplicates: [0, 0] };
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE ${aligned} (w BIGINT, k VARCHAR, lpos BIGINT, opos BIGINT, lrh UBIGINT, orh UBIGINT,
       lfh UBIGINT, ofh UBIGINT, outcome VARCHAR)`,
  );
  const count = 2 ** partitions.bits;
  try {
    for (let index = 0; index < count; index++) {
      const partitionRows = partitions.rows(index);
      if (partitionRows === undefined) continue;
      await runWithProgress(
        connection,
        alignSql(partition, partitionRows, spec),
        onProgress && ((fraction) => onProgress((index + fraction) / count)),
      );
      const counts = await queryRows<{
        w: bigint;
        outcome: AlignedOutcome;
        n: bigint;
        lcount: bigint;
        ocount: bigint;
        ldup: bigint;
        odup: bigint;
      }>(
        connection,
        `SELECT w, outcome, count(*) AS n, sum(lcount) AS lcount, sum(ocount) AS ocount,
           sum(greatest(lcount - 1, 0)) AS ldup, sum(greatest(ocount - 1, 0)) AS odup
         FROM ${partition} GROUP BY w, outcome`,
      );
      for (const row of counts) {
        const w = Number(row.w);
        let window = result.windows.get(w);
        if (!window) {
          window = { equal: 0, pending: 0, missing: 0, extra: 0 };
          result.windows.set(w, window);
        }
        window[row.outcome] += Number(row.n);
        result.records[0] += Number(row.lcount);
        result.records[1] += Number(row.ocount);
        result.duplicates[0] += Number(row.ldup);
        result.duplicates[1] += Number(row.odup);
      }
      if (spec.duplicates === 'error' && !result.duplicate && result.duplicates[0] + result.duplicates[1] > 0) {
        const [found] = await queryRows<{ k: string; side: number }>(
          connection,
          `SELECT k, CASE WHEN lcount > 1 THEN 0 ELSE 1 END AS side FROM ${partition}
           WHERE lcount > 1 OR ocount > 1 LIMIT 1`,
        );
        if (found) result.duplicate = { k: found.k, side: found.side === 0 ? 0 : 1 };
      }
      await connection.run(
        `INSERT INTO ${aligned} SELECT w, k, lpos, opos, ${highHash('lh')}, ${highHash('oh')}, ${lowHash('lh')},
           ${lowHash('oh')}, outcome
         FROM ${partition} WHERE outcome <> 'equal'`,
      );
    }
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${partition}`);
  }
  return result;
}
