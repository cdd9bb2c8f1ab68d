import type { DuckDBConnection } from '@duckdb/node-api';
import type { Side } from '../config/schema.js';
import { type DiffSpec, diffPair, type PairResult, type SideInput } from '../diff/engine.js';
import { literal } from '../diff/sql.js';
import { queryRows } from '../store/duckdb.js';

export interface ClosedWindow {
  window: number;
  candidate: PairResult;
  control?: PairResult;
  diffSeconds: number;
}

/** The buffered records of one side in one window, as the diff engine reads them. */
function bufferInput(connection: DuckDBConnection, comparison: string, side: Side, window: number): SideInput {
  const where = `comparison = ${literal(comparison)} AND side = ${literal(side)} AND w = ${window}`;
  return {
    side,
    keyed: true,
    relation: `(SELECT doc, CAST(NULL AS VARCHAR) AS reason, k, w FROM buffer WHERE ${where} ORDER BY seq)`,
    async locate(positions) {
      const located = new Map<number, { label: string }>();
      if (positions.length === 0) return located;
      const rows = await queryRows<{ pos: bigint; source: string; position: bigint }>(
        connection,
        `SELECT pos, source, position FROM (SELECT row_number() OVER (ORDER BY seq) AS pos, source, position
           FROM buffer WHERE ${where}) WHERE pos IN (${positions.join(', ')})`,
      );
      for (const row of rows) located.set(Number(row.pos), { label: `${row.source}@${row.position}` });
      return located;
    },
  };
}

/** Windows with buffered records whose end plus allowed lateness the combined watermark has passed, oldest first. */
export async function closableWindows(
  connection: DuckDBConnection,
  comparison: string,
  combinedWatermark: number,
  windowMs: number,
  latenessMs: number,
): Promise<number[]> {
  const limit = Number.isFinite(combinedWatermark) ? `AND w + ${windowMs + latenessMs} <= ${combinedWatermark}` : '';
  const rows = await queryRows<{ w: bigint }>(
    connection,
    `SELECT DISTINCT w FROM buffer WHERE comparison = ${literal(comparison)} ${limit} ORDER BY w`,
  );
  return rows.map((row) => Number(row.w));
}

/** Diffs one closed window: candidate vs live, and control vs live when there is a control. */
export async function diffWindow(
  connection: DuckDBConnection,
  comparison: string,
  window: number,
  spec: DiffSpec,
  hasControl: boolean,
): Promise<ClosedWindow> {
  const started = performance.now();
  const live = bufferInput(connection, comparison, 'live', window);
  const candidate = await diffPair(connection, spec, live, bufferInput(connection, comparison, 'candidate', window));
  const control = hasControl
    ? await diffPair(
        connection,
        { ...spec, samplesPerGroup: 0 },
        live,
        bufferInput(connection, comparison, 'control', window),
      )
    : undefined;
  return { window, candidate, ...(control ? { control } : {}), diffSeconds: (performance.now() - started) / 1000 };
}

const kindsOf = (pair: PairResult) => pair.fields;

/**
 * Stores a closed window's results and removes its buffer in one transaction, moving its records'
 * counts from `buffered` to their final status (accepted, duplicate, invalid).
 */
export async function persistWindow(
  connection: DuckDBConnection,
  comparison: string,
  epoch: number,
  closed: ClosedWindow,
  closedThrough: number,
): Promise<void> {
  const id = literal(comparison);
  const { window, candidate, control } = closed;
  const statements: string[] = [];
  statements.push(
    `INSERT OR REPLACE INTO windows VALUES (${id}, ${epoch}, ${window}, now(), ${candidate.equal}, ${candidate.different},
       ${candidate.missing}, ${candidate.extra}, ${control ? control.equal + control.different : 0}, ${closed.diffSeconds})`,
  );
  const pairs: [string, PairResult][] = [
    ['candidate', candidate],
    ...(control ? ([['control', control]] as [string, PairResult][]) : []),
  ];
  for (const [pair, result] of pairs) {
    const rows = kindsOf(result).map(
      (f) =>
        `(${id}, ${epoch}, ${window}, ${literal(pair)}, ${literal(f.path)}, ${f.different}, ${f.kinds.value}, ${f.kinds.type}, ${f.kinds.missing}, ${f.kinds.extra})`,
    );
    if (rows.length > 0) statements.push(`INSERT INTO window_fields VALUES ${rows.join(', ')}`);
  }
  const fieldsets = new Map<string, { fields: string[]; n: number }>();
  for (const fields of candidate.differingRows) {
    const sorted = [...fields].sort();
    const key = JSON.stringify(sorted);
    const entry = fieldsets.get(key) ?? { fields: sorted, n: 0 };
    entry.n++;
    fieldsets.set(key, entry);
  }
  if (fieldsets.size > 0) {
    const rows = [...fieldsets.values()].map(
      ({ fields, n }) => `(${id}, ${epoch}, ${window}, [${fields.map(literal).join(', ')}]::VARCHAR[], ${n})`,
    );
    statements.push(`INSERT INTO window_fieldsets VALUES ${rows.join(', ')}`);
  }
  if (candidate.samples.length > 0) {
    const rows = candidate.samples.map(
      (sample) =>
        `(${id}, ${epoch}, ${window}, ${literal(sample.outcome)}, ${sample.field === undefined ? 'NULL' : literal(sample.field)}, ${literal(JSON.stringify(sample))}, now())`,
    );
    statements.push(`INSERT INTO samples VALUES ${rows.join(', ')}`);
  }
  const sides: [Side, PairResult['live']][] = [
    ['live', candidate.live],
    ['candidate', candidate.other],
    ...(control ? ([['control', control.other]] as [Side, PairResult['live']][]) : []),
  ];
  for (const [side, counts] of sides) {
    const finals: [string, number][] = [
      ['buffered', -counts.valid - counts.invalid],
      ['accepted', counts.valid - counts.duplicates],
      ['duplicate', counts.duplicates],
      ['invalid', counts.invalid],
    ];
    for (const [status, n] of finals) {
      if (n === 0) continue;
      statements.push(
        `INSERT INTO record_counts VALUES (${id}, ${epoch}, ${literal(side)}, ${literal(status)}, ${n})
         ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n`,
      );
    }
  }
  statements.push(`DELETE FROM buffer WHERE comparison = ${id} AND w = ${window}`);
  statements.push(
    `UPDATE comparisons SET closed_through = greatest(coalesce(closed_through, ${closedThrough}), ${closedThrough}) WHERE id = ${id}`,
  );
  await connection.run('BEGIN TRANSACTION');
  try {
    for (const statement of statements) await connection.run(statement);
    await connection.run('COMMIT');
  } catch (error) {
    await connection.run('ROLLBACK');
    throw error;
  }
}
