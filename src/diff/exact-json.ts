/**
 * JSON values with their numbers exactly as written. `JSON.parse` rounds every number to a double,
 * so `9007199254740993` and `…992`, or `1e400` and `2e400` (both Infinity), would compare equal. The
 * reviver sees each number's source text (Node 24): a number whose double prints back as its text
 * stays a plain number (most do); any other becomes `JSON.rawJSON(text)`, which `JSON.stringify`
 * writes back verbatim, so samples and reports show it as written.
 */

/** A number kept as its JSON text (`JSON.rawJSON`). */
export interface RawNumber {
  readonly rawJSON: string;
}

interface RawJsonApi {
  rawJSON(text: string): RawNumber;
  isRawJSON(value: unknown): value is RawNumber;
}

const json = JSON as unknown as JSON & RawJsonApi;

function keepNumber(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || context?.source === undefined) return value;
  return String(value) === context.source ? value : json.rawJSON(context.source);
}

/**
 * A NaN or infinity token: DuckDB reads them (and trailing commas) in JSON text, JSON.parse does
 * not. A number to the comparison, equal only to the same token; `"NaN"` in samples.
 */
export class NonFinite {
  constructor(readonly token: 'NaN' | 'Infinity' | '-Infinity') {}
  toJSON(): string {
    return this.token;
  }
}

// Stands for a token in the rewritten text; the nonce keeps a string of the data from posing as one.
const NONCE = `\u0000${Math.random().toString(36).slice(2)}:`;
const LAX_TOKENS = /"(?:[^"\\]|\\.)*"|([-+]?)(nan|inf(?:inity)?)(?![a-z0-9])|,(?=\s*[\]}])/gi;

function nonFiniteToken(sign: string, name: string): NonFinite['token'] {
  if (name.toLowerCase() === 'nan') return 'NaN';
  return sign === '-' ? '-Infinity' : 'Infinity';
}

/** Rewrites what DuckDB reads and JSON has not: non-finite tokens to marked strings, trailing commas away. */
function strictText(text: string): string {
  return text.replace(LAX_TOKENS, (match: string, sign: string | undefined, name: string | undefined) => {
    if (name !== undefined) return JSON.stringify(`${NONCE}${nonFiniteToken(sign ?? '', name)}`);
    return match.startsWith('"') ? match : '';
  });
}

function keepLaxValue(key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'string' && value.startsWith(NONCE))
    return new NonFinite(value.slice(NONCE.length) as NonFinite['token']);
  return keepNumber(key, value, context);
}

/**
 * Where a number's double may not print back as written: an exponent, 16 or more digits (with a
 * point among them), a fraction ending in 0, `-0`, or six zeros after a point (below 1e-6 a double
 * prints with an exponent). Each but the last must end where a JSON number ends (before `,`, `]`,
 * `}` or the end of the text): a string such as `"o-0-0"` or `"…:58.820Z"` sent every record of a
 * stream to the slower parse. A string ending like such a number still matches, which only costs
 * the slower parse.
 */
const INEXACT_NUMBER =
  /\d[eE][-+]?\d+\s*(?:[,\]}]|$)|\d(?:\.?\d){15}[\d.]*\s*(?:[,\]}]|$)|\.\d*0\s*(?:[,\]}]|$)|-0\s*(?:[,\]}]|$)|\.0{6}/;

/** Whether `text` may hold a number that `JSON.parse` does not keep as written (`INEXACT_NUMBER`). */
export function mayHoldInexactNumber(text: string): boolean {
  return INEXACT_NUMBER.test(text);
}

/**
 * Parses JSON text as DuckDB read it, keeping every number exact. Never throws: text that is not
 * even that comes back as the string it is (DuckDB parsed it, so this is a last resort).
 */
export function parseExact(text: string): unknown {
  try {
    // Where every number prints back as written, the reviver would keep each as it is: it costs
    // three times the parse (a call and a source text per value), so it runs only where needed.
    if (!mayHoldInexactNumber(text)) return JSON.parse(text);
    return JSON.parse(text, keepNumber as (key: string, value: unknown) => unknown);
  } catch {
    try {
      return JSON.parse(strictText(text), keepLaxValue as (key: string, value: unknown) => unknown);
    } catch {
      return text;
    }
  }
}

export function isRawNumber(value: unknown): value is RawNumber {
  return value !== null && typeof value === 'object' && json.isRawJSON(value);
}

/** A number kept as written, or a non-finite token: a JSON leaf held in an object. */
export function isNumberLeaf(value: unknown): value is RawNumber | NonFinite {
  return value instanceof NonFinite || isRawNumber(value);
}

/** A JSON number as `digits × 10^exponent` with its sign: digits without leading or trailing zeros ("" for 0). */
export interface Decimal {
  negative: boolean;
  digits: string;
  exponent: bigint;
}

const NUMBER_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** The exact decimal value of a number (a plain one or a raw JSON number); undefined for anything else. */
export function decimalOf(value: unknown): Decimal | undefined {
  let text: string;
  if (typeof value === 'number') text = Number.isFinite(value) ? String(value) : '';
  else if (isRawNumber(value)) text = value.rawJSON;
  else return undefined;
  const match = NUMBER_TEXT.exec(text);
  if (!match) return undefined;
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  const all = `${whole}${fraction}`;
  let start = 0;
  while (start < all.length && all.charCodeAt(start) === 48) start++;
  let end = all.length;
  while (end > start && all.charCodeAt(end - 1) === 48) end--;
  if (start === end) return { negative: false, digits: '', exponent: 0n };
  return {
    negative: sign === '-',
    digits: all.slice(start, end),
    exponent: BigInt(exponent) - BigInt(fraction.length) + BigInt(all.length - end),
  };
}

/** Same numeric value: exact decimals, or the same non-finite token. */
export function sameNumber(a: unknown, b: unknown): boolean {
  if (a instanceof NonFinite || b instanceof NonFinite) {
    return a instanceof NonFinite && b instanceof NonFinite && a.token === b.token;
  }
  const x = decimalOf(a);
  const y = decimalOf(b);
  return x !== undefined && y !== undefined && decimalsEqual(x, y);
}

export function decimalsEqual(a: Decimal, b: Decimal): boolean {
  return a.negative === b.negative && a.digits === b.digits && a.exponent === b.exponent;
}

/** One text per value (`1.50` and `15e-1` alike): `-15e-1`. */
export function decimalText(d: Decimal): string {
  return d.digits === '' ? '0' : `${d.negative ? '-' : ''}${d.digits}e${d.exponent}`;
}

/** Digits kept below the largest term of a tolerance check: rounding beyond them only ever errs towards "different". */
const PRECISION = 200;

/** 10^order is just above |d|: |d| lies in [10^(order-1), 10^order). */
const orderOf = (d: Decimal) => BigInt(d.digits.length) + d.exponent;

/** floor or ceil of |d| / 10^scale, for |d| < 10^(scale + PRECISION + 1). */
function scaled(d: Decimal, scale: bigint, up: boolean): bigint {
  if (d.digits === '') return 0n;
  if (orderOf(d) <= scale) return up ? 1n : 0n;
  const shift = d.exponent - scale;
  if (shift >= 0n) return BigInt(d.digits) * 10n ** shift;
  const keep = d.digits.length + Number(shift);
  const whole = BigInt(d.digits.slice(0, keep));
  // Digits never end in 0, so a cut always drops a non-zero remainder.
  return up ? whole + 1n : whole;
}

/** |d| rounded down to at most `limit` significant digits. */
function truncated(d: Decimal, limit: number): Decimal {
  if (d.digits.length <= limit) return { ...d, negative: false };
  const digits = d.digits.slice(0, limit).replace(/0+$/, '');
  return { negative: false, digits, exponent: d.exponent + BigInt(d.digits.length - digits.length) };
}

function product(a: Decimal, b: Decimal): Decimal {
  if (a.digits === '' || b.digits === '') return { negative: false, digits: '', exponent: 0n };
  const digits = (BigInt(a.digits) * BigInt(b.digits)).toString();
  const trimmed = digits.replace(/0+$/, '');
  return {
    negative: false,
    digits: trimmed,
    exponent: a.exponent + b.exponent + BigInt(digits.length - trimmed.length),
  };
}

/**
 * `|a - b| <= abs + rel * |a|` in decimal arithmetic: exact while the terms span at most PRECISION
 * digits, and beyond that with |a - b| rounded up and the tolerance rounded down, so a rounding
 * never makes two numbers equal. Never through doubles: 2^60 and 2^60 + 1 differ by 1.
 */
export function withinTolerance(a: Decimal, b: Decimal, abs: number, rel: number): boolean {
  if (abs === Number.POSITIVE_INFINITY || (rel === Number.POSITIVE_INFINITY && a.digits !== '')) return true;
  const absD = decimalOf(abs) as Decimal;
  const relA = product(decimalOf(rel) as Decimal, truncated(a, PRECISION + 20));
  const terms = [a, b, absD, relA].filter((d) => d.digits !== '');
  if (terms.length === 0) return true;
  let top = orderOf(terms[0] as Decimal);
  let low = (terms[0] as Decimal).exponent;
  for (const d of terms) {
    if (orderOf(d) > top) top = orderOf(d);
    if (d.exponent < low) low = d.exponent;
  }
  const scale = low > top - BigInt(PRECISION) ? low : top - BigInt(PRECISION);
  const interval = (d: Decimal): [bigint, bigint] => {
    const lo = scaled(d, scale, false);
    const hi = scaled(d, scale, true);
    return d.negative ? [-hi, -lo] : [lo, hi];
  };
  const [aLo, aHi] = interval(a);
  const [bLo, bHi] = interval(b);
  const magnitude = (x: bigint) => (x < 0n ? -x : x);
  let gapHi = magnitude(aHi - bLo);
  const otherGap = magnitude(aLo - bHi);
  if (otherGap > gapHi) gapHi = otherGap;
  const toleranceLo = scaled(absD, scale, false) + scaled(relA, scale, false);
  return gapHi <= toleranceLo;
}
