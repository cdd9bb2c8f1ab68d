import { describe, expect, it } from 'vitest';
import { ingestRules } from '../../src/align/ingest.js';
import { canonicalKey, isSampled, keyHash, samplingThreshold } from '../../src/align/keys.js';
import { parseComparison } from '../../src/config/load.js';
import { literal } from '../../src/diff/sql.js';
import { connect, openDatabase, queryRows } from '../../src/store/duckdb.js';

const comparison = (extra: Record<string, unknown> = {}) =>
  parseComparison({
    id: 'x',
    live: { simulate: {} },
    candidate: { simulate: {} },
    key: ['region', 'customer.id'],
    time: { field: 'at' },
    window: { size: '1m', allowedLateness: '10s' },
    ...extra,
  });

describe('ingest rules', () => {
  const rules = ingestRules(comparison());
  const doc = (value: unknown) => JSON.stringify(value);

  it('keys, times and windows a record', () => {
    const result = rules.classify(
      doc({ region: 'eu', customer: { id: 7 }, at: '2026-01-01T00:01:30Z' }),
      null,
      0,
      null,
    );
    expect(result).toMatchObject({ status: 'accepted', key: 'eu\u001f7', window: Date.UTC(2026, 0, 1, 0, 1) });
  });

  it('counts records without key or time, and non-objects, as invalid with a reason', () => {
    expect(rules.classify(doc({ region: 'eu', at: 1 }), null, 0, null)).toMatchObject({
      status: 'invalid',
      reason: 'missing_key',
    });
    expect(rules.classify(doc({ region: 'eu', customer: { id: 1 } }), null, 0, null)).toMatchObject({
      reason: 'missing_time',
    });
    expect(rules.classify('[1]', null, 0, null)).toMatchObject({ reason: 'not_object' });
    expect(rules.classify('{"a":', null, 0, null)).toMatchObject({ reason: 'malformed' });
  });

  it('marks records for closed windows late', () => {
    const at = Date.UTC(2026, 0, 1, 0, 1, 30);
    const record = doc({ region: 'eu', customer: { id: 1 }, at });
    const windowEnd = Date.UTC(2026, 0, 1, 0, 2);
    expect(rules.classify(record, null, 0, windowEnd + 9_999).status).toBe('accepted');
    expect(rules.classify(record, null, 0, windowEnd + 10_000).status).toBe('late');
  });

  it('keys by the Kafka record key and times by the record timestamp when told to', () => {
    const kafka = ingestRules(comparison({ key: ['$kafkaKey'], time: { source: 'kafka' } }));
    expect(kafka.classify('{}', Buffer.from('k-1'), 1234, null)).toMatchObject({
      status: 'accepted',
      key: 'k-1',
      eventTime: 1234,
    });
    expect(kafka.classify('{}', null, 1234, null)).toMatchObject({ reason: 'missing_key' });
  });
});

describe('key sampling', () => {
  it('is the same hash in JS and in DuckDB, for every side, across runs', async () => {
    const keys = ['o-1', 'o-2', 'Zoë Ångström 東京', 'eu\u001f7', '', '12345678901234567890'];
    const instance = await openDatabase({ path: ':memory:' });
    const connection = await connect(instance);
    const rows = await queryRows<{ h: bigint }>(
      connection,
      `SELECT md5_number_upper(k) AS h FROM (VALUES ${keys.map((key) => `(${literal(key)}, ${keys.indexOf(key)})`).join(', ')}) t(k, i) ORDER BY i`,
    );
    expect(rows.map((r) => BigInt(r.h))).toEqual(keys.map(keyHash));
    connection.closeSync();
    instance.closeSync();
  });

  it('samples about the configured share of keys, stably', () => {
    const threshold = samplingThreshold(0.1);
    const sampled = Array.from({ length: 20_000 }, (_, i) => `k-${i}`).filter((key) => isSampled(key, threshold));
    expect(sampled.length).toBeGreaterThan(1800);
    expect(sampled.length).toBeLessThan(2200);
    expect(isSampled('k-1', undefined)).toBe(true);
    expect(keyHash('o-1')).toBe(2501814100786581163n);
    expect(canonicalKey(['a', 1, true])).toBe('a\u001f1\u001ftrue');
    expect(canonicalKey(['a', null])).toBeUndefined();
  });
});
