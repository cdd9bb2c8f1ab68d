import { afterAll, describe, expect, it } from 'vitest';
import { keySampler, keySampling } from '../../src/align/key-sample.js';
import { parseComparison } from '../../src/config/load.js';
import { MAX_DEPTH } from '../../src/diff/sql.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
import { classifyRecords } from '../helpers/ingest-classify.js';

const comparison = (key: string[], extra: Record<string, unknown> = {}) =>
  parseComparison({
    id: 'x',
    live: { simulate: {} },
    candidate: { simulate: {} },
    key,
    time: { source: 'kafka' },
    window: { size: '1m' },
    sampling: { rate: 0.5 },
    ...extra,
  });

const instance = await openDatabase({ path: ':memory:' });
const connection = await connect(instance);
afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

/** The sampler's reading of each doc next to DuckDB's ingest classification of it. */
async function compare(key: string[], docs: string[], extra: Record<string, unknown> = {}) {
  const config = comparison(key, extra);
  const sampler = keySampler(keySampling(config))!;
  const rows = await classifyRecords(connection, config, docs);
  return docs.map((doc, i) => ({
    doc,
    js: sampler.keyOf(Buffer.from(doc)) ?? null,
    decision: sampler.decide(Buffer.from(doc)),
    duckdb: rows[i]!,
  }));
}

describe('key sampler', () => {
  it('is not built at rate 1, nor for a key it cannot read', () => {
    expect(keySampling(comparison(['k'], { sampling: { rate: 1 } }))).toBeUndefined();
    expect(keySampler(undefined)).toBeUndefined();
    // `$kafkaKey` beside field paths names no member: left to DuckDB.
    expect(keySampling(comparison(['$kafkaKey', 'k']))).toBeUndefined();
  });

  it('reads the same canonical key as DuckDB from every spelling of numbers, strings and booleans', async () => {
    const values = [
      '1',
      '-0',
      '-0.0',
      '1.50',
      '1.5e0',
      '1e2',
      '1E+2',
      '100e-2',
      '0.1000000000000000055511151231257827',
      '123456789.123456789123',
      '9007199254740993',
      '9007199254740993.0',
      '18446744073709551616',
      '-9223372036854775809',
      '123456789012345678901234567890.5',
      '5e-324',
      '-1e-400',
      '1.7976931348623157e308',
      '"12"',
      '"a\\u00e9\\u00E9b"',
      '"é😀"',
      '"\\ud83d\\ude00"',
      '"\\/\\"\\\\\\b\\f\\n\\r\\t"',
      '"\\u001dx"',
      '"a\\u0000b"',
      '""',
      'true',
      'false',
    ];
    for (const keyAsText of [false, true]) {
      const rows = await compare(
        ['k'],
        values.map((v) => `{"k": ${v}}`),
        { keyAsText },
      );
      for (const row of rows) {
        expect(row.duckdb.reason, row.doc).toBeNull();
        expect(row.js, row.doc).toBe(row.duckdb.k);
        expect(row.decision === 'out', row.doc).toBe(row.duckdb.status === 'sampled_out');
      }
    }
    // Hashing takes a U+001D after each U+001F out, inside strings too: such a key is left to DuckDB.
    const [tagged] = await compare(['k'], ['{"k": "a\\u001f\\u001db"}']);
    expect(tagged?.js).toBe(tagged?.duckdb.k);
    expect(tagged?.decision).toBe('unsure');
  });

  it('takes the last of repeated members, escaped names, nested paths and multi-part keys as DuckDB does', async () => {
    const rows = await compare(
      ['a.b', 'k'],
      [
        '{"a":{"b":1},"k":"x"}',
        '{"a":{"b":1,"b":2},"k":"x","k":"y"}',
        '{"a":{"b":1},"a":{"b":3},"k":"x"}',
        '{"\\u0061":{"\\u0062":4},"k":"x"}',
        '{"k":"x","a":{"c":{"b":9},"b":5,"d":[{"b":1}]}}',
        '\ufeff  {"a" : {"b" : 6} , "k" : "x" }\r\n',
        '{"a":{"b":"p\\u001fq"},"k":"\\u001d"}',
      ],
    );
    for (const row of rows) {
      expect(row.js, row.doc).not.toBeNull();
      expect(row.js, row.doc).toBe(row.duckdb.k);
      expect(row.decision === 'out', row.doc).toBe(row.duckdb.status === 'sampled_out');
    }
  });

  it('keeps a record whenever the key is missing or unusable or the text is not one it reads as DuckDB does', async () => {
    const nested = (depth: number) => `${'{"v":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const rows = await compare(
      ['a.b'],
      [
        '{"a":{"c":1}}',
        '{"a":{"b":null}}',
        '{"a":{"b":{}}}',
        '{"a":{"b":[1]}}',
        '{"a":5}',
        '{"a":{"b":1},"a":{"c":1}}',
        '[{"a":{"b":1}}]',
        '\n{"a":{"b":1}}',
        '{"a":{"b":1}',
        '{"a":{"b":1}} x',
        '{"a":{"b":1},}',
        '{"a":{"b":1},"v":NaN}',
        '{"a":{"b":1e400}}',
        '{"a":{"b":"\\ud800"}}',
        '{"a":{"b":"x\ty"}}',
        '{"a":{"b":1},"v":"\\x"}',
        '{"a":{"b":01}}',
        `{"a":{"b":1},"v":${nested(MAX_DEPTH)}}`,
      ],
    );
    for (const row of rows) {
      expect(row.js, row.doc).toBeNull();
      expect(row.decision, row.doc).toBe('unsure');
    }
    // DuckDB takes some of these (a text with a trailing comma or NaN, a number past a double): the sampler leaves them to it.
    expect(rows.filter((row) => row.duckdb.reason === null).map((row) => row.doc)).toEqual([
      '{"a":{"b":1},}',
      '{"a":{"b":1},"v":NaN}',
      '{"a":{"b":1e400}}',
    ]);
  });

  it('decides from the Kafka record key alone, as DuckDB samples it, and keeps records with no usable key', async () => {
    for (const keyAsText of [false, true]) {
      const config = comparison(['$kafkaKey'], { keyAsText });
      const sampler = keySampler(keySampling(config))!;
      expect(sampler.reads).toBe('recordKey');
      const keys = [
        ...Array.from({ length: 40 }, (_, i) => Buffer.from(`order-${i}`)),
        Buffer.from('\u001dtagged\u001f\u001dtoo'),
        Buffer.from([0xff, 0xfe, 0x41]),
        Buffer.from('é😀'),
        Buffer.from(''),
        Buffer.from('a\u001eb'),
        null,
      ];
      const rows = await classifyRecords(
        connection,
        config,
        keys.map(() => 'not even JSON'),
        keys,
      );
      keys.forEach((key, i) => {
        const row = rows[i]!;
        if (sampler.decide(key) === 'out')
          expect(row, String(key)).toMatchObject({ status: 'invalid', reason: 'malformed' });
        const definite = key !== null && key.length > 0 && !key.includes(0x1e);
        expect(row.k !== null, String(key)).toBe(definite);
      });
      // The same records with a valid payload: the sampler and DuckDB agree on every key.
      const valid = await classifyRecords(
        connection,
        config,
        keys.map(() => '{}'),
        keys,
      );
      keys.forEach((key, i) => {
        const row = valid[i]!;
        expect(sampler.decide(key) === 'out', String(key)).toBe(row.status === 'sampled_out');
      });
      expect(valid.filter((row) => row.status === 'sampled_out').length).toBeGreaterThan(5);
    }
  });

  it('reads the value before decoding for JSON, and the decoded document for Avro', () => {
    expect(keySampler(keySampling(comparison(['k'])))?.reads).toBe('value');
    const avro = comparison(['k'], { format: 'avro-schema', schema: 'x.avsc' });
    expect(keySampler(keySampling(avro))?.reads).toBe('decoded');
  });
});
