import { identifier, literal } from '../diff/sql.js';

/** A column of a typed table and DuckDB's name of its type. */
export interface Column {
  name: string;
  type: string;
}

/** A JSON number as JSON writes it: no sign but minus, no leading zeros, no lone point. */
const JSON_NUMBER = '-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?';

/** JSON text of a row from one JSON text per column: the columns in table order, SQL NULL as null. */
function objectText(columns: readonly Column[], value: (column: string) => string): string {
  const members = columns.map(
    ({ name }, i) =>
      `${literal(`${i === 0 ? '{' : ','}${JSON.stringify(name)}:`)}, coalesce(${value(identifier(name))}, 'null')`,
  );
  return `concat(${members.join(', ')}, '}')`;
}

/**
 * JSON text of one CSV row read as text (`all_varchar`): a field spelled as a JSON number is that
 * number with its digits as written (`2.50`, 20 digits), anything else a string. Types are never
 * inferred per column, so `T` and `true`, or two spellings of a date, stay different strings, and
 * a column one file lacks is simply absent from its records.
 */
export function csvRowJson(columns: readonly Column[]): string {
  return objectText(
    columns,
    (c) => `CASE WHEN regexp_full_match(${c}, '${JSON_NUMBER}') THEN ${c} ELSE to_json(${c})::VARCHAR END`,
  );
}

const DECIMAL = /DECIMAL\((\d+),(\d+)\)/g;

/**
 * The JSON text of a Parquet column's value where DuckDB's `to_json` would lose or misspell it;
 * undefined where `to_json` is right. Decimals: `to_json` goes through a double below 19 digits
 * and writes every digit of the scale only for wider ones, so every decimal, also inside structs,
 * lists and maps, is widened to 38 digits first, and written as the Avro path writes it. Times of
 * day: pyarrow writes them adjusted to UTC, which DuckDB marks `+00`; Avro and NDJSON times have no
 * zone. Non-finite floats: `to_json` writes bare `NaN`/`Infinity`, which is not JSON.
 */
function parquetValue(column: string, type: string): string | undefined {
  if (type.match(DECIMAL)) return `to_json(${column}::${type.replace(DECIMAL, 'DECIMAL(38,$2)')})::VARCHAR`;
  if (type === 'TIME WITH TIME ZONE') return `to_json(${column}::TIME)::VARCHAR`;
  if (type === 'FLOAT' || type === 'DOUBLE') {
    return `CASE WHEN isfinite(${column}) THEN to_json(${column})::VARCHAR WHEN isnan(${column}) THEN '"NaN"'
      WHEN ${column} > 0 THEN '"Infinity"' ELSE '"-Infinity"' END`;
  }
  return undefined;
}

/** JSON text of one row of a table read from Parquet (`table` names the row, as in `to_json(t)`). */
export function parquetRowJson(table: string, columns: readonly Column[]): string {
  if (columns.every((column) => parquetValue(column.name, column.type) === undefined)) {
    return `to_json(${table})::VARCHAR`;
  }
  const types = new Map(columns.map((column) => [identifier(column.name), column.type]));
  return objectText(columns, (c) => parquetValue(c, types.get(c) as string) ?? `to_json(${c})::VARCHAR`);
}
