import { openText } from './file-set.js';

const OPEN_BRACE = 0x7b;
const CHUNK = 1024 * 1024;
const JSON_SPACE_AROUND = /^[ \t\r\n]+|[ \t\r\n]+$/g;

/**
 * Walks the lines of an NDJSON file, counting records as DuckDB's NDJSON reader does (the n-th
 * non-blank line), and hands `visit` each record's ordinal and line number, with a way to decode
 * its text; `visit` returns false to stop. Only lines that do not start with `{` are decoded to
 * tell whether they are blank: a record's text is decoded only when asked for.
 */
async function walkRecords(
  path: string,
  visit: (ordinal: number, line: number, text: () => string) => boolean,
): Promise<void> {
  let line = 0;
  let ordinal = 0;
  let pending: Buffer[] = [];
  const decode = (bytes: Buffer) => () => bytes.toString('utf8').replace(/\r$/, '');
  const finishLine = (tail: Buffer): boolean => {
    line++;
    if (pending.length === 0 && line > 1 && tail[0] === OPEN_BRACE) {
      ordinal++;
      return visit(ordinal, line, decode(tail));
    }
    const bytes = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
    pending = [];
    // A UTF-8 BOM starts the file, not its first record.
    const text = line === 1 ? bytes.toString('utf8').replace(/^\uFEFF/, '') : bytes.toString('utf8');
    if (text.trim() === '') return true;
    ordinal++;
    return visit(ordinal, line, () => text.replace(/\r$/, ''));
  };
  for await (const chunk of openText(path, CHUNK) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, start)) {
      const more = finishLine(chunk.subarray(start, index));
      start = index + 1;
      if (!more) return;
    }
    // A copy: the stream may reuse the chunk's memory.
    if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
  }
  if (pending.some((part) => part.length > 0)) finishLine(Buffer.alloc(0));
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
  await walkRecords(path, (ordinal, line, text) => {
    if (wanted.has(ordinal)) found.set(ordinal, { line, text: text() });
    return ordinal < last;
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
  await walkRecords(path, (ordinal, _line, text) => {
    if (ordinal < (ordinals[at] as number)) return true;
    // Without the whitespace around the object, as DuckDB's reader gives a record's text.
    onText(ordinal, text().replace(JSON_SPACE_AROUND, ''));
    while (at < ordinals.length && (ordinals[at] as number) <= ordinal) at++;
    return at < ordinals.length;
  });
}
