import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { parseComparison } from '../../src/config/load.js';
import { runBatchDiff } from '../../src/diff/batch.js';
import { expandInput, formatFromPath } from '../../src/sources/file-set.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir('shadowdiff-fileset-');
afterAll(() => files.remove());

interface Row {
  id: number;
  name: string;
  amount: number;
}

/** 600 records; the candidate changes 12 amounts, drops 5 records and adds 7. */
const live: Row[] = Array.from({ length: 600 }, (_, id) => ({ id, name: `n${id}`, amount: id * 1.5 }));
const changed = new Set(Array.from({ length: 12 }, (_, i) => i * 50 + 3));
const dropped = new Set([10, 200, 201, 450, 599]);
const candidate: Row[] = [
  ...live.filter((row) => !dropped.has(row.id)).map((row) => (changed.has(row.id) ? { ...row, amount: -1 } : row)),
  ...Array.from({ length: 7 }, (_, i) => ({ id: 1000 + i, name: 'new', amount: 1 })),
];
const truth = { live: 600, candidate: 602, equal: 583, different: 12, missing: 5, extra: 7 };

const comparison = (key = ['id']) =>
  parseComparison({
    id: 'warehouse',
    live: { file: { path: 'unused' } },
    candidate: { file: { path: 'unused' } },
    key,
    verdict: { tolerance: 0.5, minSamples: 1 },
  });

const ndjson = (rows: Row[]) => rows.map((row) => `${JSON.stringify(row)}\n`).join('');
const csv = (rows: Row[]) => `id,name,amount\n${rows.map((r) => `${r.id},${r.name},${r.amount}`).join('\n')}\n`;

function write(path: string, text: string | Buffer): string {
  const full = join(files.dir, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
  return full;
}

async function writeParquet(path: string, rows: Row[]): Promise<string> {
  const full = join(files.dir, path);
  mkdirSync(join(full, '..'), { recursive: true });
  const json = write(`src-${path.replaceAll('/', '_')}.ndjson`, ndjson(rows));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(
      `COPY (SELECT * FROM read_json('${json}', columns = {id: 'BIGINT', name: 'VARCHAR', amount: 'DOUBLE'})) TO '${full}' (FORMAT parquet)`,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return full;
}

/** Splits rows into `n` files by `pick`, so a record lands in another file on each side. */
function split(rows: Row[], n: number, pick: (row: Row) => number): Row[][] {
  const parts: Row[][] = Array.from({ length: n }, () => []);
  for (const row of rows) parts[pick(row) % n]?.push(row);
  return parts;
}

const differentSample = (result: Awaited<ReturnType<typeof runBatchDiff>>, key: string) =>
  result.samples.find((sample) => sample.outcome === 'different' && sample.key === key);

describe('inputs as warehouses write them', () => {
  it('tells the format through .gz and .zst, and refuses compressed Parquet', () => {
    expect(formatFromPath('a/part-0.ndjson.gz')).toBe('json');
    expect(formatFromPath('a/part-0.JSONL.ZST')).toBe('json');
    expect(formatFromPath('a/part-0.csv.zst')).toBe('csv');
    expect(() => formatFromPath('a/part-0.parquet.gz')).toThrow(/--format/);
  });

  it('diffs folders of NDJSON files, a record moved between files still aligned by key', async () => {
    // Live: 3 files by key range; candidate: 4 files by key modulo, zstd- and gzip-compressed.
    split(live, 3, (row) => Math.floor(row.id / 200)).forEach((rows, i) => {
      write(`nd/live/part-${i}.ndjson`, ndjson(rows));
    });
    write('nd/live/_SUCCESS', '');
    const parts = split(candidate, 4, (row) => row.id);
    parts.forEach((rows, i) => {
      const text = ndjson(rows);
      write(`nd/candidate/part-${i}.ndjson.${i % 2 ? 'gz' : 'zst'}`, i % 2 ? gzipSync(text) : zstdCompressSync(text));
    });
    const result = await runBatchDiff(
      comparison(),
      { live: join(files.dir, 'nd/live'), candidate: join(files.dir, 'nd/candidate') },
      { samples: 20 },
    );
    expect(result.counts).toMatchObject(truth);
    expect(result.fields.map((f) => [f.path, f.different])).toEqual([['amount', 12]]);
    // id 253: live file part-1 (ids 200..399), line 54; candidate part-1 (ids ≡ 1 mod 4), after
    // 1, 5, …: line 1 + the ids ≡ 1 mod 4 below 253 that were not dropped (201 was).
    const line = 1 + candidate.filter((row) => row.id % 4 === 1 && row.id < 253).length;
    expect(differentSample(result, '253')?.position).toEqual({
      live: `${files.dir}/nd/live/part-1.ndjson:54`,
      candidate: `${files.dir}/nd/candidate/part-1.ndjson.gz:${line}`,
    });
    const missing = result.samples.find((s) => s.outcome === 'missing' && s.key === '450');
    expect(missing?.position?.live).toBe(`${files.dir}/nd/live/part-2.ndjson:51`);
  });

  it('diffs a glob of gzip CSV against one zstd CSV', async () => {
    split(live, 2, (row) => (row.id < 300 ? 0 : 1)).forEach((rows, i) => {
      write(`csv/live/part-${i}.csv.gz`, gzipSync(csv(rows)));
    });
    write('csv/live/notes.txt', 'not data');
    const candidatePath = write('csv/candidate.csv.zst', zstdCompressSync(csv(candidate)));
    const result = await runBatchDiff(
      comparison(),
      { live: join(files.dir, 'csv/live/part-*.csv.gz'), candidate: candidatePath },
      { samples: 20 },
    );
    expect(result.counts).toMatchObject(truth);
    expect(differentSample(result, '303')?.position?.live).toBe(`${files.dir}/csv/live/part-1.csv.gz:5`);
  });

  it('diffs hive-partitioned Parquet folders; partition values are members the key can name', async () => {
    const day = (row: Row) => (row.id < 300 ? '2026-12-01' : '2026-12-02');
    const byDay = (rows: Row[], day0: boolean) => rows.filter((row) => (day(row) === '2026-12-01') === day0);
    for (const [side, rows, files] of [
      ['live', live, 1],
      ['candidate', candidate, 3],
    ] as const) {
      for (const day0 of [true, false]) {
        const parts = split(byDay(rows, day0), files, (row) => row.id * 7);
        for (const [i, part] of parts.entries()) {
          await writeParquet(`pq/${side}/dt=${day0 ? '2026-12-01' : '2026-12-02'}/part-${i}.parquet`, part);
        }
      }
    }
    const expanded = await expandInput(join(files.dir, 'pq/candidate'));
    expect(expanded).toHaveLength(6);
    expect(expanded[0]?.partitions).toEqual([['dt', '2026-12-01']]);
    const result = await runBatchDiff(
      comparison(['dt', 'id']),
      { live: join(files.dir, 'pq/live'), candidate: join(files.dir, 'pq/candidate/dt=*/*.parquet') },
      { samples: 20 },
    );
    expect(result.counts).toMatchObject(truth);
    expect(result.fields.map((f) => f.path)).toEqual(['amount']);
    const sample = differentSample(result, '2026-12-02\u001f453');
    expect(sample?.position?.live).toMatch(/pq\/live\/dt=2026-12-02\/part-0\.parquet#\d+$/);
    expect(sample?.position?.candidate).toMatch(/pq\/candidate\/dt=2026-12-02\/part-\d\.parquet#\d+$/);
  });

  it('adds partition members only below the folder or glob given: a single file in a hive folder gets none', async () => {
    const single = write('single/dt=2026-12-01/part-0.csv', csv(live));
    const result = await runBatchDiff(
      comparison(),
      { live: single, candidate: write('single/live.ndjson', ndjson(live)) },
      { samples: 1 },
    );
    expect(result.counts).toMatchObject({ live: 600, candidate: 600, equal: 600, different: 0 });
  });

  it('names an empty folder instead of diffing nothing', async () => {
    mkdirSync(join(files.dir, 'empty'));
    await expect(
      runBatchDiff(
        comparison(),
        { live: join(files.dir, 'empty'), candidate: join(files.dir, 'empty') },
        { samples: 1 },
      ),
    ).rejects.toMatchObject({ code: 'SD_INPUT_UNREADABLE', message: expect.stringContaining('holds no') });
  });
});
