import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import avsc from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseComparison } from '../../src/config/load.js';
import { runBatchDiff } from '../../src/diff/batch.js';
import { formatFromPath, loadFiles } from '../../src/sources/file.js';
import { writePythonFixtures } from '../helpers/python.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

const comparison = parseComparison({
  id: 'formats',
  live: { file: { path: 'unused' } },
  candidate: { file: { path: 'unused' } },
  key: ['id'],
  verdict: { tolerance: 0.5, minSamples: 1 },
});

const liveRows = [
  { id: 1, name: 'a', amount: 1.5 },
  { id: 2, name: 'b', amount: 2 },
  { id: 3, name: 'ç', amount: 3 },
  { id: 4, name: 'd', amount: 4 },
];
const candidateRows = [
  { id: 1, name: 'a', amount: 1.5 },
  { id: 2, name: 'b', amount: 2.5 },
  { id: 3, name: 'ç', amount: 3 },
  { id: 5, name: 'e', amount: 5 },
];
const expected = { live: 4, candidate: 4, equal: 2, different: 1, missing: 1, extra: 1 };

function csv(rows: typeof liveRows): string {
  return `id,name,amount\n${rows.map((r) => `${r.id},${r.name},${r.amount}`).join('\n')}\n`;
}

async function parquet(name: string, rows: typeof liveRows): Promise<string> {
  const json = files.write(`${name}.ndjson`, rows.map((r) => JSON.stringify(r)).join('\n'));
  const path = `${files.dir}/${name}.parquet`;
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`COPY (SELECT * FROM read_json('${json}')) TO '${path}' (FORMAT parquet)`);
  connection.closeSync();
  instance.closeSync();
  return path;
}

const avroType = avsc.Type.forSchema({
  type: 'record',
  name: 'Row',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'amount', type: 'double' },
  ],
});

async function avro(name: string, rows: typeof liveRows): Promise<string> {
  const path = `${files.dir}/${name}.avro`;
  const encoder = new avsc.streams.BlockEncoder(avroType);
  const out = createWriteStream(path);
  encoder.pipe(out);
  for (const row of rows) encoder.write(row);
  encoder.end();
  await once(out, 'finish');
  return path;
}

describe('file formats', () => {
  it('infers the format from the extension', () => {
    expect(formatFromPath('a.ndjson')).toBe('json');
    expect(formatFromPath('a.JSONL')).toBe('json');
    expect(formatFromPath('a.parquet')).toBe('parquet');
    expect(() => formatFromPath('a.txt')).toThrow(/--format/);
  });

  it('diffs CSV files, numbers as numbers', async () => {
    const result = await runBatchDiff(
      comparison,
      { live: files.write('l.csv', csv(liveRows)), candidate: files.write('c.csv', csv(candidateRows)) },
      { samples: 1 },
    );
    expect(result.counts).toMatchObject(expected);
    expect(result.fields.map((f) => f.path)).toEqual(['amount']);
    expect(result.samples.find((s) => s.outcome === 'different')?.position?.live).toMatch(/l\.csv:3$/);
  });

  it('diffs Parquet files', async () => {
    const result = await runBatchDiff(
      comparison,
      { live: await parquet('l', liveRows), candidate: await parquet('c', candidateRows) },
      { samples: 1 },
    );
    expect(result.counts).toMatchObject(expected);
  });

  it('diffs Avro container files', async () => {
    const result = await runBatchDiff(
      comparison,
      { live: await avro('l', liveRows), candidate: await avro('c', candidateRows) },
      { samples: 1 },
    );
    expect(result.counts).toMatchObject(expected);
  });

  it('fails with the path of an unreadable file', async () => {
    await expect(
      runBatchDiff(
        comparison,
        { live: `${files.dir}/nope.ndjson`, candidate: `${files.dir}/nope2.ndjson` },
        { samples: 1 },
      ),
    ).rejects.toMatchObject({ code: 'SD_INPUT_UNREADABLE', message: expect.stringContaining('nope.ndjson') });
  });
});

describe('CSV fidelity', () => {
  const diff = (live: string, candidate: string, settings: Record<string, unknown> = {}) =>
    runBatchDiff(
      parseComparison({
        id: 'csv',
        live: { file: { path: 'unused' } },
        candidate: { file: { path: 'unused' } },
        key: ['id'],
        verdict: { tolerance: 0.5, minSamples: 1 },
        ...settings,
      }),
      {
        live: files.write(`${live.length}-l.csv`, live),
        candidate: files.write(`${candidate.length}-c.csv`, candidate),
      },
      { samples: 5 },
    );
  const kinds = (result: Awaited<ReturnType<typeof diff>>) =>
    Object.fromEntries(result.fields.map((f) => [f.path, Object.entries(f.kinds).filter(([, n]) => n > 0)]));

  it('reports a column on one side only per field, not as an error', async () => {
    const live = 'id,name,amount\n1,a,1.5\n2,b,2\n3,c,3\n';
    const added = await diff(live, 'id,name,amount,region\n1,a,1.5,eu\n2,b,2,us\n3,c,3,eu\n');
    expect(added.counts).toMatchObject({ live: 3, candidate: 3, equal: 0, different: 3 });
    expect(kinds(added)).toEqual({ region: [['extra', 3]] });
    const dropped = await diff(live, 'id,amount\n1,1.5\n2,2\n3,3.0\n');
    expect(dropped.counts).toMatchObject({ equal: 0, different: 3 });
    expect(kinds(dropped)).toEqual({ name: [['missing', 3]] });
    const ignored = await diff(live, 'id,amount\n1,1.5\n2,2\n3,3.0\n', { compare: { ignore: ['name'] } });
    expect(ignored.counts).toMatchObject({ equal: 3, different: 0 });
  });

  it('keeps distinct spellings distinct: only numbers compare by value', async () => {
    const result = await diff(
      'id,flag,day,at,amount,zip\n1,T,2024-01-02,2024-01-02 03:04:05,2.50,007\n2,true,2024-01-02,x,10,7\n',
      'id,flag,day,at,amount,zip\n1,true,2024-1-2,2024-01-02T03:04:05,2.5,7\n2,true,2024-01-02,x,1e1,7\n',
    );
    expect(result.counts).toMatchObject({ equal: 1, different: 1 });
    expect(kinds(result)).toEqual({
      flag: [['value', 1]],
      day: [['value', 1]],
      at: [['value', 1]],
      zip: [['type', 1]],
    });
  });

  it('tells "" from an empty field when asked to, as PostgreSQL COPY writes them', async () => {
    const live = 'id,note\n1,""\n2,\n3,x\n';
    const candidate = 'id,note\n1,\n2,\n3,x\n';
    const byDefault = await diff(live, candidate);
    expect(byDefault.counts).toMatchObject({ equal: 3, different: 0 });
    const strict = await diff(live, candidate, { csv: { emptyQuotedIsString: true } });
    expect(strict.counts).toMatchObject({ equal: 2, different: 1 });
    expect(kinds(strict)).toEqual({ note: [['missing', 1]] });
    expect(strict.samples.find((s) => s.outcome === 'different')).toMatchObject({ key: '1', live: '' });
  });

  it('reports the line a record starts on after quoted newlines and blank lines', async () => {
    const rows = (last: number) => `id,text,v\n1,"a\nb",1\n\n2,"c ""q""\nd\ne",2\n3,x,${last}\n4,"\n",4\n`;
    const result = await diff(rows(3), rows(30));
    expect(result.counts).toMatchObject({ equal: 3, different: 1 });
    const sample = result.samples.find((s) => s.outcome === 'different');
    expect(sample?.position?.live).toMatch(/-l\.csv:8$/);
    expect(sample?.position?.candidate).toMatch(/-c\.csv:8$/);
  });
});

describe('files written by pyarrow and fastavro', () => {
  const python = tempDir('shadowdiff-py-');
  afterAll(() => python.remove());
  beforeAll(async () => {
    await writePythonFixtures('exact.py', python.dir);
    await writePythonFixtures('evolution.py', python.dir, '200');
  });

  it('writes decimals, longs beyond 2^53 and non-finite floats with every digit, the same from Parquet and Avro', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const inputs = await loadFiles(connection, [
        { side: 'live', path: `${python.dir}/exact.parquet`, format: 'parquet' },
        { side: 'candidate', path: `${python.dir}/exact.avro`, format: 'avro' },
      ]);
      for (const input of inputs) {
        const reader = await connection.runAndReadAll(`SELECT doc FROM ${input.relation}`);
        expect(reader.getRows()).toEqual([
          [
            '{"id":1,"amount":1234567890123456.78,"wide":-12345678901234567890.123456789,"rescaled":123.4500,' +
              '"big":9007199254740993,"nan":"NaN","inf":"-Infinity","lines":[{"price":1234567890123456.78},{"price":0.10}]}',
          ],
        ]);
      }
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('compares Avro files of compatible writer schemas by value; an added field is extra', async () => {
    const evolution = (compare = {}) =>
      runBatchDiff(
        parseComparison({ ...comparison, compare }),
        { live: `${python.dir}/orders-v1.avro`, candidate: `${python.dir}/orders-v2.avro` },
        { samples: 1 },
      );
    const result = await evolution();
    expect(result.counts).toMatchObject({ live: 200, candidate: 200, equal: 0, different: 200, invalidCandidate: 0 });
    expect(result.fields).toEqual([
      { path: 'channel', different: 200, kinds: { value: 0, type: 0, missing: 0, extra: 200 } },
    ]);
    const ignored = await evolution({ ignore: ['channel'] });
    expect(ignored.counts).toMatchObject({ equal: 200, different: 0 });
  });
});
