import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ingestPlan, RECORD_SEPARATOR } from '../../src/align/ingest.js';
import { keyLabel, samplingThreshold } from '../../src/align/keys.js';
import type { PackedPartition } from '../../src/align/prepare.js';
import { parseComparison } from '../../src/config/load.js';
import { literal, MAX_DEPTH } from '../../src/diff/sql.js';
import { connect, openDatabase, queryRows } from '../../src/store/duckdb.js';
import { packParameters } from '../helpers/ingest-classify.js';

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

/** The sampling hash of SPEC §3, written out independently of DuckDB. */
const keyHash = (key: string) => createHash('md5').update(key, 'utf8').digest().readBigUInt64LE(0);

const instance = await openDatabase({ path: ':memory:' });
const connection = await connect(instance);
afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

interface Classified {
  position: bigint;
  doc: string;
  k: string | null;
  w: bigint | null;
  event_time: bigint | null;
  status: string;
  reason: string | null;
}

/** Classifies docs (positions 1, 2, …) in DuckDB exactly as the service's ingest does, in `packs` packs. */
async function classify(
  docs: string[],
  options: {
    closedThrough?: number | null;
    extra?: Record<string, unknown>;
    keys?: string[];
    timestamps?: number[];
    packs?: number;
  } = {},
): Promise<Classified[]> {
  const plan = ingestPlan(comparison(options.extra));
  const size = Math.ceil(docs.length / (options.packs ?? 1));
  const packs: PackedPartition[] = [];
  for (let first = 0; first < docs.length; first += size) {
    const slice = (values: unknown[] | undefined, separator: string) =>
      values?.slice(first, first + size).join(separator);
    packs.push({
      source: 't/0',
      count: Math.min(size, docs.length - first),
      docs: Buffer.from(slice(docs, RECORD_SEPARATOR) ?? ''),
      positions: docs
        .slice(first, first + size)
        .map((_, i) => first + i + 1)
        .join(','),
      keys: slice(options.keys, RECORD_SEPARATOR) ?? '',
      timestamps: slice(options.timestamps, ',') ?? '',
    });
  }
  // Positions 1, 2, … are the records' ordinals as they stand: no shift.
  const values = packs.flatMap((pack) => packParameters(plan.packValues(pack, 0)));
  await connection.run(`CREATE OR REPLACE TEMP TABLE staged AS ${plan.classifySql(packs.length)}`, [
    ...values,
    ...plan.openValues({ closedThrough: options.closedThrough ?? null, expiredBefore: null }),
  ]);
  await connection.run(plan.tooDeep('staged', 'true').update);
  return queryRows<Classified>(connection, 'SELECT * FROM staged ORDER BY position');
}

describe('ingest classification in DuckDB', () => {
  const doc = (value: unknown) => JSON.stringify(value);

  it('keys, times and windows a record, and keeps its text as written', async () => {
    const text = '{"region": "eu", "customer": {"id": 7}, "at": "2026-01-01T00:01:30Z", "big": 9007199254740993}';
    const [row] = await classify([text]);
    expect(row).toMatchObject({ status: 'buffered', k: 'eu\u001f\u001d7', doc: text, reason: null });
    expect(keyLabel(row?.k as string)).toBe('eu\u001f7');
    expect(Number(row?.w)).toBe(Date.UTC(2026, 0, 1, 0, 1));
    expect(Number(row?.event_time)).toBe(Date.UTC(2026, 0, 1, 0, 1, 30));
  });

  it('drops a leading byte order mark', async () => {
    const [row] = await classify(['\ufeff{"region":"eu","customer":{"id":1},"at":0}']);
    expect(row).toMatchObject({ status: 'buffered', doc: '{"region":"eu","customer":{"id":1},"at":0}' });
  });

  it('counts records without key or time, non-objects and malformed text as invalid with a reason', async () => {
    const rows = await classify([
      doc({ region: 'eu', at: 1 }),
      doc({ region: 'eu', customer: { id: 1 } }),
      '[1]',
      'null',
      '{"a":',
      '{"a":1}{"b":2}',
      '',
      doc({ region: 'eu', customer: { id: null }, at: 1 }),
    ]);
    expect(rows.map((r) => [r.status, r.reason])).toEqual([
      ['invalid', 'missing_key'],
      ['invalid', 'missing_time'],
      ['invalid', 'not_object'],
      ['invalid', 'not_object'],
      ['invalid', 'malformed'],
      ['invalid', 'malformed'],
      ['invalid', 'malformed'],
      ['invalid', 'missing_key'],
    ]);
  });

  it('counts records nested past the limit invalid, and keeps what DuckDB reads as JSON, as batch does', async () => {
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const valid = (extra: string) => `{"region":"eu","customer":{"id":1},"at":0${extra}}`;
    const rows = await classify([
      valid(',"v":NaN'),
      valid(',"v":[1,2,]'),
      valid(`,"v":${nested(MAX_DEPTH - 1)}`),
      valid(`,"v":${nested(MAX_DEPTH)}`),
      valid(`,"v":${nested(10_000)}`),
      valid(`,"v":"${'{['.repeat(2000)}"`),
      valid(`,"v":[${'{"b":[]},'.repeat(2000)}1]`),
    ]);
    expect(rows.map((r) => [r.status, r.reason])).toEqual([
      ['buffered', null],
      ['buffered', null],
      ['buffered', null],
      ['invalid', 'too_deep'],
      ['invalid', 'too_deep'],
      ['buffered', null],
      ['buffered', null],
    ]);
  });

  it('keys numbers by exact value, apart from strings unless keys compare as text', async () => {
    const big = 2n ** 60n;
    const keyed = (ids: string[], extra: Record<string, unknown> = {}) =>
      classify(
        ids.map((id) => `{"id":${id},"at":0}`),
        { extra: { key: ['id'], ...extra } },
      );
    const ids = [
      '12',
      '12.0',
      '1.2e1',
      '"12"',
      '1.50',
      '15e-1',
      '-0',
      '0',
      `${big}`,
      `${big + 1n}`,
      '1e400',
      '10e399',
      '1e100000',
      '0.1e100001',
    ];
    const byValue = (await keyed(ids)).map((r) => keyLabel(r.k as string));
    const e400 = `1${'0'.repeat(400)}`;
    expect(byValue).toEqual([
      ...['12', '12', '12', '12', '1.5', '1.5', '0', '0'],
      ...[`${big}`, `${big + 1n}`, e400, e400, '1e100000', '1e100000'],
    ]);
    const raw = (await keyed(ids)).map((r) => r.k);
    expect(new Set(raw.slice(0, 4)).size).toBe(2);
    // A string that starts with the tag is told apart from the tagged number, and shown as it is.
    const [tagged, number] = await keyed(['"\\u001d12"', '12']);
    expect(tagged?.k).not.toBe(number?.k);
    expect(keyLabel(tagged?.k as string)).toBe('\u001d12');
    const asText = (await keyed(ids, { keyAsText: true })).map((r) => r.k);
    expect(new Set(asText.slice(0, 4)).size).toBe(1);
    expect(asText.slice(8, 10)).toEqual([`${big}`, `${big + 1n}`]);
  });

  it('reads key and time from the last of repeated members, as the compared values are', async () => {
    const rows = await classify([
      '{"region":"eu","customer":{"id":0},"customer":{"id":5},"at":0,"at":60000}',
      '{"region":"eu","customer":{"id":0,"id":7},"at":0}',
      '{"region":"eu","customer":{"id":0,"\\u0069d":8},"at":0}',
      '{"region":"eu","customer":{"id":9,"items":[{"id":1}]},"at":0}',
    ]);
    expect(rows.map((r) => [keyLabel(r.k as string), Number(r.event_time)])).toEqual([
      ['eu\u001f5', 60000],
      ['eu\u001f7', 0],
      ['eu\u001f8', 0],
      ['eu\u001f9', 0],
    ]);
  });

  it('reads the last of repeated members whose names spell a slash as \\/', async () => {
    const rows = await classify(['{"region":"eu","customer":{"id":1},"at":0,"a/b":1,"a\\/b":2}'], {
      extra: { key: ['a/b'] },
    });
    expect(rows.map((r) => keyLabel(r.k as string))).toEqual(['2']);
  });

  it('counts malformed text that spells a key name with an escape invalid, not failing its batch', async () => {
    // Such a text once sent DuckDB to read the last member of a name in text it cannot parse.
    const rows = await classify([
      '"{"\\u0072egion":"eu","customer":{"id":1},"at":0}',
      '{"region":"eu","customer":{"id":1},"at":0}',
      '{"region":"eu","region":"us","customer":{"id":1},"at":0',
    ]);
    expect(rows.map((r) => [r.status, r.reason])).toEqual([
      ['invalid', 'malformed'],
      ['buffered', null],
      ['invalid', 'malformed'],
    ]);
  });

  it('marks records for closed windows late', async () => {
    const at = Date.UTC(2026, 0, 1, 0, 1, 30);
    const record = doc({ region: 'eu', customer: { id: 1 }, at });
    const windowEnd = Date.UTC(2026, 0, 1, 0, 2);
    expect((await classify([record], { closedThrough: windowEnd + 9_999 }))[0]?.status).toBe('buffered');
    expect((await classify([record], { closedThrough: windowEnd + 10_000 }))[0]?.status).toBe('late');
  });

  it('samples the keys whose hash is below the rate, the same keys as batch', async () => {
    const docs = Array.from({ length: 2000 }, (_, i) => doc({ region: 'eu', customer: { id: i }, at: i }));
    const rows = await classify(docs, { extra: { sampling: { rate: 0.25 } } });
    const threshold = samplingThreshold(0.25) as bigint;
    // Integer keys hash as their plain text, as before keys were tagged by type.
    const expected = rows.map((_, i) => (keyHash(`eu\u001f${i}`) < threshold ? 'buffered' : 'sampled_out'));
    expect(rows.map((r) => r.status)).toEqual(expected);
    const share = expected.filter((s) => s === 'buffered').length / docs.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.3);
  });

  it('counts records outside the key range out of scope: the keys sampling takes at the same fraction are in', async () => {
    const docs = Array.from({ length: 2000 }, (_, i) => doc({ region: 'eu', customer: { id: i }, at: i }));
    const scoped = await classify(docs, { extra: { scope: { keyRange: [0, 0.25] } } });
    const sampled = await classify(docs, { extra: { sampling: { rate: 0.25 } } });
    expect(scoped.map((r) => (r.status === 'out_of_scope' ? 'sampled_out' : r.status))).toEqual(
      sampled.map((r) => r.status),
    );
    expect(scoped.filter((r) => r.status === 'out_of_scope').length).toBeGreaterThan(1400);
  });

  it('counts records outside the field scope out of scope, invalid ones invalid, on nested paths', async () => {
    const rows = await classify(
      [
        doc({ region: 'eu', customer: { id: 1, tenant: 'acme' }, at: 1 }),
        doc({ region: 'eu', customer: { id: 2, tenant: 'globex' }, at: 1 }),
        doc({ region: 'eu', customer: { id: 3 }, at: 1 }),
        '{"region":"eu","customer":{"id":4,"tenant":7.0},"at":1}',
        doc({ region: 'eu', customer: { id: 5, tenant: '7' }, at: 1 }),
        doc({ region: 'eu', customer: { tenant: 'acme' }, at: 1 }),
      ],
      { extra: { scope: { field: 'customer.tenant', in: ['acme', 7] } } },
    );
    expect(rows.map((r) => r.status)).toEqual([
      'buffered',
      'out_of_scope',
      'out_of_scope',
      'buffered',
      'out_of_scope',
      'invalid',
    ]);
  });

  it('keys by the Kafka record key and times by the record timestamp when told to', async () => {
    const rows = await classify(['{}', '{}'], {
      extra: { key: ['$kafkaKey'], time: { source: 'kafka' } },
      keys: ['k-1', ''],
      timestamps: [1234, 1234],
    });
    expect(rows.map((r) => [r.status, r.k, Number(r.event_time), r.reason])).toEqual([
      ['buffered', 'k-1', 1234, null],
      ['invalid', null, 1234, 'missing_key'],
    ]);
  });

  it('reads a batch of many packs as one: each record with its own position, key, time and ordinal', async () => {
    const docs = Array.from({ length: 7 }, (_, i) => `{"n": ${i}}`);
    const options = {
      extra: { key: ['$kafkaKey'], time: { source: 'kafka' } },
      keys: docs.map((_, i) => `k-${i}`),
      timestamps: docs.map((_, i) => 1000 + i),
    };
    const fields = (rows: Classified[]) =>
      rows.map((r) => [Number(r.position), r.doc, r.k, Number(r.event_time), r.status]);
    const inOne = await classify(docs, options);
    const inThree = await classify(docs, { ...options, packs: 3 });
    expect(fields(inThree)).toEqual(fields(inOne));
    expect(inThree.map((r) => [Number(r.position), r.k, Number(r.event_time)])).toEqual(
      docs.map((_, i) => [i + 1, `k-${i}`, 1000 + i]),
    );
    const ordinals = await queryRows<{ ordinal: bigint; part: number }>(
      connection,
      'SELECT ordinal, part FROM staged ORDER BY position',
    );
    expect(ordinals.map((r) => [Number(r.ordinal), r.part])).toEqual(docs.map((_, i) => [i + 1, Math.floor(i / 3)]));
  });
});

describe('key sampling', () => {
  it('hashes keys as the first 8 bytes of their MD5, little-endian, in DuckDB', async () => {
    const keys = ['o-1', 'o-2', 'Zoë Ångström 東京', 'eu\u001f7', '', '12345678901234567890'];
    const rows = await queryRows<{ h: bigint }>(
      connection,
      `SELECT md5_number_upper(k) AS h FROM (VALUES ${keys.map((key) => `(${literal(key)}, ${keys.indexOf(key)})`).join(', ')}) t(k, i) ORDER BY i`,
    );
    expect(rows.map((r) => BigInt(r.h))).toEqual(keys.map(keyHash));
    expect(keyHash('o-1')).toBe(2501814100786581163n);
  });

  it('has an exact threshold, and none at rate 1', () => {
    expect(samplingThreshold(1)).toBeUndefined();
    expect(samplingThreshold(0.5)).toBe(2n ** 63n);
  });
});
