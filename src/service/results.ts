import type { DuckDBConnection } from '@duckdb/node-api';
import type { Side } from '../config/schema.js';
import type { BatchCounts, BatchField } from '../diff/batch.js';
import { parseExact } from '../diff/exact-json.js';
import { type Redactor, redactSample } from '../diff/redact.js';
import type { DiffSample, SampleOutcome } from '../diff/samples.js';
import { literal } from '../diff/sql.js';
import { queryRows } from '../store/duckdb.js';
import { confidenceSequence } from '../verdict/confidence.js';
import { type FieldRates, noiseFields } from '../verdict/noise.js';
import type { NoiseFilter, WindowSummary } from './contracts.js';

export interface EpochResults {
  counts: BatchCounts;
  fields: BatchField[];
  noise?: FieldRates[];
  closedWindows: number;
}

/** How the noise fields of a control side count: as in the verdict (SPEC §4), and so everywhere. */
export interface NoiseOptions {
  hasControl: boolean;
  alpha: number;
  /** The comparison has a scope: the counts carry the records outside it. */
  scoped?: boolean;
  /** Cluster mode: the counts carry the records whose key came on another partition on another side. */
  cluster?: boolean;
}

const n = (value: unknown) => Number(value ?? 0);

const epochWhere = (comparison: string, epoch: number) => `comparison = ${literal(comparison)} AND epoch = ${epoch}`;

/**
 * The epoch's field totals, candidate vs live, and with a control side the fields that are noise:
 * decided over the whole epoch from the stored per-window field counts, so windows closed before a
 * field was recognised as noise are judged the same as later ones.
 */
async function epochFields(
  connection: DuckDBConnection,
  where: string,
  options: NoiseOptions,
): Promise<{ fields: BatchField[]; noise?: FieldRates[] }> {
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
  const fields = fieldsOf('candidate');
  if (!options.hasControl) return { fields };
  const [compared] = await queryRows<Record<string, bigint | null>>(
    connection,
    `SELECT sum(equal + different) AS candidate, sum(control_compared) AS control FROM windows WHERE ${where}`,
  );
  const noise = noiseFields(
    { compared: n(compared?.candidate), fields: new Map(fields.map((f) => [f.path, f.different])) },
    { compared: n(compared?.control), fields: new Map(fieldsOf('control').map((f) => [f.path, f.different])) },
    options.alpha,
  );
  const noisy = new Set(noise.map((f) => f.path));
  return { fields: fields.map((f) => (noisy.has(f.path) ? { ...f, noise: true } : f)), noise };
}

/**
 * Per window, the candidate records whose differing fields are all noise: they count as equal.
 * From the stored field sets of differing records, so no record is kept to reclassify a window.
 */
async function noiseOnlyByWindow(
  connection: DuckDBConnection,
  where: string,
  noise: readonly FieldRates[],
): Promise<Map<number, number>> {
  if (noise.length === 0) return new Map();
  const rows = await queryRows<{ w: bigint; n: bigint }>(
    connection,
    `SELECT w, sum(n) AS n FROM window_fieldsets WHERE ${where}
       AND list_has_all([${noise.map((f) => literal(f.path)).join(', ')}]::VARCHAR[], fieldset) GROUP BY w`,
  );
  return new Map(rows.map((r) => [Number(r.w), n(r.n)]));
}

/** Everything closed in the current epoch, in the shape of the batch output (SPEC §5 summary). */
export async function epochResults(
  connection: DuckDBConnection,
  comparison: string,
  epoch: number,
  options: NoiseOptions,
  pending: readonly { side: string; status: string; n: number }[] = [],
): Promise<EpochResults> {
  const where = epochWhere(comparison, epoch);
  const statusRows = await queryRows<{ side: Side; status: string; n: bigint }>(
    connection,
    `SELECT side, status, sum(n) AS n FROM record_counts WHERE ${where} GROUP BY ALL`,
  );
  // Counts taken since the last checkpoint are the runner's, in memory, until the next one.
  const status = (side: Side, name: string) =>
    n(statusRows.find((r) => r.side === side && r.status === name)?.n) +
    pending.filter((p) => p.side === side && p.status === name).reduce((sum, p) => sum + p.n, 0);
  const [outcomes] = await queryRows<Record<string, bigint | null>>(
    connection,
    `SELECT count(*) AS windows, sum(equal) AS equal, sum(different) AS different, sum(missing) AS missing,
       sum(extra) AS extra FROM windows WHERE ${where}`,
  );
  const { fields, noise } = await epochFields(connection, where, options);
  let noiseOnly = 0;
  for (const count of (await noiseOnlyByWindow(connection, where, noise ?? [])).values()) noiseOnly += count;
  // Valid records consumed: those with an outcome, duplicates, sampled out, late, and still buffered.
  const valid = (side: Side) =>
    ['accepted', 'misrouted', 'duplicate', 'sampled_out', 'late', 'buffered'].reduce(
      (sum, name) => sum + status(side, name),
      0,
    );
  const counts: BatchCounts = {
    live: valid('live'),
    candidate: valid('candidate'),
    equal: n(outcomes?.equal) + noiseOnly,
    different: n(outcomes?.different) - noiseOnly,
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
    lostLive: status('live', 'lost'),
    lostCandidate: status('candidate', 'lost'),
    ...(options.scoped
      ? {
          outOfScopeLive: status('live', 'out_of_scope'),
          outOfScopeCandidate: status('candidate', 'out_of_scope'),
          unexpectedCandidate: status('candidate', 'unexpected'),
          ...(options.hasControl ? { outOfScopeControl: status('control', 'out_of_scope') } : {}),
        }
      : {}),
    ...(options.cluster
      ? {
          misroutedLive: status('live', 'misrouted'),
          misroutedCandidate: status('candidate', 'misrouted'),
          ...(options.hasControl ? { misroutedControl: status('control', 'misrouted') } : {}),
        }
      : {}),
    ...(options.hasControl
      ? {
          control: valid('control'),
          invalidControl: status('control', 'invalid'),
          duplicateControl: status('control', 'duplicate'),
          sampledOutControl: status('control', 'sampled_out'),
          lostControl: status('control', 'lost'),
          noiseOnly,
        }
      : {}),
  };
  return { counts, fields, ...(noise ? { noise } : {}), closedWindows: n(outcomes?.windows) };
}

/** The verdict's policy levels the per-window mismatch-rate bounds are computed at. */
export interface BandPolicy {
  alpha: number;
  tolerance: number;
}

/**
 * Closed windows, newest first, with the epoch's noise fields discounted as in the summary. Each
 * carries the mismatch-rate check over itself and every earlier window of the epoch (by window
 * start), from the stored counts: the band of the verdict over time, the same after a restart.
 */
export async function windowPage(
  connection: DuckDBConnection,
  comparison: string,
  epoch: number,
  windowMs: number,
  options: NoiseOptions,
  policy: BandPolicy,
  page: { limit: number; offset: number },
): Promise<{ total: number; items: WindowSummary[] }> {
  const where = epochWhere(comparison, epoch);
  const { noise = [] } = await epochFields(connection, where, options);
  // Records differing only in noise fields count as equal: in the window and in the sums so far.
  const noiseOnly =
    noise.length === 0
      ? 'SELECT NULL::BIGINT AS w, 0::BIGINT AS n WHERE false'
      : `SELECT w, sum(n) AS n FROM window_fieldsets WHERE ${where}
           AND list_has_all([${noise.map((f) => literal(f.path)).join(', ')}]::VARCHAR[], fieldset) GROUP BY w`;
  const rows = await queryRows<Record<string, unknown>>(
    connection,
    `WITH noise AS (${noiseOnly}),
     discounted AS (
       SELECT windows.w, closed_at, equal, different, missing, extra, diff_seconds, coalesce(noise.n, 0) AS noise_only
       FROM windows LEFT JOIN noise ON noise.w = windows.w WHERE ${where}),
     so_far AS (
       SELECT *, count(*) OVER () AS total,
         sum(equal + different + missing + extra) OVER (ORDER BY w) AS sampled,
         sum(different - noise_only + missing + extra) OVER (ORDER BY w) AS mismatched
       FROM discounted)
     SELECT w, closed_at::VARCHAR AS closed_at, equal, different, missing, extra, diff_seconds, noise_only, total,
       sampled, mismatched FROM so_far ORDER BY w DESC LIMIT ${page.limit} OFFSET ${page.offset}`,
  );
  const total =
    rows.length > 0
      ? n(rows[0]?.total)
      : n((await queryRows<{ n: bigint }>(connection, `SELECT count(*) AS n FROM windows WHERE ${where}`))[0]?.n);
  return {
    total,
    items: rows.map((r) => {
      const discounted = n(r.noise_only);
      const sampled = n(r.sampled);
      const mismatched = n(r.mismatched);
      return {
        start: new Date(n(r.w)).toISOString(),
        end: new Date(n(r.w) + windowMs).toISOString(),
        closedAt: new Date(String(r.closed_at)).toISOString(),
        equal: n(r.equal) + discounted,
        different: n(r.different) - discounted,
        missing: n(r.missing),
        extra: n(r.extra),
        ...(options.hasControl ? { noiseOnly: discounted } : {}),
        diffSeconds: n(r.diff_seconds),
        mismatchRate: {
          sampled,
          mismatched,
          rate: sampled === 0 ? 0 : mismatched / sampled,
          ...confidenceSequence(mismatched, sampled, policy.alpha, policy.tolerance),
        },
      };
    }),
  };
}

/**
 * A stored example's id: a hash of what is stored, so it needs no column of its own and stays the
 * same across restarts. `s…` names a sample, `d…` a dead letter.
 */
const SAMPLE_ID = `'s' || md5(body::VARCHAR)`;
const DEAD_LETTER_ID = `'d' || md5(concat_ws(chr(0), side, source, position::VARCHAR, reason, coalesce(raw, ''), epoch_us(created_at)::VARCHAR))`;
const DEAD_LETTER_COLUMNS = `${DEAD_LETTER_ID} AS id, side, source, position, reason, raw`;

interface DeadLetterRow {
  id: string;
  side: Side;
  source: string;
  position: bigint;
  reason: string;
  raw: string | null;
}

function deadLetterSample(r: DeadLetterRow, redact: Redactor): DiffSample {
  return {
    outcome: 'invalid',
    id: r.id,
    side: r.side,
    reason: r.reason,
    ...(r.raw === null ? {} : { raw: redact.text(r.raw) }),
    position: { [r.side]: `${r.source}@${r.position}` },
  };
}

/**
 * One stored example with its whole record pair (`GET …/samples/:sampleId`), masked by the
 * comparison's redaction as it is read; undefined when the current epoch holds no such example.
 */
export async function storedSample(
  connection: DuckDBConnection,
  comparison: string,
  epoch: number,
  id: string,
  redact: Redactor,
): Promise<DiffSample | undefined> {
  if (id.startsWith('d')) {
    const [row] = await queryRows<DeadLetterRow>(
      connection,
      `SELECT * FROM (SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE comparison = ${literal(comparison)})
       WHERE id = ${literal(id)} LIMIT 1`,
    );
    return row === undefined ? undefined : deadLetterSample(row, redact);
  }
  const [row] = await queryRows<{ body: string }>(
    connection,
    `SELECT body::VARCHAR AS body FROM samples WHERE ${epochWhere(comparison, epoch)} AND ${SAMPLE_ID} = ${literal(id)}
     LIMIT 1`,
  );
  return row === undefined ? undefined : { ...redactSample(redact, parseExact(row.body) as DiffSample), id };
}

/**
 * Stored examples (`GET …/samples`): real differences first, then invalid records, then differences
 * in noise fields (flagged `noise`), which would otherwise crowd out the rest: a noise field differs
 * on almost every record. `noise` narrows to real differences (`exclude`) or noise (`only`).
 * Everything is masked by the comparison's redaction as it is read: dead letters are stored as they
 * arrived, and a redaction added since also covers samples stored before.
 */
export async function storedSamples(
  connection: DuckDBConnection,
  comparison: string,
  epoch: number,
  options: NoiseOptions,
  filter: { field?: string; outcome?: SampleOutcome; noise?: NoiseFilter; limit: number },
  redact: Redactor,
): Promise<DiffSample[]> {
  const where = epochWhere(comparison, epoch);
  const { noise = [] } = options.hasControl ? await epochFields(connection, where, options) : {};
  const inNoise =
    noise.length === 0 ? 'false' : `coalesce(field IN (${noise.map((f) => literal(f.path)).join(', ')}), false)`;
  const conditions = [where];
  if (filter.field) conditions.push(`field = ${literal(filter.field)}`);
  if (filter.outcome && filter.outcome !== 'invalid') conditions.push(`outcome = ${literal(filter.outcome)}`);
  const mode = filter.noise ?? 'include';
  const differences = async (noisy: boolean, limit: number): Promise<DiffSample[]> => {
    const rows = await queryRows<{ id: string; body: string }>(
      connection,
      `SELECT ${SAMPLE_ID} AS id, body::VARCHAR AS body FROM samples WHERE ${conditions.join(' AND ')} AND ${inNoise} = ${noisy}
       ORDER BY created_at DESC, w DESC LIMIT ${limit}`,
    );
    return rows.map((r) => {
      // The record pair is read one at a time (`storedSample`): a page of examples stays small.
      const { pair: _pair, ...sample } = parseExact(r.body) as DiffSample;
      return { ...redactSample(redact, sample), id: r.id, ...(noisy ? { noise: true } : {}) };
    });
  };
  const samples: DiffSample[] = [];
  if (filter.outcome !== 'invalid' && mode !== 'only') samples.push(...(await differences(false, filter.limit)));
  if (
    (!filter.outcome || filter.outcome === 'invalid') &&
    !filter.field &&
    mode !== 'only' &&
    samples.length < filter.limit
  ) {
    const rows = await queryRows<DeadLetterRow>(
      connection,
      `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE comparison = ${literal(comparison)}
       ORDER BY created_at DESC LIMIT ${filter.limit - samples.length}`,
    );
    samples.push(...rows.map((r) => deadLetterSample(r, redact)));
  }
  if (filter.outcome !== 'invalid' && mode !== 'exclude' && samples.length < filter.limit) {
    samples.push(...(await differences(true, filter.limit - samples.length)));
  }
  return samples;
}
