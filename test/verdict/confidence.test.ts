import { describe, expect, it } from 'vitest';
import {
  belowTolerance,
  confidenceSequence,
  exceedsTolerance,
  logGamma,
  logMixtureMartingale,
  mixturePrior,
} from '../../src/verdict/confidence.js';

const relativeError = (actual: number, expected: number) =>
  expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);

describe('logGamma', () => {
  // Reference values from mpmath.loggamma at 30 digits, rounded to doubles.
  const known: [number, number][] = [
    [0.001, 6.907178885383853],
    [0.1, 2.252712651734206],
    [0.5, 0.5723649429247001],
    [1.5, -0.12078223763524522],
    [3.7, 1.4280723266653879],
    [10, 12.801827480081469],
    [100, 359.1342053695754],
    [1000.5, 5908.674175848678],
    [1e6, 12815504.569147611],
    [1e9, 19723265827.503716],
  ];

  it.each(known)('matches ln Γ(%s) to 14 digits', (x, expected) => {
    expect(relativeError(logGamma(x), expected)).toBeLessThan(1e-14);
  });

  it('is zero at 1 and 2', () => {
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-15);
    expect(Math.abs(logGamma(2))).toBeLessThan(1e-15);
  });

  it('agrees with factorials', () => {
    let logFactorial = 0;
    for (let n = 1; n <= 30; n++) {
      logFactorial += Math.log(n);
      expect(relativeError(logGamma(n + 1), logFactorial)).toBeLessThan(1e-14);
    }
  });

  it('rejects arguments outside (0, ∞)', () => {
    expect(() => logGamma(0)).toThrow(RangeError);
    expect(() => logGamma(-1.5)).toThrow(RangeError);
    expect(() => logGamma(Number.NaN)).toThrow(RangeError);
    expect(() => logGamma(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('mixturePrior', () => {
  it('puts the prior mean at the tolerance with one pseudo-count on the rarer side', () => {
    expect(mixturePrior(0.001)).toEqual({ a: 1, b: 999 });
    expect(mixturePrior(0.05)).toEqual({ a: 1, b: 19 });
    expect(mixturePrior(0.5)).toEqual({ a: 1, b: 1 });
    expect(mixturePrior(0.8).b).toBe(1);
    expect(mixturePrior(0.8).a).toBeCloseTo(4, 12);
  });

  it('stays proper at tolerance 0 and 1', () => {
    expect(mixturePrior(0)).toEqual({ a: 1, b: 999_999 });
    expect(mixturePrior(1).b).toBe(1);
    expect(relativeError(mixturePrior(1).a, 999_999)).toBeLessThan(1e-9);
  });
});

describe('logMixtureMartingale', () => {
  it('is 1 (log 0) before any trial', () => {
    expect(logMixtureMartingale(0, 0, 0.3, 0.05)).toBe(0);
  });

  it('is at most 1 at the estimate, since the mixture never beats the maximum likelihood', () => {
    for (const [s, n] of [
      [0, 50],
      [3, 50],
      [50, 50],
      [17, 1000],
    ] as const) {
      expect(logMixtureMartingale(s, n, s / n, 0.05)).toBeLessThanOrEqual(0);
    }
  });

  it('is infinite where the data rule p out entirely', () => {
    expect(logMixtureMartingale(1, 10, 0, 0.05)).toBe(Number.POSITIVE_INFINITY);
    expect(logMixtureMartingale(9, 10, 1, 0.05)).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects impossible counts', () => {
    expect(() => logMixtureMartingale(5, 4, 0.1, 0.05)).toThrow(RangeError);
    expect(() => logMixtureMartingale(-1, 4, 0.1, 0.05)).toThrow(RangeError);
    expect(() => logMixtureMartingale(1.5, 4, 0.1, 0.05)).toThrow(RangeError);
  });
});

describe('confidenceSequence', () => {
  it('is [0, 1] before any trial', () => {
    expect(confidenceSequence(0, 0, 0.05, 0.001)).toEqual({ lower: 0, upper: 1 });
  });

  it('0 of n: lower 0, upper in closed form 1 - (alpha·b/(b+n))^(1/n)', () => {
    // With a = 1 the mixture is b/(b+n), so M_n(p) = 1/alpha solves exactly.
    const { lower, upper } = confidenceSequence(0, 100, 0.05, 0.05);
    expect(lower).toBe(0);
    expect(relativeError(upper, 0.04715608151450088)).toBeLessThan(1e-12);
  });

  it('n of n: upper 1, lower in closed form (alpha/(n+1))^(1/n)', () => {
    // Tolerance 0.5 gives the uniform prior, whose mixture for n of n is 1/(n+1).
    const { lower, upper } = confidenceSequence(50, 50, 0.01, 0.5);
    expect(upper).toBe(1);
    expect(relativeError(lower, 0.8430408060704789)).toBeLessThan(1e-12);
  });

  it('matches an independent high-precision root for 31 of 10000', () => {
    // mpmath.findroot on the same martingale at 40 digits.
    const { lower, upper } = confidenceSequence(31, 10_000, 0.05, 0.001);
    expect(relativeError(lower, 0.0015793978312197935)).toBeLessThan(1e-10);
    expect(relativeError(upper, 0.005373995971832341)).toBeLessThan(1e-10);
  });

  it('contains the estimate', () => {
    for (const [s, n] of [
      [1, 10],
      [7, 100],
      [130, 1000],
      [2, 100_000],
    ] as const) {
      const { lower, upper } = confidenceSequence(s, n, 0.05, 0.01);
      expect(lower).toBeLessThan(s / n);
      expect(upper).toBeGreaterThan(s / n);
    }
  });

  it('narrows as samples grow at a fixed rate', () => {
    let previous = confidenceSequence(0, 0, 0.05, 0.01);
    for (const n of [100, 1_000, 10_000, 100_000, 1_000_000]) {
      const current = confidenceSequence(n / 100, n, 0.05, 0.01);
      expect(current.lower).toBeGreaterThanOrEqual(previous.lower);
      expect(current.upper).toBeLessThan(previous.upper);
      previous = current;
    }
    expect(previous.lower).toBeGreaterThan(0.0096);
    expect(previous.upper).toBeLessThan(0.0104);
  });

  it('moves both bounds up with more successes', () => {
    let previous = confidenceSequence(0, 1000, 0.05, 0.01);
    for (let s = 1; s <= 40; s++) {
      const current = confidenceSequence(s, 1000, 0.05, 0.01);
      expect(current.lower).toBeGreaterThan(previous.lower);
      expect(current.upper).toBeGreaterThan(previous.upper);
      previous = current;
    }
  });

  it('widens as alpha shrinks (nested sets)', () => {
    const loose = confidenceSequence(12, 800, 0.1, 0.01);
    const usual = confidenceSequence(12, 800, 0.05, 0.01);
    const strict = confidenceSequence(12, 800, 0.001, 0.01);
    expect(strict.lower).toBeLessThan(usual.lower);
    expect(usual.lower).toBeLessThan(loose.lower);
    expect(strict.upper).toBeGreaterThan(usual.upper);
    expect(usual.upper).toBeGreaterThan(loose.upper);
  });

  it('rejects bad levels', () => {
    expect(() => confidenceSequence(1, 10, 0, 0.01)).toThrow(RangeError);
    expect(() => confidenceSequence(1, 10, 1, 0.01)).toThrow(RangeError);
    expect(() => confidenceSequence(1, 10, 0.05, 1.5)).toThrow(RangeError);
    expect(() => confidenceSequence(1, 10, 0.05, -0.1)).toThrow(RangeError);
  });
});

describe('belowTolerance / exceedsTolerance', () => {
  it('agree with the bounds found by root-finding', () => {
    let below = 0;
    let exceeds = 0;
    let cases = 0;
    for (const tolerance of [0, 0.001, 0.01, 0.05, 0.3, 0.5, 0.9, 1]) {
      for (const alpha of [0.1, 0.05, 0.001]) {
        for (const n of [1, 7, 50, 300, 2_000, 20_000]) {
          for (const fraction of [
            0, 0.0005, 0.001, 0.003, 0.01, 0.02, 0.04, 0.05, 0.06, 0.1, 0.25, 0.5, 0.7, 0.95, 1,
          ]) {
            const s = Math.round(fraction * n);
            const { lower, upper } = confidenceSequence(s, n, alpha, tolerance);
            expect(belowTolerance(s, n, alpha, tolerance)).toBe(upper < tolerance);
            expect(exceedsTolerance(s, n, alpha, tolerance)).toBe(lower > tolerance);
            if (upper < tolerance) below++;
            if (lower > tolerance) exceeds++;
            cases++;
          }
        }
      }
    }
    // Both decisions and the undecided middle are all well represented.
    expect(cases).toBe(2160);
    expect(below).toBe(761);
    expect(exceeds).toBe(603);
  });

  it('never decides before the first trial', () => {
    expect(belowTolerance(0, 0, 0.05, 0.5)).toBe(false);
    expect(exceedsTolerance(0, 0, 0.05, 0.5)).toBe(false);
  });

  it('passes a clean candidate after exactly 4742 samples at tolerance 0.1%', () => {
    // Solved independently: smallest n with ln(999/(999+n)) - n·ln(0.999) >= ln 20.
    expect(belowTolerance(0, 4741, 0.05, 0.001)).toBe(false);
    expect(belowTolerance(0, 4742, 0.05, 0.001)).toBe(true);
    expect(belowTolerance(0, 92, 0.05, 0.05)).toBe(false);
    expect(belowTolerance(0, 93, 0.05, 0.05)).toBe(true);
  });

  it('fails on the first mismatch when the tolerance is 0, and never passes', () => {
    expect(exceedsTolerance(1, 1, 0.05, 0)).toBe(true);
    expect(exceedsTolerance(1, 1_000_000, 0.05, 0)).toBe(true);
    expect(belowTolerance(0, 1_000_000, 0.05, 0)).toBe(false);
  });

  it('cannot fail at tolerance 1', () => {
    expect(exceedsTolerance(1000, 1000, 0.05, 1)).toBe(false);
    expect(belowTolerance(999, 1000, 0.05, 1)).toBe(true);
  });
});
