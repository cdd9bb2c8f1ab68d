import type fc from 'fast-check';

/**
 * Every fuzz target runs this many generated inputs per run, from one fixed seed: a CI failure
 * replays on any machine. `FUZZ_SEED=<n>` explores other inputs; fast-check prints the seed, the
 * path and the shrunk counterexample of a failure.
 */
export const FUZZ_RUNS = 10_000;
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261203);

if (!Number.isSafeInteger(FUZZ_SEED)) throw new Error(`FUZZ_SEED must be an integer, got ${process.env.FUZZ_SEED}`);

export function fuzzOptions<T>(numRuns = FUZZ_RUNS): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns, endOnFailure: false };
}
