import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { samplingThreshold } from '../../src/align/keys.js';
import { formatReport } from '../../src/cli/report.js';
import { parseComparison } from '../../src/config/load.js';
import { runBatchDiff } from '../../src/diff/batch.js';
import type { DiffTuning } from '../../src/diff/engine.js';
import { MAX_DEPTH } from '../../src/diff/sql.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

function comparison(extra: Record<string, unknown> = {}) {
  return parseComparison({
    id: 'edge',
    live: { file: { path: 'unused' } },
    candidate: { file: { path: 'unused' } },
    key: ['id'],
    verdict: { tolerance: 0.5, minSamples: 1 },
    ...extra,
  });
}

async function diff(
  live: unknown[],
  candidate: unknown[],
  extra: Record<string, unknown> = {},
  tuning: DiffTuning = {},
) {
  const text = (rows: unknown[]) => `${rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`;
  const name = `${Math.random().toString(36).slice(2)}`;
  return runBatchDiff(
    comparison(extra),
    { live: files.write(`${name}-l.ndjson`, text(live)), candidate: files.write(`${name}-c.ndjson`, text(candidate)) },
    { samples: 5, tuning },
  );
}

const fieldSummary = (result: Awaited<ReturnType<typeof diff>>) =>
  Object.fromEntries(
    result.fields.map((f) => [
      f.path,
      Object.entries(f.kinds)
        .filter(([, n]) => n > 0)
        .map(([k]) => k)
        .join(),
    ]),
  );

describe('hash comparison never hides a difference', () => {
  // 6,000 rows: the record shape is inferred from the first rows, so members that appear only
  // later are unknown to the typed rows; their records must still be compared in full.
  const rows = Array.from({ length: 6000 }, (_, i) => ({ id: i, customer: { id: i % 7, tier: 'gold' }, amount: i }));

  it('finds members the shape sample never saw, at the top level and nested', async () => {
    const live = structuredClone(rows);
    const candidate = structuredClone(rows);
    (candidate[5999] as Record<string, unknown>).late = 'x';
    (live[5998] as Record<string, unknown>).gone = 1;
    (live[5997]!.customer as Record<string, unknown>).note = 'a';
    (candidate[5997]!.customer as Record<string, unknown>).note = 'b';
    const result = await diff(live, candidate);
    expect(result.counts.different).toBe(3);
    expect(result.counts.equal).toBe(5997);
    expect(fieldSummary(result)).toEqual({ late: 'extra', gone: 'missing', 'customer.note': 'value' });
  });

  it('tells a scalar from an object where the shape expects an object', async () => {
    const live = structuredClone(rows).slice(0, 10) as Record<string, unknown>[];
    const candidate = structuredClone(live);
    live[1]!.customer = 12;
    candidate[1]!.customer = {};
    live[2]!.customer = 'ab';
    candidate[2]!.customer = 'cd';
    const result = await diff(live, candidate, { compare: { nullEqualsMissing: false } });
    expect(fieldSummary(result)).toEqual({ customer: 'value,type' });
    expect(result.counts.different).toBe(2);
  });

  it('treats JSON that differs only in spelling as equal', async () => {
    const result = await diff(
      ['{"id":1,"name":"é","n":12,"o":{"a":1,"b":2}}', '{"id":2,"a":1,"a":2}', '{"id":3,"x":[1,2]}'],
      ['{"o":{"b":2,"a":1},"n":12.0,"name":"\\u00e9","id":1}', '{"id":2,"a":2}', '{ "id" : 3 , "x" : [ 1 , 2 ] }'],
    );
    expect(result.counts).toMatchObject({ equal: 3, different: 0 });
  });

  it('finds the same with the typed rows skipped: every differing text compared field by field', async () => {
    const live = ['{"id":1,"n":12,"o":{"a":1,"b":2}}', '{"id":2,"a":1}', '{"id":3,"x":[1,2]}', '{"id":4,"t":"a"}'];
    const candidate = [
      '{"o":{"b":2,"a":1},"n":12.0,"id":1}',
      '{"id":2,"a":2}',
      '{ "id" : 3 , "x" : [ 1 , 2 ] }',
      '{"id":4}',
    ];
    const settled = await diff(live, candidate);
    const skipped = await diff(live, candidate, {}, { settle: false });
    expect(skipped.counts).toEqual(settled.counts);
    expect(skipped.counts).toMatchObject({ equal: 2, different: 2 });
    expect(skipped.fields).toEqual(settled.fields);
    expect(skipped.samples.map((sample) => [sample.key, sample.field])).toEqual(
      settled.samples.map((sample) => [sample.key, sample.field]),
    );
  });

  it('keeps null and absent apart when nullEqualsMissing is false', async () => {
    const live = [{ id: 1, a: null }, { id: 2, a: null }, { id: 3 }];
    const candidate = [{ id: 1 }, { id: 2, a: null }, { id: 3, a: null }];
    const strict = await diff(live, candidate, { compare: { nullEqualsMissing: false } });
    expect(strict.counts).toMatchObject({ equal: 1, different: 2 });
    expect(fieldSummary(strict)).toEqual({ a: 'missing,extra' });
    const lenient = await diff(live, candidate);
    expect(lenient.counts).toMatchObject({ equal: 3, different: 0 });
  });
});

describe('keys, time and windows', () => {
  it('aligns composite and nested keys, numbers and strings alike', async () => {
    const live = [
      { r: 'eu', c: { id: 1 }, v: 1 },
      { r: 'eu', c: { id: 2 }, v: 1 },
      { r: 'us', c: { id: 1 }, v: 1 },
    ];
    const candidate = [
      { r: 'eu', c: { id: '1' }, v: 1 },
      { r: 'eu', c: { id: 2 }, v: 2 },
      { r: 'us', c: { id: 3 }, v: 1 },
    ];
    const result = await diff(live, candidate, { key: ['r', 'c.id'] });
    // The string "1" and the number 1 are different keys...
    expect(result.counts).toMatchObject({ equal: 0, different: 1, missing: 2, extra: 2 });
    expect(fieldSummary(result)).toEqual({ v: 'value' });
    // ...unless keys compare as text.
    const asText = await diff(live, candidate, { key: ['r', 'c.id'], keyAsText: true });
    expect(asText.counts).toMatchObject({ equal: 0, different: 2, missing: 1, extra: 1 });
    expect(fieldSummary(asText)).toEqual({ 'c.id': 'type', v: 'value' });
  });

  it('windows records by event time, and counts records without a time as invalid', async () => {
    const live = [
      { id: 1, t: '2026-01-01T00:00:10Z' },
      { id: 1, t: '2026-01-01T00:01:10Z' },
      { id: 2, t: 1767225600000 },
      { id: 3 },
    ];
    const candidate = [
      { id: 1, t: '2026-01-01T00:00:20Z' },
      { id: 1, t: '2026-01-01T00:02:10Z' },
      { id: 2, t: '1767225600' },
    ];
    const result = await diff(live, candidate, { time: { field: 't' }, window: { size: '1m' } });
    // id 1 sits in windows 00:00 (both), 00:01 (live only) and 00:02 (candidate only); the
    // candidate's id 2 is an epoch in seconds read as ms, so it lands in another window.
    expect(result.counts).toMatchObject({ invalidLive: 1, equal: 0, different: 1, missing: 2, extra: 2 });
    const seconds = await diff(live.slice(2, 3), [{ id: 2, t: 1767225600 }], {
      time: { field: 't', unit: 's' },
    });
    expect(seconds.counts).toMatchObject({ missing: 1, extra: 1 });
  });
});

describe('compare rules', () => {
  it('applies ignore globs, per-path numeric tolerances, unordered arrays and timestamps', async () => {
    const live = [
      { id: 1, meta: { a: 1, b: { c: 2 } }, price: 10, qty: 1, tags: ['a', 'b', 'b'], at: '2026-01-01T00:00:00Z' },
      {
        id: 2,
        items: [
          { sku: 'x', p: 1 },
          { sku: 'y', p: 2 },
        ],
        at: 1767225600000,
      },
      { id: 3, tags: ['a', 'b'], price: 100 },
    ];
    const candidate = [
      { id: 1, meta: { a: 2 }, price: 10.05, qty: 1.0000001, tags: ['b', 'a', 'b'], at: '2026-01-01T00:00:00.900Z' },
      {
        id: 2,
        items: [
          { sku: 'y', p: 2.001 },
          { sku: 'x', p: 1 },
        ],
        at: '2026-01-01T00:00:00Z',
      },
      { id: 3, tags: ['a', 'a'], price: 102 },
    ];
    const result = await diff(live, candidate, {
      compare: {
        ignore: ['meta.*'],
        numeric: { rel: 0.01, fields: { qty: { abs: 0.001, rel: 0 }, 'items[].p': { abs: 0.01 } } },
        unorderedArrays: ['tags', 'items'],
        timestamps: { paths: ['at'], toleranceMs: 1000 },
      },
    });
    expect(result.counts).toMatchObject({ equal: 2, different: 1 });
    expect(fieldSummary(result)).toEqual({ 'tags[]': 'value', price: 'value' });
  });
});

describe('ignored element paths and timestamp paths', () => {
  it('keeps an array whose elements are ignored compared by presence, in the hash shortcut and field by field', async () => {
    const at = '2026-01-01T00:00:00Z';
    const near = '2026-01-01T00:00:00.500Z';
    // Records 1 and 4 differ in `at` within tolerance, so they are compared field by field.
    const live = [
      { id: 1, items: [], at },
      { id: 2, items: [1], at },
      { id: 3, items: [1, 2], at },
      { id: 4, items: [[1]], at },
      { id: 5, at: { ms: [1, 2] } },
      { id: 6, at: { ms: [1] } },
      { id: 7, at: [] },
    ];
    const candidate = [
      { id: 1, items: [[]], at: near },
      { id: 2, at },
      { id: 3, items: [3], at },
      { id: 4, at: near },
      '{"id":5,"at":{"ms":[1.0,2]}}',
      { id: 6, at: { ms: [2] } },
      '{"id":7,"at":[ ]}',
    ];
    const result = await diff(live, candidate, {
      compare: { ignore: ['items[]'], timestamps: { paths: ['at'], toleranceMs: 1000 } },
    });
    expect(result.counts).toMatchObject({ equal: 4, different: 3 });
    expect(fieldSummary(result)).toEqual({ items: 'missing', 'at.ms[]': 'value' });
    const missing = result.samples.filter((s) => s.outcome === 'different' && s.field === 'items');
    expect(missing.map((s) => s.key).sort()).toEqual(['2', '4']);
  });
});

describe('numbers compare by exact decimal value', () => {
  const big = 2n ** 60n;

  it('tells apart int64 values a double cannot (20,000 pairs 2^60+2i vs 2^60+2i+1)', async () => {
    const line = (i: number, v: bigint) => `{"id":${i},"v":${v},"name":"n${i % 10}"}`;
    const live = Array.from({ length: 20_000 }, (_, i) => line(i, big + 2n * BigInt(i)));
    const candidate = Array.from({ length: 20_000 }, (_, i) => line(i, big + 2n * BigInt(i) + 1n));
    const result = await diff(live, candidate);
    expect(result.counts).toMatchObject({ equal: 0, different: 20_000 });
    expect(result.fields).toEqual([
      { path: 'v', different: 20_000, kinds: { value: 20_000, type: 0, missing: 0, extra: 0 } },
    ]);
    const sample = result.samples.find((s) => s.outcome === 'different' && s.key === '0');
    expect(JSON.stringify([sample?.live, sample?.candidate])).toBe(`[${big},${big + 1n}]`);
  });

  it('finds beyond-double differences and shows the numbers as written', async () => {
    const result = await diff(
      [
        '{"id":1,"v":9007199254740993}',
        '{"id":2,"v":1e400}',
        '{"id":3,"v":0.1,"w":"x"}',
        '{"id":4,"v":2.50,"w":1e2,"x":-0}',
        '{"id":5,"v":[9007199254740993,1]}',
        '{"id":6,"v":123456789012345678901234567890}',
      ],
      [
        '{"id":1,"v":9007199254740992}',
        '{"id":2,"v":2e400}',
        '{"id":3,"v":0.10000000000000000001,"w":"x"}',
        '{"id":4,"v":2.5,"w":100,"x":0}',
        '{"id":5,"v":[1,9007199254740992]}',
        '{"id":6,"v":123456789012345678901234567891}',
      ],
      { compare: { unorderedArrays: ['v'] } },
    );
    expect(result.counts).toMatchObject({ equal: 1, different: 5 });
    const shown = result.samples
      .filter((s) => s.outcome === 'different')
      .map((s) => `${s.key}:${JSON.stringify(s.live)}/${JSON.stringify(s.candidate)}`)
      .sort();
    expect(shown).toEqual([
      '1:9007199254740993/9007199254740992',
      '2:1e400/2e400',
      '3:0.1/0.10000000000000000001',
      '5:9007199254740993/9007199254740992',
      '6:123456789012345678901234567890/123456789012345678901234567891',
    ]);
  });

  it('applies numeric tolerances in exact decimal arithmetic', async () => {
    const result = await diff(
      [
        `{"id":1,"a":${big}}`,
        '{"id":2,"a":10.05}',
        '{"id":3,"a":1e400}',
        '{"id":4,"a":1e400}',
        '{"id":5,"r":1000000000000000000000}',
        '{"id":6,"r":1000000000000000000000}',
      ],
      [
        `{"id":1,"a":${big + 1n}}`,
        '{"id":2,"a":10}',
        '{"id":3,"a":1.0000000001e400}',
        '{"id":4,"a":1e400}',
        '{"id":5,"r":1000000000000000000001}',
        '{"id":6,"r":1000000000000000000002}',
      ],
      { compare: { numeric: { fields: { a: { abs: 0.5 }, r: { rel: 1e-21 } } } } },
    );
    // 2^60 and 2^60+1 differ by 1 > 0.5; 1e400 and 1.0000000001e400 by 1e390; r: 1 <= 1e-21 * 1e21 < 2.
    expect(result.counts).toMatchObject({ equal: 3, different: 3 });
    expect(
      result.samples
        .filter((s) => s.outcome === 'different')
        .map((s) => s.key)
        .sort(),
    ).toEqual(['1', '3', '6']);
  });
});

describe('hostile JSON never aborts a diff nor becomes equal', () => {
  it('compares NaN, infinities and trailing commas as DuckDB reads them, never crashing', async () => {
    const result = await diff(
      [
        '{"id":1,"v":NaN}',
        '{"id":2,"v":Infinity}',
        '{"id":3,"v":[1,]}',
        '{"id":4,"v":"NaN"}',
        '{"id":5,"v":NaN,"w":1}',
        '{"id":6,"v":NaN}',
        '{"id":7,"v":-Infinity}',
      ],
      [
        '{"id":1,"v":1}',
        '{"id":2,"v":-inf}',
        '{"id":3,"v":[1]}',
        '{"id":4,"v":"NaN"}',
        '{"id":5,"w":1,"v":nan}',
        '{"id":6,"v":"NaN"}',
        '{"id":7,"v":1e400}',
      ],
    );
    expect(result.counts).toMatchObject({ invalidLive: 0, invalidCandidate: 0, equal: 3, different: 4 });
    const shown = result.samples
      .filter((s) => s.outcome === 'different')
      .map((s) => `${s.key}:${s.kind}:${JSON.stringify(s.live)}/${JSON.stringify(s.candidate)}`)
      .sort();
    expect(shown).toEqual([
      '1:value:"NaN"/1',
      '2:value:"Infinity"/"-Infinity"',
      '6:type:"NaN"/"NaN"',
      '7:value:"-Infinity"/1e400',
    ]);
  });

  it('counts records nested past the limit invalid (too_deep), at any depth', async () => {
    const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const live = [`{"id":1,"v":${nested(10_000)}}`, `{"id":2,"v":${nested(MAX_DEPTH - 1)}}`, '{"id":3,"v":1}'];
    const candidate = [`{"id":1,"v":${nested(10_000)}}`, `{"id":2,"v":${nested(MAX_DEPTH - 2)}}`, '{"id":3,"v":2}'];
    const result = await diff(live, candidate);
    expect(result.counts).toMatchObject({ invalidLive: 1, invalidCandidate: 1, different: 2, equal: 0 });
    expect(result.samples.filter((s) => s.outcome === 'invalid').map((s) => s.reason)).toEqual([
      'too_deep',
      'too_deep',
    ]);
    expect(formatReport(result, false)).toMatch(/live: 1 \(1 too_deep\)[\s\S]*candidate: 1 \(1 too_deep\)/);
  });

  it('counts a 50 MB line oversized and reads the lines after it', async () => {
    const huge = `{"id":2,"x":"${'a'.repeat(50_000_000)}"}`;
    const result = await diff(['{"id":1}', huge, '{"id":3}'], ['{"id":1}', '{"id":2}', '{"id":3}']);
    expect(result.counts).toMatchObject({ live: 2, invalidLive: 1, equal: 2, extra: 1 });
    expect(result.samples.find((s) => s.outcome === 'invalid')?.reason).toBe('oversized');
  });

  it('reads a file that starts with a byte order mark', async () => {
    const result = await diff(['\ufeff{"id":1,"v":1}', '{"id":2,"v":1}'], ['{"id":1,"v":1}', '{"id":2,"v":2}']);
    expect(result.counts).toMatchObject({ live: 2, invalidLive: 0, equal: 1, different: 1 });
    const blankFirst = await diff(['\ufeff', '{"id":1,"v":1}'], ['{"id":1,"v":2}']);
    expect(blankFirst.counts).toMatchObject({ live: 1, invalidLive: 0, different: 1 });
    expect(blankFirst.samples[0]?.position?.live).toMatch(/:2$/);
  });
});

describe('texts that DuckDB hash() maps to one value', () => {
  it('are told apart: a changed record is never equal by a hash collision', async () => {
    // hash() gives both texts the same value; so do nested rows with the same change.
    const result = await diff(
      ['{"id":1,"v":1003,"w":100}', '{"id":2,"a":{"v":1003,"w":100}}'],
      ['{"id":1,"v":1008,"w":107}', '{"id":2,"a":{"v":1008,"w":107}}'],
    );
    expect(result.counts).toMatchObject({ equal: 0, different: 2 });
    expect(fieldSummary(result)).toEqual({ v: 'value', w: 'value', 'a.v': 'value', 'a.w': 'value' });
  });
});

describe('keys compare by value', () => {
  it('aligns numeric keys by exact value: 12 = 12.0 = 1.2e1, 2^60 + 1 apart from 2^60', async () => {
    const big = 2n ** 60n;
    const result = await diff(
      ['{"id":12,"v":1}', '{"id":1.50,"v":1}', '{"id":-0,"v":1}', `{"id":${big},"v":1}`, '{"id":"7","v":1}'],
      ['{"id":1.2e1,"v":1}', '{"id":15e-1,"v":1}', '{"id":0,"v":1}', `{"id":${big + 1n},"v":1}`, '{"id":7,"v":1}'],
    );
    expect(result.counts).toMatchObject({ equal: 3, different: 0, missing: 2, extra: 2 });
    const oneSided = result.samples.filter((s) => s.outcome !== 'different').map((s) => `${s.outcome}:${s.key}`);
    expect(oneSided.sort()).toEqual([`extra:${big + 1n}`, 'extra:7', `missing:${big}`, 'missing:7']);
  });

  it('pairs a Parquet int64 key column with a float64 one', async () => {
    const instance = await openDatabase({ path: ':memory:' });
    const connection = await connect(instance);
    const live = join(files.dir, 'keys-int.parquet');
    const candidate = join(files.dir, 'keys-float.parquet');
    await connection.run(`COPY (SELECT i::BIGINT AS id, i * 3 AS v FROM range(2000) t(i)) TO '${live}'`);
    await connection.run(`COPY (SELECT i::DOUBLE AS id, i * 3 AS v FROM range(2000) t(i)) TO '${candidate}'`);
    connection.closeSync();
    instance.closeSync();
    const result = await runBatchDiff(comparison(), { live, candidate }, { samples: 5 });
    expect(result.counts).toMatchObject({ equal: 2000, different: 0, missing: 0, extra: 0 });
  });

  it('samples string and integer keys as their plain text hashes say (SPEC §3), on every side', async () => {
    const keyHash = (key: string) => createHash('md5').update(key, 'utf8').digest().readBigUInt64LE(0);
    const threshold = samplingThreshold(0.5) as bigint;
    const live = Array.from({ length: 400 }, (_, i) => ({ id: i % 2 ? i : `s${i}`, v: 1 }));
    const candidate = live.map((r) => ({ ...r, id: typeof r.id === 'number' ? `${r.id}.0` : r.id }));
    const result = await diff(
      live,
      candidate.map((r) => JSON.stringify(r).replace(/"id":"(\d+)\.0"/, '"id":$1.0')),
      { sampling: { rate: 0.5 } },
    );
    const sampled = live.filter((r) => keyHash(String(r.id)) < threshold).length;
    expect(result.counts).toMatchObject({
      equal: sampled,
      sampledOutLive: 400 - sampled,
      sampledOutCandidate: 400 - sampled,
    });
  });

  it('reads key and time from the last of repeated members, as the compared values are', async () => {
    const result = await diff(
      [
        '{"id":0,"id":7,"v":1}',
        '{"id":1,"v":1,"v":2}',
        '{"c":{"id":0},"c":{"id":5},"v":1}',
        '{"id":0,"\\u0069d":8,"v":1}',
      ],
      ['{"id":7,"v":1}', '{"id":1,"v":2}', '{"id":5,"v":1}', '{"id":8,"v":1}'],
      { key: ['id'] },
    );
    expect(result.counts).toMatchObject({ invalidLive: 1, equal: 3, extra: 1 });
    const nested = await diff(['{"c":{"id":0},"c":{"id":5},"v":1}'], ['{"c":{"id":5},"v":1}'], { key: ['c.id'] });
    expect(nested.counts).toMatchObject({ equal: 1, missing: 0, extra: 0 });
    const timed = await diff(
      ['{"id":1,"t":"2026-01-01T00:00:00Z","t":"2026-01-01T00:05:00Z"}'],
      ['{"id":1,"t":"2026-01-01T00:05:00Z"}'],
      { time: { field: 't' }, window: { size: '1m' } },
    );
    expect(timed.counts).toMatchObject({ equal: 1, missing: 0, extra: 0 });
  });
});
