import type { ComparisonConfig } from '../config/schema.js';

const TWO_POW_64 = 2n ** 64n;

/** `key: ["$kafkaKey"]` keys records by their Kafka record key. */
export const KAFKA_KEY = '$kafkaKey';

/**
 * Whether a record's key can be read where the source runs (to sample or key it there): not when
 * a scope on a field or a key range decides first, in DuckDB (a record outside it is out of scope
 * whatever its key), nor when a `$` name stands beside others (only `["$kafkaKey"]` alone is the
 * Kafka key; such a name is no member path).
 */
export function keyReadAtSource({ key, scope }: Pick<ComparisonConfig, 'key' | 'scope'>): boolean {
  if (scope?.field !== undefined || scope?.keyRange !== undefined) return false;
  return !(key.length > 1 && key.some((path) => path.startsWith('$')));
}

/**
 * Keys whose stable 64-bit hash is below this are sampled (SPEC §3); undefined means every key is
 * (rate 1). The hash is the first 8 bytes of the MD5 of the canonical key, little-endian, which
 * DuckDB computes as `md5_number_upper(key)`: the same everywhere and forever, so every side,
 * batch and streaming alike, samples the same keys.
 */
export function samplingThreshold(rate: number): bigint | undefined {
  if (rate >= 1) return undefined;
  // Scale through a 2^32 fraction so the threshold is exact.
  return (BigInt(Math.floor(rate * 2 ** 32)) * TWO_POW_64) / 2n ** 32n;
}

/**
 * Marks a key part that is a number or a boolean in the canonical key (`diff/key-sql.ts`), so it
 * never equals a string part; a string part that starts with it gets one more. Sampling hashes the
 * key without the marks.
 */
export const KEY_TAG = '\u001d';
const KEY_PART_SEPARATOR = '\u001f';

/** A canonical key as shown in samples and messages: without the marks. */
export function keyLabel(key: string): string {
  if (!key.includes(KEY_TAG)) return key;
  return key
    .split(KEY_PART_SEPARATOR)
    .map((part) => (part.startsWith(KEY_TAG) ? part.slice(1) : part))
    .join(KEY_PART_SEPARATOR);
}
