import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import avsc from 'avsc';
import { afterAll, describe, expect, it } from 'vitest';
import { parseComparison } from '../../src/config/load.js';
import { runBatchDiff } from '../../src/diff/batch.js';
import { formatFromPath } from '../../src/sources/file.js';
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

  it('diffs CSV files with shared column types', async () => {
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
