import avsc, { type Type } from 'avsc';
import { SAFE_LONG } from './avro-long.js';

/**
 * Avro logical types decoded to the JSON values the Parquet path gives for the same data (DuckDB's
 * `to_json` text), so an Avro export compares equal to a Parquet or NDJSON export of the same
 * records, and a writer that changes a decimal's scale or a timestamp's unit changes no value:
 *
 * - `decimal` (bytes or fixed): a JSON number with every digit of the scale (`123.4500`);
 * - `timestamp-millis|micros|nanos`: an instant, `2024-01-02 03:04:05.123+00` (UTC);
 * - `local-timestamp-*`: the same without the zone; `date`: `2024-01-02`; `time-*`: `03:04:05.5`;
 * - `uuid` (string or fixed 16): the lower-case hyphenated text.
 *
 * Fractions of a second drop their trailing zeros, and years before 1 are written `0001-01-01 (BC)`,
 * as DuckDB does. These types only decode: written values are taken as the underlying type's.
 */

/** JSON number text embedded as is by JSON.stringify (Node ≥ 21), so no digit is lost. */
export const jsonNumber = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** True for a value made by {@link jsonNumber}. */
export const isJsonNumber = (JSON as unknown as { isRawJSON(value: unknown): boolean }).isRawJSON;

/** The text of an unscaled big-endian two's-complement integer with `scale` digits after the point. */
export function decimalText(unscaled: Buffer, scale: number): string {
  let value = 0n;
  for (const byte of unscaled) value = (value << 8n) | BigInt(byte);
  if (unscaled.length > 0 && (unscaled[0] as number) >= 0x80) value -= 1n << BigInt(unscaled.length * 8);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Civil date of a day count since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm). */
export function dateText(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  // DuckDB writes year 0 as 1 BC, year −1 as 2 BC, and so on.
  return year > 0 ? `${pad(year, 4)}-${pad(month)}-${pad(day)}` : `${pad(1 - year, 4)}-${pad(month)}-${pad(day)} (BC)`;
}

/** `HH:MM:SS[.fraction]` of `ticks` since midnight, `digits` fraction digits per second, trailing zeros dropped. */
function clockText(ticks: bigint, digits: number): string {
  const perSecond = 10n ** BigInt(digits);
  const seconds = Number(ticks / perSecond);
  const fraction = (ticks % perSecond).toString().padStart(digits, '0').replace(/0+$/, '');
  const clock = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
  return fraction === '' ? clock : `${clock}.${fraction}`;
}

const DIGITS = { millis: 3, micros: 6, nanos: 9 } as const;
type Unit = keyof typeof DIGITS;

/** DuckDB's text of an epoch count in `unit`; instants (`timestamp-*`) end in `+00`. */
export function timestampText(value: number | bigint, unit: Unit, instant: boolean): string {
  const ticks = BigInt(value);
  const perDay = 86_400n * 10n ** BigInt(DIGITS[unit]);
  let days = ticks / perDay;
  let rest = ticks % perDay;
  if (rest < 0n) {
    days -= 1n;
    rest += perDay;
  }
  const date = dateText(Number(days));
  // DuckDB puts the era mark after the date and before the clock.
  return `${date} ${clockText(rest, DIGITS[unit])}${instant ? '+00' : ''}`;
}

/** A time of day, or the plain number when it lies outside one day (not a valid time-*). */
export function timeText(value: number | bigint, unit: Unit): unknown {
  const ticks = BigInt(value);
  if (ticks < 0n || ticks >= 86_400n * 10n ** BigInt(DIGITS[unit])) return jsonNumber(String(value));
  return clockText(ticks, DIGITS[unit]);
}

function uuidText(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

type Schema = Record<string, unknown>;

/** A decode-only logical type: `fromValue` maps the underlying value; writes take underlying values. */
function logicalType(
  accepts: (schema: Schema, underlying: Type) => boolean,
  fromValue: (value: never, schema: Schema) => unknown,
): typeof avsc.types.LogicalType {
  return class extends avsc.types.LogicalType {
    readonly #schema: Schema;
    constructor(schema: Schema, opts?: unknown) {
      super(schema as never, opts as never);
      // A logical type that does not fit its underlying type is ignored, as the Avro spec says:
      // avsc then reads the underlying type.
      if (!accepts(schema, this.underlyingType)) throw new Error(`invalid ${String(schema.logicalType)}`);
      // avsc builds the underlying long of `{"type": "long", ...}` itself; the exact one replaces it.
      if (this.underlyingType.typeName === 'long')
        (this as unknown as { _underlyingType: Type })._underlyingType = SAFE_LONG;
      this.#schema = schema;
    }
    override _fromValue(value: unknown): unknown {
      return fromValue(value as never, this.#schema);
    }
    override _toValue(value: unknown): unknown {
      return value;
    }
    override _resolve(): undefined {
      return undefined;
    }
  } as unknown as typeof avsc.types.LogicalType;
}

const isLong = (_: Schema, type: Type) => type.typeName === 'long';
const isInt = (_: Schema, type: Type) => type.typeName === 'int';

function timestamp(unit: Unit, instant: boolean) {
  return logicalType(isLong, (value: number | bigint) => timestampText(value, unit, instant));
}

function validDecimal(schema: Schema, type: Type): boolean {
  const { precision, scale = 0 } = schema;
  const shaped = type.typeName === 'bytes' || type.typeName === 'fixed';
  return (
    shaped &&
    Number.isInteger(precision) &&
    Number.isInteger(scale) &&
    (precision as number) > 0 &&
    (scale as number) >= 0 &&
    (scale as number) <= (precision as number)
  );
}

/** Logical types whose underlying type is a long. */
export const LONG_LOGICAL_TYPES: ReadonlySet<string> = new Set([
  'timestamp-millis',
  'timestamp-micros',
  'timestamp-nanos',
  'local-timestamp-millis',
  'local-timestamp-micros',
  'local-timestamp-nanos',
  'time-micros',
]);

/** The logical types shadowdiff decodes, for avsc's `logicalTypes` option. */
export const LOGICAL_TYPES: Record<string, typeof avsc.types.LogicalType> = {
  decimal: logicalType(validDecimal, (value: Buffer, schema) =>
    jsonNumber(decimalText(value, (schema.scale as number | undefined) ?? 0)),
  ),
  'timestamp-millis': timestamp('millis', true),
  'timestamp-micros': timestamp('micros', true),
  'timestamp-nanos': timestamp('nanos', true),
  'local-timestamp-millis': timestamp('millis', false),
  'local-timestamp-micros': timestamp('micros', false),
  'local-timestamp-nanos': timestamp('nanos', false),
  date: logicalType(isInt, (value: number) => dateText(value)),
  'time-millis': logicalType(isInt, (value: number) => timeText(value, 'millis')),
  'time-micros': logicalType(isLong, (value: number | bigint) => timeText(value, 'micros')),
  uuid: logicalType(
    (_, type) =>
      type.typeName === 'string' || (type.typeName === 'fixed' && (type as avsc.types.FixedType).size === 16),
    (value: string | Buffer) => (typeof value === 'string' ? value : uuidText(value)),
  ),
};
