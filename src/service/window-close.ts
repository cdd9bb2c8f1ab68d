import type { DuckDBConnection } from '@duckdb/node-api';
import type { Side } from '../config/schema.js';
import {
  type DiffSpec,
  diffPair,
  type OutcomeStats,
  type PairResult,
  type SideCounts,
  type SideInput,
} from '../diff/engine.js';
import { literal } from '../diff/sql.js';
import { queryRows } from '../store/duckdb.js';
import { writeHeldRecords } from '../store/held-records.js';
import { contestKey, type OpenPairs } from '../store/open-pairs.js';
import { BUFFER } from '../store/schema.js';
import type { SettleChoice } from './settle-choice.js';

/** Windows closed together: one pass of the engine over all of them. */
export interface ClosedWindows {
  windows: number[];
  candidate: PairResult;
  control?: PairResult;
  /** In cluster mode: per side, the records whose key came on another partition on another side (`misroutedCounts`). */
  misrouted?: Partial<Record<Side, number>>;
  diffSeconds: number;
}

const EMPTY: OutcomeStats = { equal: 0, different: 0, missing: 0, extra: 0, fields: [], differingRows: [] };

/** The buffered records of one side in some windows, as the diff engine reads them; `seq` is their position. */
function bufferInput(connection: DuckDBConnection, comparison: string, side: Side, windows: number[]): SideInput {
  const where = `comparison = ${literal(comparison)} AND side = ${literal(side)} AND w IN (${windows.join(', ')})`;
  return {
    side,
    keyed: true,
    relation: `(SELECT doc, CAST(NULL AS VARCHAR) AS reason, k, w, seq AS pos, rh FROM ${BUFFER} WHERE ${where})`,
    async locate(positions) {
      const located = new Map<number, { label: string }>();
      if (positions.length === 0) return located;
      const rows = await queryRows<{ seq: bigint; source: string; position: bigint }>(
        connection,
        `SELECT seq, source, position FROM ${BUFFER} WHERE ${where} AND seq IN (${positions.join(', ')})`,
      );
      for (const row of rows) located.set(Number(row.seq), { label: `${row.source}@${row.position}` });
      return located;
    },
  };
}

/**
 * In cluster mode, instances pair partition p of every side, so a key must come on the same
 * partition number on every side (docs/SCALING.md). Per window and key, the record the duplicates
 * rule keeps on each side (as the engine picks it, by arrival `seq`) is compared with live's: a
 * candidate or control record on another partition is misrouted, and so is a live record whose key
 * came on another partition on any other side (counted once). Buffered records are valid and
 * sampled, each kept record is one `accepted` record of the engine, so these are among them. The
 * partition is the number after the last `/` of the source (`topic/partition`).
 */
export async function misroutedCounts(
  connection: DuckDBConnection,
  comparison: string,
  windows: number[],
  duplicates: DiffSpec['duplicates'],
): Promise<Partial<Record<Side, number>>> {
  const pick = duplicates === 'first' ? 'min_by' : 'max_by';
  const rows = await queryRows<{ side: Side; n: bigint }>(
    connection,
    `WITH kept AS (
       SELECT side, w, k, ${pick}(regexp_extract(source, '[0-9]+$'), seq) AS p FROM ${BUFFER}
       WHERE comparison = ${literal(comparison)} AND w IN (${windows.join(', ')}) GROUP BY side, w, k),
     moved AS (
       SELECT other.side, other.w, other.k FROM kept live JOIN kept other ON other.w = live.w AND other.k = live.k
       WHERE live.side = 'live' AND other.side <> 'live' AND other.p <> live.p)
     SELECT side, count(*) AS n FROM moved GROUP BY side
     UNION ALL SELECT 'live' AS side, count(DISTINCT (w, k)) AS n FROM moved`,
  );
  return Object.fromEntries(rows.filter((row) => row.n > 0n).map((row) => [row.side, Number(row.n)]));
}

/** Per pair of sides, whether its diffs settle pairs as typed rows first (`SettleChoice`). */
export interface SettleChoices {
  candidate: SettleChoice;
  control: SettleChoice;
}

/**
 * Diffs closed windows together: candidate vs live, and control vs live when there is a control.
 * Keys whose held records (`pairs`) are the same text on every side are settled equal first; the
 * rest of them joins the buffer table, and the diff engine runs over that, if anything is left.
 * Keys align within their window; one engine pass over many windows costs far less than one each.
 * `countMisrouted`: cluster mode, where keys must come on the same partition on every side.
 * `settle`: the comparison's choices, which each diff informs.
 */
export async function diffWindows(
  connection: DuckDBConnection,
  comparison: string,
  windows: number[],
  spec: DiffSpec,
  hasControl: boolean,
  pairs: OpenPairs,
  countMisrouted = false,
  settle?: SettleChoices,
): Promise<ClosedWindows> {
  const started = performance.now();
  const holding = windows.some((w) => pairs.holds(w));
  const contested = holding ? await bufferedKeys(connection, comparison, windows) : new Set<string>();
  const held = await pairs.take(windows, contested);
  await writeHeldRecords(connection, comparison, held.rest);
  const settledOnly = holding && held.rest.length === 0 && contested.size === 0;
  const live = bufferInput(connection, comparison, 'live', windows);
  const pair = async (side: 'candidate' | 'control', pairSpec: DiffSpec): Promise<PairResult> => {
    if (settledOnly) return emptyPair();
    const choice = settle?.[side];
    const input = bufferInput(connection, comparison, side, windows);
    const result = await diffPair(connection, pairSpec, live, input, {}, { settle: choice?.next() ?? true });
    choice?.observe(result.settle);
    return result;
  };
  const candidate = withSettled(await pair('candidate', spec), held.settled);
  const control = hasControl
    ? withSettled(await pair('control', { ...spec, samplesPerGroup: 0 }), held.settled)
    : undefined;
  const misrouted = countMisrouted
    ? settledOnly
      ? {}
      : await misroutedCounts(connection, comparison, windows, spec.duplicates)
    : undefined;
  return {
    windows,
    candidate,
    ...(control ? { control } : {}),
    ...(misrouted ? { misrouted } : {}),
    diffSeconds: (performance.now() - started) / 1000,
  };
}

/** The keys of the windows that have records in the buffer table. */
async function bufferedKeys(connection: DuckDBConnection, comparison: string, windows: number[]): Promise<Set<string>> {
  const rows = await queryRows<{ w: bigint; k: string }>(
    connection,
    `SELECT DISTINCT w, k FROM ${BUFFER} WHERE comparison = ${literal(comparison)} AND w IN (${windows.join(', ')})`,
  );
  return new Set(rows.map((row) => contestKey(row.w, row.k)));
}

/** Adds the keys settled equal (one record a side, counted valid) to a pair's outcomes. */
function withSettled(pair: PairResult, settled: Map<number, number>): PairResult {
  for (const [w, n] of settled) {
    pair.equal += n;
    pair.live.valid += n;
    pair.other.valid += n;
    const stats = pair.windows.get(w);
    if (stats) stats.equal += n;
    else pair.windows.set(w, { ...EMPTY, fields: [], differingRows: [], equal: n });
  }
  return pair;
}

function emptyPair(): PairResult {
  const side = (): SideCounts => ({
    valid: 0,
    invalid: 0,
    sampledOut: 0,
    outOfScope: 0,
    duplicates: 0,
    invalidReasons: {},
  });
  return {
    ...EMPTY,
    fields: [],
    differingRows: [],
    live: side(),
    other: side(),
    samples: [],
    windows: new Map(),
    settle: { tried: false, pending: 0, settled: 0 },
  };
}

function fieldRows(id: string, epoch: number, window: number, pair: string, stats: OutcomeStats): string[] {
  return stats.fields.map(
    (f) =>
      `(${id}, ${epoch}, ${window}, ${literal(pair)}, ${literal(f.path)}, ${f.different}, ${f.kinds.value}, ${f.kinds.type}, ${f.kinds.missing}, ${f.kinds.extra})`,
  );
}

function fieldsetRows(id: string, epoch: number, window: number, stats: OutcomeStats): string[] {
  const fieldsets = new Map<string, { fields: string[]; n: number }>();
  for (const fields of stats.differingRows) {
    const sorted = [...fields].sort();
    const key = JSON.stringify(sorted);
    const entry = fieldsets.get(key) ?? { fields: sorted, n: 0 };
    entry.n++;
    fieldsets.set(key, entry);
  }
  return [...fieldsets.values()].map(
    ({ fields, n }) => `(${id}, ${epoch}, ${window}, [${fields.map(literal).join(', ')}]::VARCHAR[], ${n})`,
  );
}

/** A count of a side's records moving between statuses. */
export interface StatusDelta {
  side: Side;
  status: string;
  n: number;
}

/**
 * What storing closed windows takes: statements for their results, and the counts of their
 * records, moving from `buffered` to their final status (accepted, duplicate, invalid). Both go
 * into the comparison's next checkpoint, in one transaction.
 */
export function closedWindowRows(
  comparison: string,
  epoch: number,
  closed: ClosedWindows,
): { statements: string[]; deltas: StatusDelta[] } {
  const id = literal(comparison);
  const { candidate, control } = closed;
  const statements: string[] = [];
  const share = closed.diffSeconds / closed.windows.length;
  const windowRows: string[] = [];
  const fields: string[] = [];
  const fieldsets: string[] = [];
  for (const window of closed.windows) {
    const stats = candidate.windows.get(window) ?? EMPTY;
    const controlStats = control?.windows.get(window) ?? EMPTY;
    windowRows.push(
      `(${id}, ${epoch}, ${window}, now(), ${stats.equal}, ${stats.different}, ${stats.missing}, ${stats.extra},
        ${controlStats.equal + controlStats.different}, ${share})`,
    );
    fields.push(...fieldRows(id, epoch, window, 'candidate', stats));
    if (control) fields.push(...fieldRows(id, epoch, window, 'control', controlStats));
    fieldsets.push(...fieldsetRows(id, epoch, window, stats));
  }
  statements.push(`INSERT OR REPLACE INTO windows VALUES ${windowRows.join(', ')}`);
  if (fields.length > 0) statements.push(`INSERT INTO window_fields VALUES ${fields.join(', ')}`);
  if (fieldsets.length > 0) statements.push(`INSERT INTO window_fieldsets VALUES ${fieldsets.join(', ')}`);
  if (candidate.samples.length > 0) {
    const rows = candidate.samples.map(
      (sample) =>
        `(${id}, ${epoch}, ${sample.window ?? closed.windows[0]}, ${literal(sample.outcome)}, ${sample.field === undefined ? 'NULL' : literal(sample.field)}, ${literal(JSON.stringify(sample))}, now())`,
    );
    statements.push(`INSERT INTO samples VALUES ${rows.join(', ')}`);
  }
  const sides: [Side, PairResult['live']][] = [
    ['live', candidate.live],
    ['candidate', candidate.other],
    ...(control ? ([['control', control.other]] as [Side, PairResult['live']][]) : []),
  ];
  const deltas = sides.flatMap(([side, counts]) => {
    const misrouted = closed.misrouted?.[side] ?? 0;
    return (
      [
        ['buffered', -counts.valid - counts.invalid],
        ['accepted', counts.valid - counts.duplicates - misrouted],
        ['misrouted', misrouted],
        ['duplicate', counts.duplicates],
        ['invalid', counts.invalid],
      ] as const
    ).map(([status, n]) => ({ side, status, n }));
  });
  return { statements, deltas };
}

/** Drops the buffered records of windows whose results are stored (or that expired). */
export async function dropBuffers(connection: DuckDBConnection, comparison: string, where: string): Promise<void> {
  await connection.run(`DELETE FROM ${BUFFER} WHERE comparison = ${literal(comparison)} AND ${where}`);
}
