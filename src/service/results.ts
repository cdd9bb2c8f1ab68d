import type { DuckDBConnection } from '@duckdb/node-api';
import type { Side } from '../config/schema.js';
import type { BatchCounts, BatchField } from '../diff/batch.js';
import { parseExact } from '../diff/exact-json.js';
import type { DiffSample, SampleOutcome } from '../diff/samples.js';
import { literal } from '../diff/sql.js';
import { queryRows } from '../store/duckdb.js';
import { type FieldRates, noiseFields } from '../verdict/noise.js';
import type { WindowSummary } from './contracts.js';

export interface EpochResults {
  counts: BatchCounts;
  fields: BatchField[];
  noise?: FieldRates[];
  closedWindows: number;
}

const n = (value: unknown) => Number(value ?? 0);

/** Everything closed in the current epoch, in the shape of the batch output (SPEC §5 summary). */
export async function epochResults(
  connection: DuckDBConnection,
  comparison: string,
  epoch: number,
  hasControl: boolean,
  alpha: number,
): Promise<EpochResults> {
  const where = `comparison = ${literal(comparison)} AND epoch = ${epoch}`;
  const statusRows = await queryRows<{ side: Side; status: string; n: bigint }>(
    connection,
    `SELECT side, status, sum(n) AS n FROM record_counts WHERE ${where} GROUP BY ALL`,
  );
  const status = (side: Side, name: string) => n(statusRows.find((r) => r.side === side && r.status === name)?.n);
  const [outcomes] = await queryRows<Record<string, bigint | null>>(
    connection,
    `SELECT count(*) AS windows, sum(equal) AS equal, sum(different) AS different, sum(missing) AS missing,
       sum(extra) AS extra, sum(control_compared) AS control_compared FROM windows WHERE ${where}`,
  );
  const fieldRows = await queryRows<Record<string, string | bigint>>(
    connection,
    `SELECT pair, path, sum(different) AS different, sum(value) AS value, sum(type) AS type, sum(missing) AS missing,
       sum(extra) AS extra FROM window_fields WHERE ${where} GROUP BY ALL ORDER BY different DESC, path`,
  );
  const fieldsOf = (pair: string): BatchField[] =>
    fieldRows
      .filter((r) => r.pair === pair)
      .map((r) => ({
        path: String(r.path),
        different: n(r.different),
        kinds: { value: n(r.value), type: n(r.type), missing: n(r.missing), extra: n(r.extra) },
      }));
  let fields = fieldsOf('candidate');
  let equal = n(outcomes?.equal);
  let different = n(outcomes?.different);
  let noise: FieldRates[] | undefined;
  let noiseOnly = 0;
  if (hasControl) {
    noise = noiseFields(
      { compared: equal + different, fields: new Map(fields.map((f) => [f.path, f.different])) },
      {
        compared: n(outcomes?.control_compared),
        fields: new Map(fieldsOf('control').map((f) => [f.path, f.different])),
      },
      alpha,
    );
    const noisy = noise.map((f) => f.path);
    if (noisy.length > 0) {
      const [row] = await queryRows<{ n: bigint | null }>(
        connection,
        `SELECT sum(n) AS n FROM window_fieldsets WHERE ${where}
           AND list_has_all([${noisy.map(literal).join(', ')}]::VARCHAR[], fieldset)`,
      );
      noiseOnly = n(row?.n);
    }
    const noisePaths = new Set(noisy);
    fields = fields.map((f) => (noisePaths.has(f.path) ? { ...f, noise: true } : f));
    equal += noiseOnly;
    different -= noiseOnly;
  }
  // Valid records consumed: those with an outcome, duplicates, sampled out, late, and still buffered.
  const valid = (side: Side) =>
    ['accepted', 'duplicate', 'sampled_out', 'late', 'buffered'].reduce((sum, name) => sum + status(side, name), 0);
  const counts: BatchCounts = {
    live: valid('live'),
    candidate: valid('candidate'),
    equal,
    different,
    missing: n(outcomes?.missing),
    extra: n(outcomes?.extra),
    duplicateLive: status('live', 'duplicate'),
    duplicateCandidate: status('candidate', 'duplicate'),
    invalidLive: status('live', 'invalid'),
    invalidCandidate: status('candidate', 'invalid'),
    sampledOutLive: status('live', 'sampled_out'),
    sampledOutCandidate: status('candidate', 'sampled_out'),
    lateLive: status('live', 'late'),
    lateCandidate: status('candidate', 'late'),
    pendingLive: status('live', 'buffered'),
    pendingCandidate: status('candidate', 'buffered'),
    ...(hasControl
      ? {
          control: valid('control'),
          invalidControl: status('control', 'invalid'),
          duplicateControl: status('control', 'duplicate'),
          sampledOutControl: status('control', 'sampled_out'),
          noiseOnly,
        }
      : {}),
  };
  return { counts, fields, ...(noise ? { noise } : {}), closedWindows: n(outcomes?.windows) };
}

export async function windowPage(
  connection: DuckDBConnection,
  comparison: string,
  epoch: number,
  windowMs: number,
  page: { limit: number; offset: number },
): Promise<{ total: number; items: WindowSummary[] }> {
  const where = `comparison = ${literal(comparison)} AND epoch = ${epoch}`;
  const [total] = await queryRows<{ n: bigint }>(connection, `SELECT count(*) AS n FROM windows WHERE ${where}`);
  const rows = await queryRows<Record<string, unknown>>(
    connection,
    `SELECT w, closed_at::VARCHAR AS closed_at, equal, different, missing, extra, diff_seconds FROM windows
     WHERE ${where} ORDER BY w DESC LIMIT ${page.limit} OFFSET ${page.offset}`,
  );
  return {
    total: n(total?.n),
    items: rows.map((r) => ({
      start: new Date(n(r.w)).toISOString(),
      end: new Date(n(r.w) + windowMs).toISOString(),
      closedAt: new Date(String(r.closed_at)).toISOString(),
      equal: n(r.equal),
      different: n(r.different),
      missing: n(r.missing),
      extra: n(r.extra),
      diffSeconds: n(r.diff_seconds),
    })),
  };
}

export async function storedSamples(
  connection: DuckDBConnection,
  comparison: string,
  epoch: number,
  filter: { field?: string; outcome?: SampleOutcome; limit: number },
): Promise<DiffSample[]> {
  const conditions = [`comparison = ${literal(comparison)}`, `epoch = ${epoch}`];
  if (filter.field) conditions.push(`field = ${literal(filter.field)}`);
  if (filter.outcome && filter.outcome !== 'invalid') conditions.push(`outcome = ${literal(filter.outcome)}`);
  const samples: DiffSample[] = [];
  if (filter.outcome !== 'invalid') {
    const rows = await queryRows<{ body: string }>(
      connection,
      `SELECT body::VARCHAR AS body FROM samples WHERE ${conditions.join(' AND ')} ORDER BY created_at DESC, w DESC LIMIT ${filter.limit}`,
    );
    samples.push(...rows.map((r) => parseExact(r.body) as DiffSample));
  }
  if ((!filter.outcome || filter.outcome === 'invalid') && !filter.field && samples.length < filter.limit) {
    const rows = await queryRows<{ side: Side; source: string; position: bigint; reason: string; raw: string | null }>(
      connection,
      `SELECT side, source, position, reason, raw FROM dead_letters WHERE comparison = ${literal(comparison)}
       ORDER BY created_at DESC LIMIT ${filter.limit - samples.length}`,
    );
    samples.push(
      ...rows.map((r) => ({
        outcome: 'invalid' as const,
        side: r.side,
        reason: r.reason,
        ...(r.raw === null ? {} : { raw: r.raw }),
        position: { [r.side]: `${r.source}@${r.position}` },
      })),
    );
  }
  return samples;
}
