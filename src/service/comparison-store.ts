import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { durationMs } from '../config/duration.js';
import type { ComparisonConfig, ScopeConfig, Side } from '../config/schema.js';
import { sameScope } from '../diff/scope.js';
import { literal } from '../diff/sql.js';
import { connect, inTransaction, queryRows } from '../store/duckdb.js';
import { addCountsSql, BUFFER } from '../store/schema.js';
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
  /** Set when the stored state was kept under another scope: this start began epoch `epoch` with the new one. */
  scopeChange?: ScopeChange;
}

/** A scope change at start: the scope before, and per side the records of its open windows, now late. */
export interface ScopeChange {
  from: ScopeConfig | undefined;
  late: Map<Side, number>;
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
  const before = stored ? (JSON.parse(stored.config) as ComparisonConfig).scope : undefined;
  const scopeChange =
    stored && !sameScope(before, config.scope) ? await startScopeEpoch(connection, config, before) : undefined;
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
    ...(scopeChange ? { scopeChange } : {}),
  };
}

/**
 * Starts a new epoch under `config.scope`, its state stored under the scope `from` (the runner of
 * the old scope has stopped and its buffer is gone). Records buffered in open windows were
 * classified by the old scope, and records the old scope left out of those windows are gone from
 * the buffer: neither may join the new epoch, where a window holding some of a key's records and
 * not the others would show missing or extra. So the old epoch ends its open windows as expiry
 * does (their buffered records count late in it), and the new epoch judges only windows starting
 * after the latest event time read so far: records of earlier windows that arrive later count late
 * in it. Every record is counted once, in one epoch.
 */
async function startScopeEpoch(
  connection: DuckDBConnection,
  config: ComparisonConfig,
  from: ScopeConfig | undefined,
): Promise<ScopeChange> {
  const id = literal(config.id);
  const windowMs = durationMs(config.window.size);
  const late = new Map<Side, number>();
  await inTransaction(connection, async () => {
    const [row] = await queryRows<{ epoch: number; latest: bigint | null }>(
      connection,
      `SELECT epoch, (SELECT max(max_event_time) FROM positions WHERE comparison = ${id}) AS latest
       FROM comparisons WHERE id = ${id}`,
    );
    const epoch = Number(row?.epoch ?? 1);
    const buffered = await queryRows<{ side: Side; n: bigint }>(
      connection,
      `SELECT side, sum(n) AS n FROM record_counts
       WHERE comparison = ${id} AND epoch = ${epoch} AND status = 'buffered' GROUP BY ALL HAVING sum(n) <> 0`,
    );
    for (const { side, n } of buffered) late.set(side, Number(n));
    const deltas = buffered.map(({ side, n }) => ({
      comparison: config.id,
      epoch,
      side,
      status: 'late',
      n: Number(n),
    }));
    if (deltas.length > 0) await connection.run(addCountsSql(deltas));
    await connection.run(
      `DELETE FROM record_counts WHERE comparison = ${id} AND epoch = ${epoch} AND status = 'buffered'`,
    );
    // Nothing of the old scope's open windows is needed again: each partition resumes after what was counted.
    await connection.run(`UPDATE positions SET resume = position + 1, buffered = 0 WHERE comparison = ${id}`);
    // The first window after the latest event time read: the new epoch's records start there. Earlier
    // windows take no more records; later ones are open again even after an input ended (a file
    // read to its end closed every window: a file that has grown since is read on under the new scope).
    const latest = row?.latest == null ? null : Number(row.latest);
    const first = latest === null ? null : (Math.floor(latest / windowMs) + 1) * windowMs;
    const windows =
      first === null
        ? ''
        : `, expired_before = greatest(coalesce(expired_before, ${first}), ${first}),
           closed_through = least(closed_through, ${first})`;
    await connection.run(
      `UPDATE comparisons SET config = ${literal(JSON.stringify(config))}, epoch = ${epoch + 1},
         epoch_started_at = now()${windows} WHERE id = ${id}`,
    );
  });
  return { from, late };
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

/** Drops a stopped comparison's open-window buffers (in memory): its next runner rebuilds them from the log. */
export async function dropBuffer(connection: DuckDBConnection, comparison: string): Promise<void> {
  await connection.run(`DELETE FROM ${BUFFER} WHERE comparison = ${literal(comparison)}`);
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
    await dropBuffer(connection, comparison);
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
