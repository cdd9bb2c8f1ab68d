import { readChunks } from './file-set.js';

const OPEN_BRACE = 0x7b;
const CHUNK = 1024 * 1024;
const JSON_SPACE_AROUND = /^[ \t\r\n]+|[ \t\r\n]+$/g;

/** What a walk over an NDJSON file's records looks for: `take` gets each wanted record and says whether to go on. */
interface RecordVisitor {
  wants(ordinal: number): boolean;
  take(ordinal: number, line: number, text: string): boolean;
}

/**
 * Walks the lines of an NDJSON file, counting records as DuckDB's NDJSON reader does (the n-th
 * non-blank line), and hands the visitor the text and line number of each record it wants. A line
 * that starts with `{` is a record without being decoded; a record's text is decoded only when
 * wanted: no allocation per line, so the walk costs little more than reading the file.
 */
async function walkRecords(path: string, visitor: RecordVisitor): Promise<void> {
  let line = 0;
  let ordinal = 0;
  let pending: Buffer[] = [];
  // The general case: a line across chunks, the first line (a BOM), or one not starting with `{`.
  const finishLine = (tail: Buffer): boolean => {
    const bytes = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
    pending = [];
    // A UTF-8 BOM starts the file, not its first record.
    const text = line === 1 ? bytes.toString('utf8').replace(/^\uFEFF/, '') : bytes.toString('utf8');
    if (text.trim() === '') return true;
    ordinal++;
    return !visitor.wants(ordinal) || visitor.take(ordinal, line, text.replace(/\r$/, ''));
  };
  for await (const chunk of readChunks(path, CHUNK)) {
    let start = 0;
    for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
      line++;
      let more = true;
      if (pending.length === 0 && line > 1 && chunk[start] === OPEN_BRACE) {
        ordinal++;
        if (visitor.wants(ordinal)) {
          more = visitor.take(ordinal, line, chunk.toString('utf8', start, end).replace(/\r$/, ''));
        }
      } else {
        more = finishLine(chunk.subarray(start, end));
      }
      start = end + 1;
      if (!more) return;
    }
    // A copy: the next chunk reuses this one's memory.
    if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
  }
  if (pending.some((part) => part.length > 0)) {
    line++;
    finishLine(Buffer.alloc(0));
  }
}

/**
 * Maps record ordinals (the n-th non-blank line, as DuckDB's NDJSON reader counts them) to line
 * numbers and raw text. Built lazily and only for the few records a report shows.
 */
export async function findRecordLines(
  path: string,
  ordinals: readonly number[],
): Promise<Map<number, { line: number; text: string }>> {
  const wanted = new Set(ordinals);
  const found = new Map<number, { line: number; text: string }>();
  if (wanted.size === 0) return found;
  const last = Math.max(...wanted);
  await walkRecords(path, {
    wants: (ordinal) => wanted.has(ordinal),
    take: (ordinal, line, text) => {
      if (wanted.has(ordinal)) found.set(ordinal, { line, text });
      return ordinal < last;
    },
  });
  return found;
}

/**
 * The raw texts of the records at `ordinals` (ascending), in one pass over the file that stops
 * after the last; `onText` gets each as it is found, so the texts need not all be held at once.
 */
export async function readRecordTexts(
  path: string,
  ordinals: readonly number[],
  onText: (ordinal: number, text: string) => void,
): Promise<void> {
  let at = 0;
  if (ordinals.length === 0) return;
  await walkRecords(path, {
    wants: (ordinal) => ordinal >= (ordinals[at] as number),
    take: (ordinal, _line, text) => {
      // Without the whitespace around the object, as DuckDB's reader gives a record's text.
      onText(ordinal, text.replace(JSON_SPACE_AROUND, ''));
      while (at < ordinals.length && (ordinals[at] as number) <= ordinal) at++;
      return at < ordinals.length;
    },
  });
}
