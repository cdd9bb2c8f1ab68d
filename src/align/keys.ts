import { createHash } from 'node:crypto';

/** Joins the parts of a composite key; U+001F (unit separator) never occurs in ordinary key values. */
export const KEY_PART_SEPARATOR = '\u001f';

/**
 * The string form of one key part: strings as they are, numbers and booleans as JSON text.
 * Undefined for null, absent, objects and arrays: such a record has no usable key.
 */
export function keyPart(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : undefined;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

/** The canonical key of a record from the values of its key fields; undefined when any part is unusable. */
export function canonicalKey(values: readonly unknown[]): string | undefined {
  const parts: string[] = [];
  for (const value of values) {
    const part = keyPart(value);
    if (part === undefined) return undefined;
    parts.push(part);
  }
  return parts.join(KEY_PART_SEPARATOR);
}

/**
 * Stable 64-bit hash of a canonical key: the first 8 bytes of its MD5, little-endian. MD5 is the same
 * everywhere and forever, and DuckDB computes the same number with `md5_number_upper(key)`, so batch
 * (SQL) and streaming (JS) sample exactly the same keys.
 */
export function keyHash(key: string): bigint {
  return createHash('md5').update(key, 'utf8').digest().readBigUInt64LE(0);
}

const TWO_POW_64 = 2n ** 64n;

/** Keys whose hash is below this are sampled; undefined means every key is (rate 1). */
export function samplingThreshold(rate: number): bigint | undefined {
  if (rate >= 1) return undefined;
  // Scale through a 2^32 fraction so the threshold is exact and identical in SQL and JS.
  return (BigInt(Math.floor(rate * 2 ** 32)) * TWO_POW_64) / 2n ** 32n;
}

export function isSampled(key: string, threshold: bigint | undefined): boolean {
  return threshold === undefined || keyHash(key) < threshold;
}
