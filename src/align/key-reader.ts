import { MAX_DEPTH } from '../diff/sql.js';
import { isoMillis } from './iso-time.js';
import {
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COLON,
  COMMA,
  canonicalNumber,
  FALSE_WORD,
  isWord,
  MINUS,
  NULL_WORD,
  numberEnd,
  OPEN_ARRAY,
  OPEN_OBJECT,
  PLAIN_DIGITS,
  QUOTE,
  SPACE,
  stringEnd,
  TRUE_WORD,
  ZERO,
} from './json-bytes.js';
import { KEY_TAG } from './keys.js';

/**
 * Reads a record's canonical key from its JSON text (UTF-8) as DuckDB's `keyExpression`
 * (`diff/key-sql.ts`) reads it, without building the record: one pass checks that the text is one
 * well-formed JSON object and keeps only where the key members' values stand. On 250-byte records
 * it takes less than half the CPU of `JSON.parse(buf.toString())` (1.8 µs against 4.0 µs on a busy
 * 2-core machine; 0.9 against 1.5 µs at 75 bytes).
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

/** Where the scan stands: after `{`, after `,` in an object, before a value, after `[`, after a value. */
const MEMBER_OR_CLOSE = 0;
const MEMBER = 1;
const VALUE = 2;
const ELEMENT_OR_CLOSE = 3;
const AFTER_VALUE = 4;
const NO_MEMBERS: Member[] = [];

/** Deeper texts are left to DuckDB, which counts those past MAX_DEPTH invalid (`too_deep`). */
const MAX_NESTING = MAX_DEPTH - 1;
const PART_SEPARATOR = '\u001f';
/** Epoch integers up to this many characters are read here: well inside a BIGINT in any unit. */
const EPOCH_DIGITS = 16;
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

/** The member of `members` named by the string from `start` (its quote) to `end` (after its quote). */
function match(members: Member[], b: Buffer, start: number, end: number, escaped: boolean): Member | undefined {
  if (escaped) {
    const name = JSON.parse(b.toString('utf8', start, end)) as string;
    return members.find((member) => member.text === name);
  }
  const length = end - start - 2;
  search: for (const member of members) {
    const name = member.name;
    if (name.length !== length) continue;
    for (let j = 0; j < length; j++) if (name[j] !== b[start + 1 + j]) continue search;
    return member;
  }
  return undefined;
}

export class KeyReader {
  readonly #tree: Member[];
  readonly #asText: boolean;
  /** Key parts come first; an event-time leaf, when read, is the part after them. */
  readonly #keyParts: number;
  readonly #kinds: Int8Array;
  readonly #starts: Int32Array;
  readonly #ends: Int32Array;
  /** Per open container: the members looked for in it (an object), or null (an array). */
  readonly #frames: (Member[] | null)[] = [];

  /**
   * `paths`: each key part's member names (`customer.id` is `['customer', 'id']`); `timePath`: the
   * event time's, when `keyAndTime` reads it too.
   */
  constructor(paths: readonly (readonly string[])[], asText: boolean, timePath?: readonly string[]) {
    const leaves = timePath ? [...paths, timePath] : paths;
    this.#tree = memberTree(leaves);
    this.#asText = asText;
    this.#keyParts = paths.length;
    this.#kinds = new Int8Array(leaves.length);
    this.#starts = new Int32Array(leaves.length);
    this.#ends = new Int32Array(leaves.length);
  }

  /**
   * The canonical key (with its tags, as DuckDB's `k`) of a JSON text, or undefined when the text
   * is not one well-formed JSON object, a part is missing, null, an object or an array, or the
   * reading is unsure.
   */
  read(text: Buffer): string | undefined {
    return this.#scan(text) ? this.#key(text, !this.#asText) : undefined;
  }

  /**
   * What sampling hashes: the canonical key without its tags (`sampledExpression`), or undefined
   * as `read`. A lone unescaped string, or integer, is its bytes as they stand in the text: no
   * string is made.
   */
  hashed(text: Buffer): Buffer | string | undefined {
    if (!this.#scan(text)) return undefined;
    if (this.#keyParts === 1) {
      const start = this.#starts[0] as number;
      const end = this.#ends[0] as number;
      if (this.#kinds[0] === STRING) return text.subarray(start + 1, end - 1);
      // `-0` is 0, and very long integers take another form.
      const plain =
        end - start <= PLAIN_DIGITS && !(end - start === 2 && text[start] === MINUS && text[start + 1] === ZERO);
      if (this.#kinds[0] === INTEGER && plain) return text.subarray(start, end);
    }
    return this.#key(text, false);
  }

  /**
   * The canonical key (as `read`) and the event time in ms of the time leaf (as DuckDB's
   * `eventTimeExpression`), or undefined when either is missing or unusable, or the reading unsure.
   * Only epoch integers and ISO-8601 texts with a UTC offset are read here; other spellings are
   * left to DuckDB.
   */
  keyAndTime(text: Buffer, unitMs: number): { key: string; eventTime: number } | undefined {
    if (!this.#scan(text)) return undefined;
    const key = this.#key(text, !this.#asText);
    if (key === undefined) return undefined;
    const part = this.#keyParts;
    const start = this.#starts[part] as number;
    const end = this.#ends[part] as number;
    let eventTime: number | undefined;
    if (this.#kinds[part] === INTEGER) {
      // Parsed to a double as DuckDB does (both round correctly); longer texts are left to it.
      // `+ 0`: -0 is 0.
      if (end - start <= EPOCH_DIGITS) eventTime = Math.floor(Number(text.toString('latin1', start, end)) * unitMs) + 0;
    } else if (this.#kinds[part] === STRING) {
      eventTime = isoMillis(text, start + 1, end - 1);
    }
    return eventTime === undefined ? undefined : { key, eventTime };
  }

  #key(b: Buffer, tags: boolean): string | undefined {
    let key = '';
    for (let part = 0; part < this.#keyParts; part++) {
      const value = this.#part(b, part, tags);
      if (value === undefined) return undefined;
      key = part === 0 ? value : key + PART_SEPARATOR + value;
    }
    return key;
  }

  /**
   * Checks the text is one JSON object (as DuckDB takes it) and notes where each key part's value
   * stands. One loop over the text, not a call per value: half the cost.
   */
  #scan(b: Buffer): boolean {
    const kinds = this.#kinds;
    kinds.fill(NONE);
    const starts = this.#starts;
    const ends = this.#ends;
    const frames = this.#frames;
    const n = b.length;
    let i = 0;
    // DuckDB drops a byte order mark, then takes a text whose first non-space is `{` (ltrim trims spaces only).
    if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) i = 3;
    while (b[i] === SPACE) i++;
    if (b[i] !== OPEN_OBJECT) return false;
    i++;
    let depth = 1;
    let members: Member[] | null = this.#tree;
    frames[0] = members;
    let state = MEMBER_OR_CLOSE;
    /** The member whose value comes next. */
    let pending: Member | undefined;
    for (;;) {
      let c = b[i];
      while (c === SPACE || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
      if (state === VALUE || (state === ELEMENT_OR_CLOSE && c !== CLOSE_ARRAY)) {
        const start = i;
        let kind: number;
        if (c === QUOTE) {
          const end = stringEnd(b, i);
          if (end < 0) return false;
          i = end >> 1;
          kind = end & 1 ? ESCAPED : STRING;
        } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
          if (depth >= MAX_NESTING) return false;
          let inner: Member[] | null = null;
          if (c === OPEN_OBJECT) inner = pending && pending.members.length > 0 ? pending.members : NO_MEMBERS;
          if (pending) for (const part of pending.parts) kinds[part] = UNUSABLE;
          frames[depth++] = inner;
          members = inner;
          pending = undefined;
          i++;
          state = inner ? MEMBER_OR_CLOSE : ELEMENT_OR_CLOSE;
          continue;
        } else if (c === 0x74) {
          if (!isWord(b, i, TRUE_WORD)) return false;
          i += 4;
          kind = TRUE;
        } else if (c === 0x66) {
          if (!isWord(b, i, FALSE_WORD)) return false;
          i += 5;
          kind = FALSE;
        } else if (c === 0x6e) {
          if (!isWord(b, i, NULL_WORD)) return false;
          i += 4;
          kind = UNUSABLE;
        } else {
          const end = numberEnd(b, i);
          if (end < 0) return false;
          i = end >> 1;
          kind = end & 1 ? DECIMAL : INTEGER;
        }
        if (pending) {
          for (const part of pending.parts) {
            kinds[part] = kind;
            starts[part] = start;
            ends[part] = i;
          }
          pending = undefined;
        }
        state = AFTER_VALUE;
        continue;
      }
      if (state === MEMBER || (state === MEMBER_OR_CLOSE && c !== CLOSE_OBJECT)) {
        if (c !== QUOTE) return false;
        const end = stringEnd(b, i);
        if (end < 0) return false;
        const objectMembers = members as Member[];
        if (objectMembers.length > 0) {
          pending = match(objectMembers, b, i, end >> 1, (end & 1) === 1);
          // The last member of a name wins: what an earlier one gave is forgotten.
          if (pending) for (const part of pending.below) kinds[part] = NONE;
        }
        i = end >> 1;
        c = b[i];
        while (c === SPACE || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
        if (c !== COLON) return false;
        i++;
        state = VALUE;
        continue;
      }
      // After a value, or at the close of an empty container.
      if (state === AFTER_VALUE && c === COMMA) {
        i++;
        state = members ? MEMBER : VALUE;
        continue;
      }
      if (c !== (members ? CLOSE_OBJECT : CLOSE_ARRAY)) return false;
      i++;
      if (--depth === 0) break;
      members = frames[depth - 1] as Member[] | null;
      state = AFTER_VALUE;
    }
    let c = b[i];
    while (c === SPACE || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    return i === n;
  }

  /** One part's canonical text; `tags`: with the tags of the canonical key, else as it is hashed. */
  #part(b: Buffer, part: number, tags: boolean): string | undefined {
    const start = this.#starts[part] as number;
    const end = this.#ends[part] as number;
    const tagged = (text: string) => (tags ? KEY_TAG + text : text);
    switch (this.#kinds[part]) {
      case STRING:
        // Unescaped, a string cannot hold U+001D (a control character): it never needs the extra tag.
        return b.toString('utf8', start + 1, end - 1);
      case ESCAPED: {
        const text = JSON.parse(b.toString('utf8', start, end)) as string;
        if (tags) return text.startsWith(KEY_TAG) ? KEY_TAG + text : text;
        // Untagging also takes a U+001D after each U+001F out, in strings too: such a rare key is left to DuckDB.
        return !this.#asText && text.includes(`${PART_SEPARATOR}${KEY_TAG}`) ? undefined : text;
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
}
