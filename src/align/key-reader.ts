import { MAX_DEPTH } from '../diff/sql.js';
import { KEY_TAG } from './keys.js';

/**
 * Reads a record's canonical key from its JSON text (UTF-8) as DuckDB's `keyExpression`
 * (`diff/key-sql.ts`) reads it, without building the record: one pass checks that the text is one
 * well-formed JSON object and keeps only where the key members' values stand. Measured on records
 * of 100–300 bytes, a third of the cost of `JSON.parse` (which also needs the text as a string).
 * Wherever DuckDB's reading is not certain to be the same (a text DuckDB alone accepts: trailing
 * commas, `NaN`; numbers past a double's range), the answer is "unsure".
 */

const NONE = 0;
const STRING = 1;
/** A string holding escapes: unquoted by JSON.parse. */
const ESCAPED = 2;
const INTEGER = 3;
/** A number with a fraction or an exponent: DuckDB reads it as a double. */
const DECIMAL = 4;
const TRUE = 5;
const FALSE = 6;
/** null, an object or an array: no key. */
const UNUSABLE = 7;
const FAIL = -1;

const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const BACKSLASH = 0x5c;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** Deeper texts are left to DuckDB, which counts those past MAX_DEPTH invalid (`too_deep`). */
const MAX_NESTING = MAX_DEPTH - 1;
/** As `PLAIN_DIGITS` in `diff/key-sql.ts`: longer numbers take a form this reader does not write. */
const PLAIN_DIGITS = 1000;
const PART_SEPARATOR = '\u001f';

/** A member on the way to key parts: its name, the parts its value is, and the members read inside it. */
interface Member {
  name: Buffer;
  text: string;
  parts: number[];
  members: Member[];
  /** Every part at or below it: reset when the member appears again (the last one wins). */
  below: number[];
}

function memberTree(paths: readonly (readonly string[])[]): Member[] {
  const root: Member[] = [];
  paths.forEach((segments, part) => {
    let level = root;
    segments.forEach((text, depth) => {
      let member = level.find((m) => m.text === text);
      if (!member) {
        member = { name: Buffer.from(text), text, parts: [], members: [], below: [] };
        level.push(member);
      }
      member.below.push(part);
      if (depth === segments.length - 1) member.parts.push(part);
      level = member.members;
    });
  });
  return root;
}

const isDigit = (c: number | undefined) => c !== undefined && c >= ZERO && c <= NINE;
const isSpace = (c: number | undefined) => c === SPACE || c === 0x0a || c === 0x0d || c === 0x09;

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

export class KeyReader {
  readonly #tree: Member[];
  readonly #asText: boolean;
  readonly #kinds: Int8Array;
  readonly #starts: Int32Array;
  readonly #ends: Int32Array;
  #b: Buffer = Buffer.alloc(0);
  #i = 0;

  /** `paths`: each key part's member names (`customer.id` is `['customer', 'id']`). */
  constructor(paths: readonly (readonly string[])[], asText: boolean) {
    this.#tree = memberTree(paths);
    this.#asText = asText;
    this.#kinds = new Int8Array(paths.length);
    this.#starts = new Int32Array(paths.length);
    this.#ends = new Int32Array(paths.length);
  }

  /**
   * The canonical key (with its tags, as DuckDB's `k`) of a JSON text, or undefined when the text
   * is not one well-formed JSON object, a part is missing, null, an object or an array, or the
   * reading is unsure.
   */
  read(text: Buffer): string | undefined {
    this.#kinds.fill(NONE);
    this.#b = text;
    let i = 0;
    // DuckDB drops a byte order mark, then takes a text whose first non-space is `{` (ltrim trims spaces only).
    if (text[0] === 0xef && text[1] === 0xbb && text[2] === 0xbf) i = 3;
    while (text[i] === SPACE) i++;
    if (text[i] !== OPEN_OBJECT) return undefined;
    this.#i = i + 1;
    if (!this.#object(this.#tree, 1)) return undefined;
    this.#space();
    if (this.#i !== text.length) return undefined;
    let key = '';
    for (let part = 0; part < this.#kinds.length; part++) {
      const text = this.#part(part);
      if (text === undefined) return undefined;
      key = part === 0 ? text : key + PART_SEPARATOR + text;
    }
    return key;
  }

  #part(part: number): string | undefined {
    const b = this.#b;
    const start = this.#starts[part] as number;
    const end = this.#ends[part] as number;
    const tagged = (text: string) => (this.#asText ? text : KEY_TAG + text);
    switch (this.#kinds[part]) {
      case STRING:
        // Unescaped, a string cannot hold U+001D (a control character): it never needs the extra tag.
        return b.toString('utf8', start + 1, end - 1);
      case ESCAPED: {
        const text = JSON.parse(b.toString('utf8', start, end)) as string;
        return !this.#asText && text.startsWith(KEY_TAG) ? KEY_TAG + text : text;
      }
      case INTEGER: {
        // DuckDB keeps an integer's text (past 64 bits too), but reads `-0` as 0.
        const text = b.toString('latin1', start, end);
        if (text.length > PLAIN_DIGITS) return undefined;
        return tagged(text === '-0' ? '0' : text);
      }
      case DECIMAL: {
        // DuckDB reads it as a double and writes that double's shortest text, as JS does; past a
        // double's range it keeps the text, which this reader leaves to DuckDB.
        const value = Number(b.toString('latin1', start, end));
        if (!Number.isFinite(value)) return undefined;
        const text = canonicalNumber(String(value));
        return text === undefined ? undefined : tagged(text);
      }
      case TRUE:
        return tagged('true');
      case FALSE:
        return tagged('false');
      default:
        return undefined;
    }
  }

  #space(): void {
    const b = this.#b;
    let i = this.#i;
    while (isSpace(b[i])) i++;
    this.#i = i;
  }

  /** Reads an object's members from after its `{`, keeping the spans of `members`' values. */
  #object(members: Member[], depth: number): boolean {
    const b = this.#b;
    this.#space();
    if (b[this.#i] === CLOSE_OBJECT) {
      this.#i++;
      return true;
    }
    for (;;) {
      if (b[this.#i] !== QUOTE) return false;
      const nameStart = this.#i;
      const escaped = this.#string();
      if (escaped === FAIL) return false;
      const member = members.length > 0 ? this.#match(members, nameStart, escaped === ESCAPED) : undefined;
      this.#space();
      if (b[this.#i] !== COLON) return false;
      this.#i++;
      this.#space();
      if (member) {
        for (const part of member.below) this.#kinds[part] = NONE;
        const start = this.#i;
        let kind: number;
        if (member.members.length > 0 && b[start] === OPEN_OBJECT) {
          if (depth >= MAX_NESTING) return false;
          this.#i++;
          if (!this.#object(member.members, depth + 1)) return false;
          kind = UNUSABLE;
        } else {
          kind = this.#value(depth);
          if (kind === FAIL) return false;
        }
        for (const part of member.parts) {
          this.#kinds[part] = kind;
          this.#starts[part] = start;
          this.#ends[part] = this.#i;
        }
      } else if (this.#value(depth) === FAIL) return false;
      this.#space();
      const next = b[this.#i++];
      if (next === CLOSE_OBJECT) return true;
      if (next !== COMMA) return false;
      this.#space();
    }
  }

  #match(members: Member[], nameStart: number, escaped: boolean): Member | undefined {
    const b = this.#b;
    const start = nameStart + 1;
    const length = this.#i - 1 - start;
    if (escaped) {
      const name = JSON.parse(b.toString('utf8', nameStart, this.#i)) as string;
      return members.find((member) => member.text === name);
    }
    search: for (const member of members) {
      const name = member.name;
      if (name.length !== length) continue;
      for (let j = 0; j < length; j++) if (name[j] !== b[start + j]) continue search;
      return member;
    }
    return undefined;
  }

  /** Reads one value; its kind, or FAIL. */
  #value(depth: number): number {
    const b = this.#b;
    const c = b[this.#i];
    switch (c) {
      case QUOTE:
        return this.#string();
      case OPEN_OBJECT:
        if (depth >= MAX_NESTING) return FAIL;
        this.#i++;
        return this.#object([], depth + 1) ? UNUSABLE : FAIL;
      case OPEN_ARRAY:
        if (depth >= MAX_NESTING) return FAIL;
        this.#i++;
        return this.#array(depth + 1) ? UNUSABLE : FAIL;
      case 0x74:
        return this.#literal('true') ? TRUE : FAIL;
      case 0x66:
        return this.#literal('false') ? FALSE : FAIL;
      case 0x6e:
        return this.#literal('null') ? UNUSABLE : FAIL;
      default:
        return c === MINUS || isDigit(c) ? this.#number() : FAIL;
    }
  }

  #array(depth: number): boolean {
    const b = this.#b;
    this.#space();
    if (b[this.#i] === CLOSE_ARRAY) {
      this.#i++;
      return true;
    }
    for (;;) {
      if (this.#value(depth) === FAIL) return false;
      this.#space();
      const next = b[this.#i++];
      if (next === CLOSE_ARRAY) return true;
      if (next !== COMMA) return false;
      this.#space();
    }
  }

  #literal(word: string): boolean {
    const b = this.#b;
    for (let j = 0; j < word.length; j++) if (b[this.#i + j] !== word.charCodeAt(j)) return false;
    this.#i += word.length;
    return true;
  }

  /** A number by JSON's grammar: INTEGER, DECIMAL or FAIL. */
  #number(): number {
    const b = this.#b;
    let i = this.#i;
    let kind = INTEGER;
    if (b[i] === MINUS) i++;
    if (b[i] === ZERO) i++;
    else if (isDigit(b[i])) while (isDigit(b[i])) i++;
    else return FAIL;
    if (b[i] === DOT) {
      i++;
      if (!isDigit(b[i])) return FAIL;
      while (isDigit(b[i])) i++;
      kind = DECIMAL;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === MINUS) i++;
      if (!isDigit(b[i])) return FAIL;
      while (isDigit(b[i])) i++;
      kind = DECIMAL;
    }
    this.#i = i;
    return kind;
  }

  /**
   * Reads a string from its opening quote: STRING, ESCAPED or FAIL (a raw control character, a
   * bad escape or a lone surrogate, which DuckDB rejects too).
   */
  #string(): number {
    const b = this.#b;
    const end = b.length;
    let i = this.#i + 1;
    let kind = STRING;
    while (i < end) {
      const c = b[i] as number;
      if (c === QUOTE) {
        this.#i = i + 1;
        return kind;
      }
      if (c < SPACE) return FAIL;
      if (c !== BACKSLASH) {
        i++;
        continue;
      }
      kind = ESCAPED;
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
          return FAIL;
        i += 2;
        continue;
      }
      const unit = this.#unit(i);
      if (unit < 0 || (unit >= 0xdc00 && unit <= 0xdfff)) return FAIL;
      i += 6;
      if (unit >= 0xd800 && unit <= 0xdbff) {
        const low = b[i] === BACKSLASH && b[i + 1] === 0x75 ? this.#unit(i) : -1;
        if (low < 0xdc00 || low > 0xdfff) return FAIL;
        i += 6;
      }
    }
    return FAIL;
  }

  /** The UTF-16 unit of the `\uXXXX` escape at `at`, or -1. */
  #unit(at: number): number {
    const b = this.#b;
    let unit = 0;
    for (let j = 2; j < 6; j++) {
      const digit = hexDigit(b[at + j]);
      if (digit < 0) return -1;
      unit = unit * 16 + digit;
    }
    return unit;
  }
}
