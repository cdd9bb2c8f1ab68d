import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFiles } from '../../src/sources/file.js';
import { findRecordLines, readRecordTexts } from '../../src/sources/file-lines.js';
import { connect, openDatabase } from '../../src/store/duckdb.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

/** Lines DuckDB and the line scan must count alike: blank ones, CRLF, spaces around, one longer than a read chunk. */
const long = JSON.stringify({ id: 'long', pad: 'x'.repeat(3 * 1024 * 1024) });
const text = [
  '{"id":"a","v":1}',
  '',
  '   ',
  '  {"id":"b","v":2}  \r',
  '{"id":"c","v":"ü"}\t',
  '\r',
  long,
  '{"id":"d","v":4}',
].join('\n');

function gzipped(name: string, content: string): string {
  const path = join(files.dir, name);
  writeFileSync(path, gzipSync(content));
  return path;
}

async function duckdbTexts(path: string): Promise<string[]> {
  const instance = await openDatabase({ path: ':memory:' });
  const connection = await connect(instance);
  try {
    const [input] = await loadFiles(connection, [{ side: 'live', path }]);
    const reader = await connection.runAndReadAll(`SELECT doc FROM ${input?.relation}`);
    return reader.getRowsJS().map(([doc]) => String(doc));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function scanned(path: string, ordinals: number[]): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  await readRecordTexts(path, ordinals, (ordinal, doc) => found.set(ordinal, doc));
  return found;
}

describe('readRecordTexts', () => {
  for (const [name, path] of [
    ['plain, no newline at the end', files.write('texts.ndjson', text)],
    ['with a BOM and a final newline', files.write('bom.ndjson', `\uFEFF${text}\n`)],
    ['gzip-compressed', gzipped('texts.ndjson.gz', text)],
  ] as const) {
    it(`gives the texts DuckDB reads at the same positions (${name})`, async () => {
      const truth = await duckdbTexts(path);
      expect(truth).toHaveLength(5);
      expect(await scanned(path, [1, 2, 3, 4, 5])).toEqual(new Map(truth.map((doc, i) => [i + 1, doc])));
      // Only the positions asked for, and the scan stops after the last.
      expect(await scanned(path, [2, 4])).toEqual(
        new Map([
          [2, truth[1]],
          [4, truth[3]],
        ]),
      );
      expect(await scanned(path, [])).toEqual(new Map());
    });
  }

  it('counts records as findRecordLines does, which locates samples', async () => {
    const path = files.write('lines.ndjson', text);
    const lines = await findRecordLines(path, [1, 2, 3, 4, 5]);
    expect([...lines].map(([ordinal, found]) => [ordinal, found.line])).toEqual([
      [1, 1],
      [2, 4],
      [3, 5],
      [4, 7],
      [5, 8],
    ]);
    expect(lines.get(2)?.text).toBe('  {"id":"b","v":2}  ');
  });
});
