import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isoMillis } from '../../src/align/iso-time.js';
import { RecordKeyer, recordKeying } from '../../src/align/record-keyer.js';
import { parseComparison } from '../../src/config/load.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
import { classifyRecords } from '../helpers/ingest-classify.js';

const comparison = (extra: Record<string, unknown> = {}) =>
  parseComparison({
    id: 'x',
    live: { simulate: {} },
    candidate: { simulate: {} },
    key: ['id'],
    time: { field: 'ts' },
    window: { size: '1m' },
    ...extra,
  });

const instance = await openDatabase({ path: ':memory:' });
const connection = await connect(instance);
afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

const TIMESTAMP = 1_700_000_000_000;

/** The keyer's reading of each doc next to DuckDB's ingest classification of it. */
async function compare(docs: string[], extra: Record<string, unknown> = {}, keys: (Buffer | null)[] = []) {
  const config = comparison(extra);
  const keyer = new RecordKeyer(recordKeying(config)!);
  const rows = await classifyRecords(connection, config, docs, keys, TIMESTAMP);
  return docs.map((doc, i) => ({
    doc,
    js: keyer.keyOf(Buffer.from(doc), keys[i] ?? null, TIMESTAMP),
    duckdb: rows[i]!,
  }));
}

/** Whatever the keyer reads, DuckDB reads the same valid key and event time. */
function expectAgreement(rows: Awaited<ReturnType<typeof compare>>): void {
  for (const row of rows) {
    if (row.js === undefined) continue;
    expect(row.duckdb.reason, row.doc).toBeNull();
    expect(row.js.key, row.doc).toBe(row.duckdb.k);
    expect(row.js.eventTime, row.doc).toBe(row.duckdb.event_time);
  }
}

const TIMES = [
  '1700000000123',
  '-5',
  '0',
  '-0',
  '9007199254740993',
  '1234567890123456',
  '1700000000.5',
  '1.7e12',
  '"1700000000123"',
  '" 17 "',
  '"2026-12-03T10:11:12Z"',
  '"2026-12-03T10:11:12.1Z"',
  '"2026-12-03T10:11:12.123456Z"',
  '"2026-12-03T10:11:12.9999Z"',
  '"2026-12-03T10:11:12+05:30"',
  '"2026-12-03T00:11:12-08:00"',
  '"2024-02-29T23:59:59Z"',
  '"2023-02-29T10:00:00Z"',
  '"2026-04-31T10:00:00Z"',
  '"2026-13-01T10:00:00Z"',
  '"2026-12-03T24:00:00Z"',
  '"2026-12-03T10:60:00Z"',
  '"2026-12-03T10:00:60Z"',
  '"1970-01-01T00:00:00Z"',
  '"1970-01-01T00:30:00+01:00"',
  '"1969-12-31T23:59:59.999Z"',
  '"0070-06-01T00:00:00Z"',
  '"2026-12-03T10:11:12"',
  '"2026-12-03 10:11:12Z"',
  '"2026-12-03T10:11:12.1234567Z"',
  '"2026-12-03T10:11:12+15:00"',
  '"2026-12-03T10:11:12+15:01"',
  '"2026-12-03T10:11:12+01:60"',
  '"2026-12-03"',
  '"soon"',
  'true',
  'null',
  '{}',
  '[1]',
];

describe('record keyer', () => {
  it('reads the key and event time DuckDB reads, in every unit, and leaves every other spelling to it', async () => {
    for (const unit of ['ms', 's', 'us']) {
      const rows = await compare(
        TIMES.map((t) => `{"id": 7, "ts": ${t}}`),
        { time: { field: 'ts', unit } },
      );
      expectAgreement(rows);
      // The spellings services write are read here, not left to DuckDB.
      const read = rows.filter((row) => row.js !== undefined).map((row) => row.doc);
      expect(read).toContain('{"id": 7, "ts": 1700000000123}');
      expect(read).toContain('{"id": 7, "ts": "2026-12-03T10:11:12.123456Z"}');
      expect(read).toContain('{"id": 7, "ts": "2026-12-03T10:11:12+05:30"}');
    }
  });

  it('agrees with DuckDB on generated records: keys of every kind, times of every form', async () => {
    const keyValue = fc.oneof(
      fc.integer().map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
      fc.string().map((x) => JSON.stringify(x)),
      fc.constantFrom('true', 'false', 'null', '{}', '"12"', '12.0', '1e2'),
    );
    const date = fc.date({
      min: new Date('1960-01-01T00:00:00Z'),
      max: new Date('2100-01-01T00:00:00Z'),
      noInvalidDate: true,
    });
    const timeValue = fc.oneof(
      fc.integer({ min: -1e12, max: 4e12 }).map(String),
      date.map((d) => JSON.stringify(d.toISOString())),
      fc.tuple(date, fc.integer({ min: -14, max: 14 }), fc.constantFrom('00', '30', '45')).map(([d, h, m]) => {
        const sign = h < 0 ? '-' : '+';
        return JSON.stringify(`${d.toISOString().slice(0, 19)}${sign}${String(Math.abs(h)).padStart(2, '0')}:${m}`);
      }),
      fc.constantFrom(...TIMES),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(keyValue, timeValue), { minLength: 1, maxLength: 40 }), async (pairs) => {
        const rows = await compare(pairs.map(([k, t]) => `{"id":${k},"ts":${t},"v":[1,{"id":2}]}`));
        expectAgreement(rows);
      }),
      { numRuns: 40 },
    );
  });

  it('keys by the Kafka record key and times by the Kafka timestamp when the comparison does', async () => {
    const docs = ['{"v":1}', '{"v":2}', '{"v":3}', '[1]', '{"v":4}'];
    const keys = [Buffer.from('order-1'), Buffer.from(''), null, Buffer.from('order-4'), Buffer.from('a\u001eb')];
    const rows = await compare(docs, { key: ['$kafkaKey'], time: { source: 'kafka' } }, keys);
    expectAgreement(rows);
    expect(rows.map((row) => row.js?.key ?? null)).toEqual(['order-1', null, null, null, null]);
    expect(rows[0]?.js?.eventTime).toBe(TIMESTAMP);
  });

  it('leaves texts DuckDB would change or reject to it: a byte order mark, nesting, invalid records', async () => {
    const deep = `${'['.repeat(300)}${']'.repeat(300)}`;
    const rows = await compare([
      '\ufeff{"id":1,"ts":5}',
      `{"id":1,"ts":5,"v":${deep}}`,
      '{"id":1}',
      '{"ts":5}',
      '{"id":1,"ts":5',
      '{"id":"a\\u001eb","ts":5}',
    ]);
    expect(rows.map((row) => row.js)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it('is not used where DuckDB must decide first: a scope on a field or a key range', () => {
    expect(recordKeying(comparison({ scope: { field: 'tenant', in: ['a'] } }))).toBeUndefined();
    expect(recordKeying(comparison({ scope: { keyRange: [0, 0.5] } }))).toBeUndefined();
    expect(recordKeying(comparison())).toBeDefined();
  });

  it('reads ISO times with an offset to the millisecond, truncating microseconds, on every day', () => {
    const read = (text: string) => isoMillis(Buffer.from(text), 0, text.length);
    expect(read('2026-12-03T10:11:12.123999Z')).toBe(Date.UTC(2026, 11, 3, 10, 11, 12, 123));
    expect(read('2026-12-03T10:11:12-01:30')).toBe(Date.UTC(2026, 11, 3, 11, 41, 12));
    expect(read('2026-02-29T00:00:00Z')).toBeUndefined();
    expect(read('2026-12-03T10:11:12.Z')).toBeUndefined();
    fc.assert(
      fc.property(fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (date) => {
        expect(read(date.toISOString())).toBe(date.getTime());
      }),
    );
  });
});
