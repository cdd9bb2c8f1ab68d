import { blobValue, type DuckDBConnection } from '@duckdb/node-api';
import { ingestPlan, type PackValues, RECORD_SEPARATOR } from '../../src/align/ingest.js';
import type { ComparisonConfig } from '../../src/config/schema.js';
import { queryRows } from '../../src/store/duckdb.js';

/** A pack's values as parameters of `connection.run`, in the statement's order. */
export function packParameters(values: PackValues) {
  return [blobValue(values.docs), values.positions, values.keys, values.times, values.shift, values.replay];
}

export interface ClassifiedRecord {
  k: string | null;
  event_time: number | null;
  status: 'buffered' | 'sampled_out' | 'late' | 'invalid';
  reason: string | null;
}

/**
 * Classifies records in DuckDB exactly as the streaming ingest does (`ingestPlan(...).classifySql`),
 * in one pack: their texts, and their Kafka keys as the preparer passes them (text; one holding the
 * record separator as none). Timestamps are `timestamp` (0).
 */
export async function classifyRecords(
  connection: DuckDBConnection,
  comparison: ComparisonConfig,
  docs: (string | Buffer)[],
  keys: (Buffer | null)[] = [],
  timestamp = 0,
): Promise<ClassifiedRecord[]> {
  const plan = ingestPlan(comparison);
  const keyText = (key: Buffer | null | undefined) => {
    const text = key?.toString('utf8') ?? '';
    return text.includes(RECORD_SEPARATOR) ? '' : text;
  };
  const pack = {
    source: 't/0',
    count: docs.length,
    docs: Buffer.concat(
      docs.flatMap((doc, i) => [...(i > 0 ? [Buffer.from(RECORD_SEPARATOR)] : []), Buffer.from(doc)]),
    ),
    positions: docs.map((_, i) => i + 1).join(','),
    keys: docs.map((_, i) => keyText(keys[i])).join(RECORD_SEPARATOR),
    timestamps: docs.map(() => timestamp).join(','),
  };
  await connection.run(`CREATE OR REPLACE TEMP TABLE staged AS ${plan.classifySql(1)}`, [
    ...packParameters(plan.packValues(pack, 0)),
    ...plan.openValues({ closedThrough: null, expiredBefore: null }),
  ]);
  await connection.run(plan.tooDeep('staged', 'true').update);
  // The key as bytes: the client reads VARCHAR through a TextDecoder, which drops a leading U+FEFF.
  const rows = await queryRows<{
    k: Uint8Array | null;
    event_time: bigint | null;
    status: ClassifiedRecord['status'];
    reason: string | null;
  }>(connection, 'SELECT encode(k) AS k, event_time, status, reason FROM staged ORDER BY ordinal');
  return rows.map((row) => ({
    ...row,
    k: row.k === null ? null : Buffer.from(row.k).toString('utf8'),
    event_time: row.event_time === null ? null : Number(row.event_time),
  }));
}
