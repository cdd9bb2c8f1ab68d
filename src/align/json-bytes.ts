// Byte-level reading of JSON text for the key reader (`key-reader.ts`): characters, strings,
// numbers and words, and the canonical text of a number as `diff/key-sql.ts` writes it.

export const SPACE = 0x20;
export const QUOTE = 0x22;
export const COMMA = 0x2c;
export const MINUS = 0x2d;
const DOT = 0x2e;
export const ZERO = 0x30;
const NINE = 0x39;
export const COLON = 0x3a;
export const OPEN_ARRAY = 0x5b;
const BACKSLASH = 0x5c;
export const CLOSE_ARRAY = 0x5d;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
/** As `PLAIN_DIGITS` in `diff/key-sql.ts`: longer numbers take a form this reader does not write. */
export const PLAIN_DIGITS = 1000;
const isDigit = (c: number | undefined) => c !== undefined && c >= ZERO && c <= NINE;

function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * A number's text as `canonicalNumber` in `diff/key-sql.ts` writes it: exact decimal, no exponent,
 * no trailing zeros of a fraction, `-0` as `0`.
 */
export function canonicalNumber(text: string): string | undefined {
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  if (!m) return undefined;
  const [, sign = '', whole = '', fraction = '', exponent] = m;
  const digits = (whole + fraction).replace(/^0+/, '');
  const significant = digits.replace(/0+$/, '');
  if (significant === '') return '0';
  const e = (exponent === undefined ? 0 : Number(exponent)) - fraction.length + digits.length - significant.length;
  if (!Number.isSafeInteger(e)) return undefined;
  const n = significant.length;
  if (e >= 0 && n + e <= PLAIN_DIGITS) return sign + significant + '0'.repeat(e);
  if (e < 0 && -e < n) return `${sign}${significant.slice(0, n + e)}.${significant.slice(n + e)}`;
  if (e < 0 && -e <= PLAIN_DIGITS) return `${sign}0.${'0'.repeat(-e - n)}${significant}`;
  return `${sign}${significant}e${e}`;
}

/** The UTF-16 unit of the `\uXXXX` escape at `at`, or -1. */
function escapedUnit(b: Buffer, at: number): number {
  let unit = 0;
  for (let j = 2; j < 6; j++) {
    const digit = hexDigit(b[at + j]);
    if (digit < 0) return -1;
    unit = unit * 16 + digit;
  }
  return unit;
}

/**
 * Reads a string from its opening quote at `i`: twice the index after its closing quote, plus 1
 * when it holds escapes; -1 for a raw control character, a bad escape or a lone surrogate (which
 * DuckDB rejects too).
 */
export function stringEnd(b: Buffer, i: number): number {
  const n = b.length;
  let escaped = 0;
  for (i++; i < n; ) {
    const c = b[i] as number;
    if (c === QUOTE) return (i + 1) * 2 + escaped;
    if (c === BACKSLASH) {
      escaped = 1;
      const e = b[i + 1];
      if (e !== 0x75) {
        // \" \\ \/ \b \f \n \r \t
        if (
          e !== QUOTE &&
          e !== BACKSLASH &&
          e !== 0x2f &&
          e !== 0x62 &&
          e !== 0x66 &&
          e !== 0x6e &&
          e !== 0x72 &&
          e !== 0x74
        )
          return -1;
        i += 2;
        continue;
      }
      const unit = escapedUnit(b, i);
      if (unit < 0 || (unit >= 0xdc00 && unit <= 0xdfff)) return -1;
      i += 6;
      if (unit >= 0xd800 && unit <= 0xdbff) {
        const low = b[i] === BACKSLASH && b[i + 1] === 0x75 ? escapedUnit(b, i) : -1;
        if (low < 0xdc00 || low > 0xdfff) return -1;
        i += 6;
      }
      continue;
    }
    if (c < SPACE) return -1;
    i++;
  }
  return -1;
}

/** Reads a number by JSON's grammar from `i`: twice the index after it, plus 1 for a fraction or an exponent; -1 if none. */
export function numberEnd(b: Buffer, i: number): number {
  let decimal = 0;
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === DOT) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
    decimal = 1;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === MINUS) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
    decimal = 1;
  }
  return i * 2 + decimal;
}

export function isWord(b: Buffer, i: number, word: Buffer): boolean {
  for (let j = 0; j < word.length; j++) if (b[i + j] !== word[j]) return false;
  return true;
}
export const TRUE_WORD = Buffer.from('true');
export const FALSE_WORD = Buffer.from('false');
export const NULL_WORD = Buffer.from('null');
