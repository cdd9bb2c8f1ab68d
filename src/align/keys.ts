const TWO_POW_64 = 2n ** 64n;

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
