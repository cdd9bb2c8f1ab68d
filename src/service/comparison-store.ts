import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { ComparisonConfig, Side } from '../config/schema.js';
import { checkScopeUnchanged } from '../diff/scope.js';
import { literal } from '../diff/sql.js';
import { connect, inTransaction, queryRows } from '../store/duckdb.js';
import { BUFFER } from '../store/schema.js';
import type { StoredPosition } from './checkpoint.js';

/** What a runner takes back from storage at start. */
export interface RestoredComparison {
  epoch: number;
  epochStartedAt: Date;
  /** When the comparison was first created: the simulator's time anchor across restarts. */
  createdAtMs: number;
  closedThrough: number | null;
  expiredBefore: number | null;
  /** Per side and partition: the stored checkpoint. */
  positions: StoredPosition[];
}

/** Registers the comparison (once) and reads its durable state. */
export async function restoreComparison(
  connection: DuckDBConnection,
  config: ComparisonConfig,
): Promise<RestoredComparison> {
  const id = literal(config.id);
  await connection.run(
    `INSERT INTO comparisons (id, config, epoch, epoch_started_at, created_at)
     VALUES (${id}, ${literal(JSON.stringify(config))}, 1, now(), now()) ON CONFLICT DO NOTHING`,
  );
  const [stored] = await queryRows<{ config: string }>(
    connection,
    `SELECT config::VARCHAR AS config FROM comparisons WHERE id = ${id}`,
  );
  if (stored) checkScopeUnchanged(JSON.parse(stored.config) as ComparisonConfig, config.scope);
  const [row] = await queryRows<{
    epoch: number;
    started: bigint;
    created: bigint;
    closed_through: bigint | null;
    expired_before: bigint | null;
  }>(
    connection,
    `SELECT epoch, epoch_ms(epoch_started_at) AS started, epoch_ms(created_at) AS created, closed_through, expired_before
     FROM comparisons WHERE id = ${id}`,
  );
  const positions = await queryRows<{
    side: Side;
    source: string;
    position: bigint;
    max_event_time: bigint | null;
    resume: bigint | null;
    buffered: bigint | null;
  }>(
    connection,
    `SELECT side, source, position, max_event_time, resume, buffered FROM positions WHERE comparison = ${id}`,
  );
  const number = (value: bigint | null | undefined) => (value == null ? null : Number(value));
  return {
    epoch: Number(row?.epoch ?? 1),
    epochStartedAt: new Date(Number(row?.started ?? Date.now())),
    createdAtMs: Number(row?.created ?? Date.now()),
    closedThrough: number(row?.closed_through),
    expiredBefore: number(row?.expired_before),
    positions: positions.map((p) => ({
      side: p.side,
      source: p.source,
      countedThrough: Number(p.position),
      // A file of the release before checkpoints had nothing buffered where no resume is stored.
      resume: number(p.resume) ?? Number(p.position) + 1,
      buffered: number(p.buffered) ?? 0,
      maxEventTime: number(p.max_event_time),
    })),
  };
}

/** Starts epoch `epoch + 1`; records still buffered belong to it: their windows close in it. */
export async function startNextEpoch(connection: DuckDBConnection, comparison: string, epoch: number): Promise<void> {
  const id = literal(comparison);
  const next = epoch + 1;
  await inTransaction(connection, async () => {
    await connection.run(
      `INSERT INTO record_counts SELECT comparison, ${next}, side, status, writer, sum(n) FROM record_counts
       WHERE comparison = ${id} AND epoch = ${epoch} AND status = 'buffered' GROUP BY ALL HAVING sum(n) <> 0`,
    );
    await connection.run(
      `DELETE FROM record_counts WHERE comparison = ${id} AND epoch = ${epoch} AND status = 'buffered'`,
    );
    await connection.run(`UPDATE comparisons SET epoch = ${next}, epoch_started_at = now() WHERE id = ${id}`);
  });
}

/** Deletes everything stored for a comparison; call once its runner has stopped. */
export async function deleteComparisonState(
  instance: DuckDBInstance,
  comparison: string,
  tables: readonly string[],
): Promise<void> {
  const connection = await connect(instance);
  try {
    // A transaction writes to one database: the in-memory buffer goes first, on its own.
    await connection.run(`DELETE FROM ${BUFFER} WHERE comparison = ${literal(comparison)}`);
    await inTransaction(connection, async () => {
      for (const table of tables) {
        const column = table === 'comparisons' ? 'id' : 'comparison';
        await connection.run(`DELETE FROM ${table} WHERE ${column} = ${literal(comparison)}`);
      }
    });
  } finally {
    connection.closeSync();
  }
}
