import type { DuckDBConnection } from '@duckdb/node-api';
import { keyLabel } from '../align/keys.js';
import type { Side } from '../config/schema.js';
import { queryRows } from '../store/duckdb.js';
import type { FieldDifference } from './compare.js';
import { textKey } from './differing-texts.js';
import { parseExact } from './exact-json.js';
import { RECORD_STATUS } from './record-status.js';
import { type Redactor, redactSample } from './redact.js';
import {
  type DiffSample,
  PAIR_RECORD_CHARS,
  type PendingSample,
  type RecordPair,
  type SampleCollector,
} from './samples.js';
import type { DiffSpec, SideInput } from './spec.js';

const RAW_SAMPLE_CHARS = 1024;

function truncate(text: string): string {
  return text.length > RAW_SAMPLE_CHARS ? `${text.slice(0, RAW_SAMPLE_CHARS)}…` : text;
}

function parseOrRaw(text: string): unknown {
  try {
    return parseExact(text);
  } catch {
    return text;
  }
}

/**
 * The whole (redacted) records of a differing pair, kept with its samples while both texts are
 * short enough: a sample's size stays bounded whatever the records hold.
 */
export function recordPair(
  liveText: string,
  candidateText: string,
  differences: readonly FieldDifference[],
  redact: Redactor,
): RecordPair {
  const fields = [...new Set(differences.map((difference) => difference.path))];
  const longest = Math.max(liveText.length, candidateText.length);
  if (longest > PAIR_RECORD_CHARS) {
    return { fields, omitted: `a record of ${longest} characters is longer than the ${PAIR_RECORD_CHARS} kept` };
  }
  return { live: redact(parseExact(liveText)), candidate: redact(parseExact(candidateText)), fields };
}

/**
 * A record's position in a side's records table: the one the ingest gave it, or else its 1-based
 * row in input order.
 */
export function positionOf(input: SideInput, alias?: string): string {
  const prefix = alias ? `${alias}.` : '';
  return input.keyed ? `${prefix}given_pos` : `(${prefix}rowid + 1)`;
}

export async function collectOneSided(
  connection: DuckDBConnection,
  aligned: string,
  outcome: 'missing' | 'extra',
  input: SideInput,
  texts: string,
  posColumn: 'lpos' | 'opos',
  spec: DiffSpec,
  collector: SampleCollector,
  redact: Redactor,
): Promise<void> {
  if (!collector.wants(outcome)) return;
  const key = textKey(input);
  const rows = await queryRows<{ k: string; w: bigint; pos: bigint; doc: string }>(
    connection,
    `SELECT a.k, a.w, a.${posColumn} AS pos, s.doc FROM ${aligned} a JOIN ${texts} s ON s.${key} = a.${posColumn[0]}${key}
     WHERE a.outcome = '${outcome}' ORDER BY a.${posColumn} LIMIT ${spec.samplesPerGroup}`,
  );
  for (const row of rows) {
    const record = redact(parseOrRaw(row.doc));
    collector.add({
      outcome,
      key: keyLabel(row.k),
      ...(spec.time ? { window: Number(row.w) } : {}),
      ...(outcome === 'missing' ? { live: record } : { candidate: record }),
      positions: { [input.side]: Number(row.pos) },
    });
  }
}

/**
 * The first `limit` invalid records of a side, as samples: read from its records table, which a
 * large diff drops before aligning, so the engine adds them to its collector later, in their place.
 */
export async function invalidSamples(
  connection: DuckDBConnection,
  records: string,
  input: SideInput,
  limit: number,
): Promise<PendingSample[]> {
  if (limit <= 0) return [];
  // An invalid record's key column holds its reason.
  const rows = await queryRows<{ pos: bigint; invalid: string }>(
    connection,
    `SELECT ${positionOf(input)} AS pos, k AS invalid FROM ${records} WHERE status = ${RECORD_STATUS.invalid} ORDER BY pos LIMIT ${limit}`,
  );
  return rows.map((row) => ({
    outcome: 'invalid',
    side: input.side,
    reason: row.invalid,
    positions: { [input.side]: Number(row.pos) },
  }));
}

/**
 * Turns the engine's positions into source labels, adds the (redacted) raw text of invalid records,
 * and masks keys the redaction covers.
 */
export async function locateSamples(
  pending: PendingSample[],
  inputs: { input: SideInput; partStarts?: ReadonlyMap<number, number> | undefined }[],
  redact: Redactor,
): Promise<DiffSample[]> {
  const located = new Map<Side, Map<number, { label: string; raw?: string }>>();
  for (const { input, partStarts } of inputs) {
    const positions = pending.map((s) => s.positions[input.side]).filter((p): p is number => p !== undefined);
    located.set(input.side, await input.locate([...new Set(positions)], partStarts));
  }
  return pending.map(({ positions, ...sample }) => {
    const position: Partial<Record<Side, string>> = {};
    let raw: string | undefined;
    for (const [side, pos] of Object.entries(positions) as [Side, number][]) {
      const found = located.get(side)?.get(pos);
      position[side] = found?.label ?? String(pos);
      if (sample.outcome === 'invalid' && found?.raw !== undefined) raw = found.raw;
    }
    if (raw !== undefined) sample.raw = truncate(redact.text(raw));
    return { ...redactSample(redact, sample), position };
  });
}
