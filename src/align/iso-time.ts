/**
 * Reads an ISO-8601 time with a UTC offset (`2026-12-03T10:11:12.123Z`, `…+05:30`), as services
 * write event times, straight from a record's UTF-8 bytes: a regular expression and `Date.UTC`
 * cost ten times as much per record.
 */

const DASH = 0x2d;
const PLUS = 0x2b;
const COLON = 0x3a;
const DOT = 0x2e;
const T = 0x54;
const Z = 0x5a;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MS_PER_DAY = 86_400_000;

/** The number the `n` ASCII digits from `at` spell, or -1 when one is no digit. */
function digits(b: Uint8Array, at: number, n: number): number {
  let value = 0;
  for (let i = at; i < at + n; i++) {
    const d = (b[i] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
}

/**
 * Milliseconds since the epoch of the time spelled by bytes [start, end), as DuckDB's
 * `epoch_ms(TRY_CAST(text AS TIMESTAMPTZ))` gives them (fractions past the millisecond truncated),
 * or undefined when the text is not of that form, names no real time, or lies before 1970 (where
 * truncating and flooring differ): DuckDB then decides.
 */
export function isoMillis(b: Uint8Array, start: number, end: number): number | undefined {
  if (end - start < 20 || end - start > 32) return undefined;
  if (b[start + 4] !== DASH || b[start + 7] !== DASH || b[start + 10] !== T) return undefined;
  if (b[start + 13] !== COLON || b[start + 16] !== COLON) return undefined;
  const year = digits(b, start, 4);
  const month = digits(b, start + 5, 2);
  const day = digits(b, start + 8, 2);
  const hour = digits(b, start + 11, 2);
  const minute = digits(b, start + 14, 2);
  const second = digits(b, start + 17, 2);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return undefined;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || day > daysInMonth(year, month)) return undefined;
  let i = start + 19;
  let fraction = 0;
  if (b[i] === DOT) {
    const from = ++i;
    while (i < end && (b[i] as number) >= 0x30 && (b[i] as number) <= 0x39) i++;
    const n = i - from;
    if (n < 1 || n > 6) return undefined;
    fraction = Math.floor((digits(b, from, n) * 10 ** (6 - n)) / 1000);
  }
  let offset = 0;
  if (i === end - 6 && (b[i] === PLUS || b[i] === DASH) && b[i + 3] === COLON) {
    const hours = digits(b, i + 1, 2);
    const minutes = digits(b, i + 4, 2);
    if (hours < 0 || minutes < 0 || minutes > 59 || hours * 60 + minutes > 15 * 60) return undefined;
    offset = (b[i] === DASH ? -1 : 1) * (hours * 60 + minutes) * 60_000;
  } else if (i !== end - 1 || b[i] !== Z) return undefined;
  const ms =
    daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + fraction - offset;
  return ms >= 0 ? ms : undefined;
}
