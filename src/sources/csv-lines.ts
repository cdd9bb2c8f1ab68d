import { openText } from './file-set.js';

/** The quoting of a CSV file, as DuckDB's sniffer found it. */
export interface CsvQuoting {
  quote: string;
  escape: string;
}

/**
 * Maps record ordinals (1 = the first record after the header; blank lines are no records, as
 * DuckDB reads them) to the line each record starts on. A quoted field may hold newlines, so a
 * record's line is found by following the quotes, not by counting lines. Built only for the few
 * records a report shows.
 */
export async function findCsvRecordLines(
  path: string,
  ordinals: readonly number[],
  quoting: CsvQuoting,
): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  if (ordinals.length === 0) return found;
  const wanted = new Set(ordinals);
  const last = Math.max(...wanted);
  const quoteByte = quoting.quote === '' ? -1 : quoting.quote.charCodeAt(0);
  const escapeByte = quoting.escape === '' ? -1 : quoting.escape.charCodeAt(0);

  let line = 1;
  let ordinal = -1; // the header is record 0
  let recordLine = 1;
  let empty = true; // nothing but the line end seen since the record began
  let quoted = false;
  let quoteSeen = false; // a quote inside quotes: the end of the field, or the first of a doubled quote
  let escaped = false; // the byte after an escape that differs from the quote
  const endRecord = () => {
    if (!empty) {
      ordinal++;
      if (wanted.has(ordinal)) found.set(ordinal, recordLine);
    }
    empty = true;
  };

  for await (const chunk of openText(path) as AsyncIterable<Buffer>) {
    for (const byte of chunk) {
      if (byte === 10) line++;
      if (quoted) {
        if (escaped) escaped = false;
        else if (quoteSeen) {
          quoteSeen = false;
          if (byte !== quoteByte) quoted = false; // the quote closed the field: this byte is outside
        } else if (byte === escapeByte && escapeByte !== quoteByte) escaped = true;
        else if (byte === quoteByte) quoteSeen = true;
        if (quoted) continue;
      }
      if (byte === 10) {
        endRecord();
        if (ordinal >= last) return found;
      } else if (byte !== 13) {
        if (empty) recordLine = line;
        empty = false;
        if (byte === quoteByte) quoted = true;
      }
    }
  }
  endRecord();
  return found;
}
