import { access, constants } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openAvroFile } from '../codec/avro-file.js';
import type { Side } from '../config/schema.js';
import type { SideInput } from '../diff/engine.js';
import { identifier, literal } from '../diff/sql.js';
import { ShadowdiffError } from '../errors.js';
import { appendDocs } from '../store/append.js';
import { queryRows } from '../store/duckdb.js';
import { type CsvQuoting, findCsvRecordLines } from './csv-lines.js';
import { findRecordLines, readRecordTexts } from './file-lines.js';
import { expandInput, type FileFormat, type InputFile, openText, readChunks } from './file-set.js';
import { type Column, csvRowJson, parquetRowJson } from './row-json.js';

export { type FileFormat, formatFromPath } from './file-set.js';

/** One side's input: a file, a folder or a glob of files of one format (from the extensions when absent). */
export interface FileSide {
  side: Side;
  path: string;
  format?: FileFormat | undefined;
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
 * Turns each side's input into a side input of the diff engine: a relation of `(doc, reason)` in
 * file order that DuckDB reads in parallel. NDJSON lines that are not valid JSON become NULL docs
 * (counted invalid); blank lines are not records. CSV and Parquet rows become JSON text in DuckDB
 * (`row-json.ts`); Avro files are decoded in JS and appended to a table. A folder or glob is the
 * union of its files in path order, each record tagged with its file (`part`) so that a position
 * still names a file and a line or row.
 */
export async function loadFiles(
  connection: DuckDBConnection,
  sides: FileSide[],
  csv: CsvOptions = { emptyQuotedIsString: false },
): Promise<SideInput[]> {
  const expanded: InputFile[][] = [];
  for (const side of sides) {
    const files = await expandInput(side.path, side.format);
    for (const file of files) await ensureReadable(file.path);
    expanded.push(files);
  }
  const inputs: SideInput[] = [];
  for (const [index, side] of sides.entries()) {
    const files = expanded[index] as InputFile[];
    const parts: { relation: string; locate: PartLocator }[] = [];
    for (const [part, file] of files.entries()) {
      const table = `sd_file_${side.side}${files.length > 1 ? `_${part}` : ''}`;
      const relation = withPartitions(await fileRelation(connection, file, table, csv), file.partitions);
      await probe(connection, file.path, relation);
      const quoting = file.format === 'csv' ? await csvQuoting(connection, file.path) : undefined;
      parts.push({ relation, locate: locator(file, quoting) });
    }
    const [only] = parts;
    const [file] = files;
    if (parts.length === 1 && only && file) {
      // A single NDJSON file's records are its non-blank lines, as they are written (no partition members added).
      const plain = file.format === 'json' && file.partitions.length === 0;
      inputs.push({
        side: side.side,
        relation: only.relation,
        locate: (positions) => only.locate(positions),
        ...(plain ? { readTexts: (positions, onText) => readRecordTexts(file.path, positions, onText) } : {}),
      });
      continue;
    }
    // UNION ALL keeps its inputs' order in DuckDB's insertion-ordered reads: positions follow the files.
    const relation = `(${parts.map((p, i) => `SELECT doc, reason, ${i} AS part FROM ${p.relation}`).join(' UNION ALL ')})`;
    inputs.push({ side: side.side, relation, parts: true, locate: partsLocator(parts.map((p) => p.locate)) });
  }
  return inputs;
}

async function fileRelation(
  connection: DuckDBConnection,
  file: InputFile,
  table: string,
  csv: CsvOptions,
): Promise<string> {
  const source = literal(file.path);
  switch (file.format) {
    case 'json':
      return ndjsonRelation(file.path);
    case 'csv': {
      // Every field is read as text, each file on its own: see csvRowJson.
      const reader = `read_csv(${source}, header = true, all_varchar = true, hive_partitioning = false, allow_quoted_nulls = ${!csv.emptyQuotedIsString})`;
      return materialize(connection, file, table, reader, (_, columns) => csvRowJson(columns));
    }
    case 'parquet':
      return materialize(connection, file, table, `read_parquet(${source}, hive_partitioning = false)`, parquetRowJson);
    case 'avro':
      await loadAvroFile(connection, file.path, table);
      return `(SELECT doc, reason FROM ${identifier(table)})`;
    default:
      throw new ShadowdiffError('SD_INPUT_FORMAT', `unknown format ${file.format satisfies never}`);
  }
}

/**
 * A file's partition folders (`dt=2026-12-01`) as string members in front of each record's own, so
 * keys and rules can name them; a member of the same name in the record itself comes later and wins.
 */
function withPartitions(relation: string, partitions: readonly [string, string][]): string {
  if (partitions.length === 0) return relation;
  const members = literal(
    partitions.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`).join(','),
  );
  return `(SELECT CASE WHEN starts_with(doc, '{') THEN '{' || ${members}
      || CASE WHEN starts_with(ltrim(doc[2:]), '}') THEN '' ELSE ',' END || doc[2:] ELSE doc END AS doc, reason
    FROM ${relation})`;
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
  const parts: Buffer[] = [];
  let length = 0;
  const stream = openText(path, 64 * 1024);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (length === 0 && parts.length === 0 && !chunk.subarray(0, 3).equals(BOM)) return undefined;
      const end = chunk.indexOf(10);
      parts.push(end === -1 ? chunk : chunk.subarray(0, end));
      length += end === -1 ? chunk.length : end;
      if (length > MAX_NDJSON_RECORD_BYTES + BOM.length) return null;
      if (end !== -1) break;
    }
  } finally {
    stream.destroy();
  }
  if (parts.length === 0) return undefined;
  return Buffer.concat(parts).subarray(BOM.length).toString('utf8').replace(/\r$/, '');
}

/**
 * The length of the file's longest line if it is longer than SCAN_CHUNK, else at most SCAN_CHUNK:
 * two native searches per chunk, so the pass costs little more than reading the file.
 */
async function longestLongLine(path: string): Promise<number> {
  let longest = 0;
  let open = 0;
  for await (const chunk of readChunks(path, SCAN_CHUNK)) {
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
  file: InputFile,
  name: string,
  reader: string,
  rowJson: (table: string, columns: Column[]) => string,
): Promise<string> {
  const table = identifier(name);
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

type PartLocator = (positions: number[]) => Promise<Map<number, { label: string; raw?: string }>>;

function locator(file: InputFile, quoting: CsvQuoting | undefined): PartLocator {
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

/**
 * Locates positions of a side read from several files: a position falls in the last file whose
 * first position is not after it (files without records have none), and is located there by its
 * ordinal within that file.
 */
function partsLocator(parts: PartLocator[]): SideInput['locate'] {
  return async (positions, partStarts = new Map()) => {
    const starts = [...partStarts].sort((a, b) => a[1] - b[1]);
    const byPart = new Map<number, { position: number; ordinal: number }[]>();
    for (const position of positions) {
      const found = starts.findLast(([, first]) => first <= position);
      if (!found) continue;
      const [part, first] = found;
      byPart.set(part, [...(byPart.get(part) ?? []), { position, ordinal: position - first + 1 }]);
    }
    const located = new Map<number, { label: string; raw?: string }>();
    for (const [part, wanted] of byPart) {
      const inPart = await (parts[part] as PartLocator)(wanted.map((w) => w.ordinal));
      for (const { position, ordinal } of wanted) {
        const found = inPart.get(ordinal);
        if (found) located.set(position, found);
      }
    }
    return located;
  };
}
