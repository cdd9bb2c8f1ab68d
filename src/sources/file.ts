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
import { type CsvQuoting, findCsvRecordLines } from './csv-lines.js';
import { findRecordLines } from './file-lines.js';
import { type Column, csvRowJson, parquetRowJson } from './row-json.js';

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

/** How CSV fields are read (`csv:` of a comparison). */
export interface CsvOptions {
  /**
   * `""` is an empty string and only an empty unquoted field is null, as PostgreSQL's
   * `COPY ... CSV` writes them. Off by default: most writers (pandas, spreadsheets) do not mark
   * the difference, and one that quotes every field would turn each null into a string.
   */
  emptyQuotedIsString: boolean;
}

/** The quote and escape DuckDB's sniffer finds in a CSV file, to locate its records by line. */
async function csvQuoting(connection: DuckDBConnection, path: string): Promise<CsvQuoting> {
  const [found] = await queryRows<{ Quote: string; Escape: string }>(
    connection,
    `SELECT Quote, Escape FROM sniff_csv(${literal(path)})`,
  );
  const sniffed = (value: string | undefined) => (value === undefined || value === '(empty)' ? '' : value);
  return { quote: sniffed(found?.Quote), escape: sniffed(found?.Escape) };
}

/**
 * Turns each file into a side input of the diff engine: a relation of `(doc, reason)` in file
 * order that DuckDB reads in parallel. NDJSON lines that are not valid JSON become NULL docs (counted
 * invalid); blank lines are not records. CSV and Parquet rows become JSON text in DuckDB
 * (`row-json.ts`); Avro files are decoded in JS and appended to a table.
 */
export async function loadFiles(
  connection: DuckDBConnection,
  files: FileSide[],
  csv: CsvOptions = { emptyQuotedIsString: false },
): Promise<SideInput[]> {
  for (const file of files) await ensureReadable(file.path);
  const inputs: SideInput[] = [];
  for (const file of files) {
    const source = literal(file.path);
    let relation: string;
    switch (file.format) {
      case 'json':
        relation = await ndjsonRelation(file.path);
        break;
      case 'csv': {
        // Every field is read as text, each file on its own: see csvRowJson.
        const reader = `read_csv(${source}, header = true, all_varchar = true, allow_quoted_nulls = ${!csv.emptyQuotedIsString})`;
        relation = await materialize(connection, file, reader, (_, columns) => csvRowJson(columns));
        break;
      }
      case 'parquet':
        relation = await materialize(connection, file, `read_parquet(${source})`, parquetRowJson);
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
    const quoting = file.format === 'csv' ? await csvQuoting(connection, file.path) : undefined;
    inputs.push({ side: file.side, relation, locate: locator(file, quoting) });
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
 * its columns are exactly the file's, from which `rowJson` builds the JSON text of a row.
 */
async function materialize(
  connection: DuckDBConnection,
  file: FileSide,
  reader: string,
  rowJson: (table: string, columns: Column[]) => string,
): Promise<string> {
  const table = identifier(`sd_file_${file.side}`);
  let columns: Column[];
  try {
    await connection.run(`CREATE OR REPLACE TABLE ${table} AS SELECT * FROM ${reader}`);
    columns = (await queryRows<{ column_name: string; column_type: string }>(connection, `DESCRIBE ${table}`)).map(
      (row) => ({ name: row.column_name, type: row.column_type }),
    );
  } catch (cause) {
    throw new ShadowdiffError('SD_INPUT_UNREADABLE', `cannot read ${file.path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return `(SELECT ${rowJson(table, columns)} AS doc, CAST(NULL AS VARCHAR) AS reason FROM ${table})`;
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

function locator(file: FileSide, quoting: CsvQuoting | undefined): SideInput['locate'] {
  return async (positions) => {
    const located = new Map<number, { label: string; raw?: string }>();
    if (quoting) {
      const lines = await findCsvRecordLines(file.path, positions, quoting);
      for (const position of positions) {
        const line = lines.get(position);
        located.set(position, { label: line === undefined ? file.path : `${file.path}:${line}` });
      }
    } else if (file.format === 'json') {
      const lines = await findRecordLines(file.path, positions);
      for (const position of positions) {
        const found = lines.get(position);
        located.set(position, found ? { label: `${file.path}:${found.line}`, raw: found.text } : { label: file.path });
      }
    } else {
      // Parquet and Avro files have records, not lines.
      for (const position of positions) located.set(position, { label: `${file.path}#${position}` });
    }
    return located;
  };
}
