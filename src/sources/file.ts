import { createReadStream } from 'node:fs';
import { access, constants, open } from 'node:fs/promises';
import { extname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openAvroFile } from '../codec/avro-file.js';
import type { Side } from '../config/schema.js';
import type { SideInput } from '../diff/engine.js';
import { identifier, literal } from '../diff/sql.js';
import { ShadowdiffError } from '../errors.js';
import { appendDocs } from '../store/append.js';
import { queryRows } from '../store/duckdb.js';
import { findRecordLines } from './file-lines.js';

export type FileFormat = 'json' | 'csv' | 'parquet' | 'avro';

const EXTENSIONS: Record<string, FileFormat> = {
  '.json': 'json',
  '.ndjson': 'json',
  '.jsonl': 'json',
  '.csv': 'csv',
  '.tsv': 'csv',
  '.parquet': 'parquet',
  '.avro': 'avro',
};

/** The format of a file from its extension (`.ndjson`, `.jsonl`, `.json`, `.csv`, `.parquet`, `.avro`). */
export function formatFromPath(path: string): FileFormat {
  const format = EXTENSIONS[extname(path).toLowerCase()];
  if (!format) {
    throw new ShadowdiffError(
      'SD_INPUT_FORMAT',
      `cannot tell the format of ${path} from its extension; pass --format json|csv|parquet|avro`,
    );
  }
  return format;
}

export interface FileSide {
  side: Side;
  path: string;
  format: FileFormat;
}

async function ensureReadable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (cause) {
    throw new ShadowdiffError('SD_INPUT_UNREADABLE', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** CSV files of one diff share their column types, so `12` is a number on both sides or on neither. */
async function csvColumnTypes(connection: DuckDBConnection, paths: string[]): Promise<Record<string, string>> {
  const rows = await queryRows<{ column_name: string; column_type: string }>(
    connection,
    `DESCRIBE SELECT * FROM read_csv([${paths.map(literal).join(', ')}], union_by_name = true)`,
  );
  return Object.fromEntries(rows.map((row) => [row.column_name, row.column_type]));
}

function typesArgument(types: Record<string, string>): string {
  return `{${Object.entries(types)
    .map(([name, type]) => `${literal(name)}: ${literal(type)}`)
    .join(', ')}}`;
}

/**
 * Turns each file into a side input of the diff engine: a relation of `(doc, reason)` in file
 * order that DuckDB reads in parallel. NDJSON lines that are not valid JSON become NULL docs (counted
 * invalid); blank lines are not records. Avro files are decoded in JS and appended to a table.
 */
export async function loadFiles(connection: DuckDBConnection, files: FileSide[]): Promise<SideInput[]> {
  for (const file of files) await ensureReadable(file.path);
  const csvPaths = files.filter((f) => f.format === 'csv').map((f) => f.path);
  const csvTypes = csvPaths.length > 0 ? await csvColumnTypes(connection, csvPaths).catch(() => ({})) : {};
  const inputs: SideInput[] = [];
  for (const file of files) {
    const source = literal(file.path);
    let relation: string;
    switch (file.format) {
      case 'json':
        relation = await ndjsonRelation(file.path);
        break;
      case 'csv': {
        const types = Object.keys(csvTypes).length ? `, types = ${typesArgument(csvTypes)}` : '';
        relation = await materialize(connection, file, `read_csv(${source}, header = true${types})`);
        break;
      }
      case 'parquet':
        relation = await materialize(connection, file, `read_parquet(${source})`);
        break;
      case 'avro': {
        const table = `sd_file_${file.side}`;
        await loadAvroFile(connection, file.path, table);
        relation = `(SELECT doc, reason FROM ${identifier(table)})`;
        break;
      }
      default:
        throw new ShadowdiffError('SD_INPUT_FORMAT', `unknown format ${file.format satisfies never}`);
    }
    await probe(connection, file.path, relation);
    inputs.push({ side: file.side, relation, locate: locator(file) });
  }
  return inputs;
}

/** NDJSON records longer than this are counted invalid (`oversized`) instead of read. */
const MAX_NDJSON_RECORD_BYTES = 16 * 1024 * 1024;
/**
 * The longest line DuckDB is asked to read: it holds two buffers of the longest line it may meet
 * per file, so the limit follows the file's longest line instead of being set high for every file.
 */
const MAX_LINE_BYTES = 256 * 1024 * 1024;
const SCAN_CHUNK = 1024 * 1024;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The first line of a file that starts with a UTF-8 BOM, without the BOM; undefined without one,
 * null when the line is longer than MAX_NDJSON_RECORD_BYTES.
 */
async function lineAfterBom(path: string): Promise<string | null | undefined> {
  const handle = await open(path);
  try {
    const head = Buffer.alloc(64 * 1024);
    const parts: Buffer[] = [];
    let length = 0;
    for (let position = 0; ; ) {
      const { bytesRead } = await handle.read(head, 0, head.length, position);
      const chunk = head.subarray(0, bytesRead);
      if (position === 0 && !chunk.subarray(0, 3).equals(BOM)) return undefined;
      const end = chunk.indexOf(10);
      parts.push(Buffer.from(end === -1 ? chunk : chunk.subarray(0, end)));
      length += end === -1 ? bytesRead : end;
      if (length > MAX_NDJSON_RECORD_BYTES + BOM.length) return null;
      if (end !== -1 || bytesRead === 0) break;
      position += bytesRead;
    }
    return Buffer.concat(parts).subarray(BOM.length).toString('utf8').replace(/\r$/, '');
  } finally {
    await handle.close();
  }
}

/**
 * The length of the file's longest line if it is longer than SCAN_CHUNK, else at most SCAN_CHUNK:
 * two native searches per chunk, so the pass costs little more than reading the file.
 */
async function longestLongLine(path: string): Promise<number> {
  let longest = 0;
  let open = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: SCAN_CHUNK }) as AsyncIterable<Buffer>) {
    const first = chunk.indexOf(10);
    if (first === -1) {
      open += chunk.length;
      continue;
    }
    longest = Math.max(longest, open + first);
    open = chunk.length - chunk.lastIndexOf(10) - 1;
  }
  return Math.max(longest, open);
}

/**
 * NDJSON through read_json_objects: one row per non-blank line in file order (insertion order is
 * kept), NULL when malformed. A line longer than MAX_NDJSON_RECORD_BYTES is an `oversized` record,
 * not the end of the run. DuckDB reads a BOM as part of the first line, so a file that starts with
 * one has its first line, read here without it, stand in for DuckDB's.
 */
async function ndjsonRelation(path: string): Promise<string> {
  const longest = await longestLongLine(path);
  if (longest > MAX_LINE_BYTES) {
    throw new ShadowdiffError(
      'SD_INPUT_UNREADABLE',
      `cannot read ${path}: it holds a line of ${longest} bytes; lines over ${MAX_LINE_BYTES} bytes cannot be read`,
    );
  }
  const objectSize = Math.max(MAX_NDJSON_RECORD_BYTES, longest) + SCAN_CHUNK;
  const reader = `read_json_objects(${literal(path)}, format = 'newline_delimited', ignore_errors = true,
    maximum_object_size = ${objectSize})`;
  const rows = (json: string) => `CASE WHEN strlen(${json}) <= ${MAX_NDJSON_RECORD_BYTES} THEN ${json} END AS doc,
    CASE WHEN strlen(${json}) > ${MAX_NDJSON_RECORD_BYTES} THEN 'oversized' END AS reason`;
  const first = await lineAfterBom(path);
  if (first === undefined) return `(SELECT ${rows('json::VARCHAR')} FROM ${reader})`;
  if (first === null) {
    return `(SELECT CASE WHEN ordinality > 1 THEN json::VARCHAR END AS doc,
      CASE WHEN ordinality = 1 THEN 'oversized' END AS reason FROM ${reader} WITH ORDINALITY)`;
  }
  const line = literal(first);
  // A line of only a BOM is blank, as file-lines.ts counts lines.
  return `(SELECT ${rows('j')} FROM (
      SELECT CASE WHEN ordinality = 1 THEN CASE WHEN json_valid(${line}) THEN ${line} END ELSE json::VARCHAR END AS j, ordinality
      FROM ${reader} WITH ORDINALITY)
    WHERE ordinality > 1 OR ${first.trim() === '' ? 'false' : 'true'})`;
}

/**
 * Typed rows (CSV, Parquet) are copied into a table first: its rowid keeps the file order, and
 * `to_json` of a table row holds exactly the file's columns.
 */
async function materialize(connection: DuckDBConnection, file: FileSide, reader: string): Promise<string> {
  const table = identifier(`sd_file_${file.side}`);
  try {
    await connection.run(`CREATE OR REPLACE TABLE ${table} AS SELECT * FROM ${reader}`);
  } catch (cause) {
    throw new ShadowdiffError('SD_INPUT_UNREADABLE', `cannot read ${file.path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return `(SELECT to_json(${table})::VARCHAR AS doc, CAST(NULL AS VARCHAR) AS reason FROM ${table})`;
}

/** Reads the first record so that an unreadable file fails here, with its path, not deep in the diff. */
async function probe(connection: DuckDBConnection, path: string, relation: string): Promise<void> {
  try {
    await connection.run(`SELECT * FROM ${relation} LIMIT 1`);
  } catch (cause) {
    throw new ShadowdiffError('SD_INPUT_UNREADABLE', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}

async function loadAvroFile(connection: DuckDBConnection, path: string, table: string): Promise<void> {
  const file = await openAvroFile(path);
  await connection.run(`CREATE OR REPLACE TABLE ${table} (doc VARCHAR, reason VARCHAR)`);
  async function* rows() {
    for await (const record of file.records()) yield { doc: record.json, reason: record.reason };
  }
  await appendDocs(connection, table, rows());
}

function locator(file: FileSide): SideInput['locate'] {
  return async (positions) => {
    const located = new Map<number, { label: string; raw?: string }>();
    if (file.format === 'json') {
      const lines = await findRecordLines(file.path, positions);
      for (const position of positions) {
        const found = lines.get(position);
        located.set(position, found ? { label: `${file.path}:${found.line}`, raw: found.text } : { label: file.path });
      }
    } else {
      // CSV rows start after the header line; Parquet and Avro files have records, not lines.
      const label = (p: number) => (file.format === 'csv' ? `${file.path}:${p + 1}` : `${file.path}#${p}`);
      for (const position of positions) located.set(position, { label: label(position) });
    }
    return located;
  };
}
