import avsc from 'avsc';

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_LONG = -(1n << 63n);
const MAX_LONG = (1n << 63n) - 1n;

/** A long as decoded: a number when it is exact as a double, a bigint beyond ±(2^53 − 1). */
export type AvroLong = number | bigint;

function isLong(value: unknown): value is AvroLong {
  if (typeof value === 'number') return Number.isSafeInteger(value);
  return typeof value === 'bigint' && value >= MIN_LONG && value <= MAX_LONG;
}

/** Reads the zig-zag varint avsc hands over when the long type is built with `noUnpack`. */
function fromVarint(buf: Buffer): AvroLong {
  // Up to 7 bytes carry at most 49 payload bits, which doubles hold exactly: the common case
  // stays on plain number arithmetic.
  if (buf.length <= 7) {
    let zigzag = 0;
    let scale = 1;
    for (const byte of buf) {
      zigzag += (byte & 0x7f) * scale;
      scale *= 128;
    }
    return zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2;
  }
  if (buf.length > 10) throw new Error(`invalid long: ${buf.length}-byte varint`);
  let zigzag = 0n;
  let shift = 0n;
  for (const byte of buf) {
    zigzag |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
  }
  if (zigzag >> 64n !== 0n) throw new Error('invalid long: more than 64 bits');
  const value = (zigzag >> 1n) ^ -(zigzag & 1n);
  return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
}

function toVarint(value: AvroLong): Buffer {
  const big = BigInt(value);
  let zigzag = big >= 0n ? big << 1n : (-big << 1n) - 1n;
  const bytes: number[] = [];
  while (zigzag > 0x7fn) {
    bytes.push(Number(zigzag & 0x7fn) | 0x80);
    zigzag >>= 7n;
  }
  bytes.push(Number(zigzag));
  return Buffer.from(bytes);
}

function compareLongs(a: AvroLong, b: AvroLong): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * avsc's own long throws on values beyond 2^53 ("potential precision loss"), which would make
 * every record with a 64-bit id or a nanosecond timestamp invalid. This one keeps them exact.
 */
export const SAFE_LONG = avsc.types.LongType.__with(
  {
    fromBuffer: fromVarint,
    toBuffer: toVarint,
    fromJSON: (value: unknown): AvroLong => {
      const parsed = typeof value === 'string' ? BigInt(value) : value;
      if (!isLong(parsed)) throw new Error(`invalid long: ${String(value)}`);
      return typeof parsed === 'bigint' && parsed >= MIN_SAFE && parsed <= MAX_SAFE ? Number(parsed) : parsed;
    },
    toJSON: (value: AvroLong): number | string => (typeof value === 'bigint' ? value.toString() : value),
    isValid: isLong,
    compare: compareLongs,
  },
  true,
);
