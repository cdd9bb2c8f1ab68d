import { openText } from './file-set.js';

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
  let line = 0;
  let ordinal = 0;
  let pending: Buffer[] = [];
  const finishLine = () => {
    line++;
    const bytes = Buffer.concat(pending);
    pending = [];
    // A UTF-8 BOM starts the file, not its first record.
    const text = line === 1 ? bytes.toString('utf8').replace(/^\uFEFF/, '') : bytes.toString('utf8');
    if (text.trim() === '') return;
    ordinal++;
    if (wanted.has(ordinal)) found.set(ordinal, { line, text: text.replace(/\r$/, '') });
  };
  for await (const chunk of openText(path) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, index));
      finishLine();
      start = index + 1;
      if (ordinal >= last) return found;
    }
    pending.push(chunk.subarray(start));
  }
  if (pending.some((part) => part.length > 0)) finishLine();
  return found;
}
