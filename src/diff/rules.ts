import type { CompareConfig } from '../config/schema.js';
import { exactPathMatcher, subtreeMatcher } from './paths.js';

export interface NumericTolerance {
  abs: number;
  rel: number;
}

/** Compare rules of SPEC §2, compiled once per comparison into fast lookups by canonical path. */
export interface CompareRules {
  isIgnored(path: string): boolean;
  isUnordered(path: string): boolean;
  isTimestamp(path: string): boolean;
  numericTolerance(path: string): NumericTolerance;
  readonly timestampToleranceMs: number;
  readonly nullEqualsMissing: boolean;
  /** True when every number comparison is exact, so equal JSON text implies equal numbers. */
  readonly exactNumbers: boolean;
}

export function compileRules(compare: CompareConfig): CompareRules {
  const overrides = Object.entries(compare.numeric.fields).map(([glob, tolerance]) => ({
    matches: exactPathMatcher([glob]),
    tolerance: { abs: tolerance.abs ?? compare.numeric.abs, rel: tolerance.rel ?? compare.numeric.rel },
  }));
  const fallback = { abs: compare.numeric.abs, rel: compare.numeric.rel };
  const cache = new Map<string, NumericTolerance>();
  const exactNumbers =
    fallback.abs === 0 && fallback.rel === 0 && overrides.every((o) => o.tolerance.abs === 0 && o.tolerance.rel === 0);
  return {
    isIgnored: subtreeMatcher(compare.ignore),
    isUnordered: exactPathMatcher(compare.unorderedArrays),
    isTimestamp: exactPathMatcher(compare.timestamps.paths),
    timestampToleranceMs: compare.timestamps.toleranceMs,
    nullEqualsMissing: compare.nullEqualsMissing,
    exactNumbers,
    numericTolerance(path) {
      let found = cache.get(path);
      if (!found) {
        found = overrides.find((o) => o.matches(path))?.tolerance ?? fallback;
        cache.set(path, found);
      }
      return found;
    },
  };
}
