import { describe, expect, it } from 'vitest';
import { belowTolerance, exceedsTolerance } from '../../src/verdict/confidence.js';
import { evaluateVerdict, type Verdict } from '../../src/verdict/verdict.js';
import { mulberry32 } from '../helpers/tmp.js';

/**
 * SPEC §4: a gate that polls the verdict and promotes on the first PASS must promote a
 * candidate whose true mismatch rate is at the tolerance at most alpha of the time.
 * Seeded Monte-Carlo, so every number below is reproducible.
 */

// Binomial(n, p) by inversion: one uniform per poll instead of n, expected np steps.
function binomial(random: () => number, n: number, p: number): number {
  const u = random();
  const odds = p / (1 - p);
  let k = 0;
  let probability = (1 - p) ** n;
  let cumulative = probability;
  while (u > cumulative && k < n) {
    k++;
    probability *= ((n - k + 1) / k) * odds;
    cumulative += probability;
  }
  return k;
}

interface Decider {
  pass(mismatched: number, sampled: number): boolean;
  fail(mismatched: number, sampled: number): boolean;
}

interface Scenario {
  tolerance: number;
  alpha: number;
  minSamples: number;
  step: number;
  cap: number;
}

const fast: Scenario = { tolerance: 0.05, alpha: 0.05, minSamples: 100, step: 100, cap: 20_000 };
const strict: Scenario = { tolerance: 0.001, alpha: 0.05, minSamples: 1000, step: 1000, cap: 200_000 };

const sequential = ({ tolerance, alpha }: Scenario): Decider => ({
  pass: (s, n) => belowTolerance(s, n, alpha, tolerance),
  fail: (s, n) => exceedsTolerance(s, n, alpha, tolerance),
});

/** What the SPEC forbids: a fixed-sample (Wilson score, one-sided) interval re-read at every poll. */
const naive = ({ tolerance }: Scenario): Decider => {
  const z = 1.6448536269514722; // one-sided 95%, matching alpha 0.05 of the scenarios
  const bounds = (s: number, n: number) => {
    const p = s / n;
    const centre = p + (z * z) / (2 * n);
    const spread = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
    const scale = 1 + (z * z) / n;
    return { lower: (centre - spread) / scale, upper: (centre + spread) / scale };
  };
  return {
    pass: (s, n) => bounds(s, n).upper < tolerance,
    fail: (s, n) => bounds(s, n).lower > tolerance,
  };
};

interface Run {
  decision: 'PASS' | 'FAIL' | 'NONE';
  sampled: number;
  mismatched: number;
  /** Counts at the poll before the decision. */
  previous: { sampled: number; mismatched: number };
}

function pollUntilDecided(random: () => number, rate: number, scenario: Scenario, decider: Decider): Run {
  let sampled = 0;
  let mismatched = 0;
  let previous = { sampled, mismatched };
  while (sampled < scenario.cap) {
    previous = { sampled, mismatched };
    mismatched += binomial(random, scenario.step, rate);
    sampled += scenario.step;
    // As evaluateVerdict decides: FAIL regardless of minSamples, PASS only once it is met.
    if (decider.fail(mismatched, sampled)) return { decision: 'FAIL', sampled, mismatched, previous };
    if (sampled >= scenario.minSamples && decider.pass(mismatched, sampled)) {
      return { decision: 'PASS', sampled, mismatched, previous };
    }
  }
  return { decision: 'NONE', sampled, mismatched, previous };
}

function simulate(seed: number, runs: number, rate: number, scenario: Scenario, decider: Decider) {
  const random = mulberry32(seed);
  const all: Run[] = [];
  for (let i = 0; i < runs; i++) all.push(pollUntilDecided(random, rate, scenario, decider));
  const count = (decision: Run['decision']) => all.filter((run) => run.decision === decision).length;
  return { runs: all, promoted: count('PASS'), failed: count('FAIL'), undecided: count('NONE') };
}

/** alpha plus three binomial standard errors of the estimated promotion rate. */
const promotionLimit = (alpha: number, runs: number) => runs * (alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs));

const verdictAt = (scenario: Scenario, sampled: number, mismatched: number): Verdict =>
  evaluateVerdict({
    comparison: 'soundness',
    policy: { ...scenario, fields: {}, maxLagSeconds: 300 },
    counts: { equal: sampled - mismatched, different: mismatched, missing: 0, extra: 0 },
    fieldDifferences: {},
    complete: false,
  }).verdict;

/** The real verdict agrees with the fast deciders at each decision and the poll before it. */
function expectVerdictsAgree(scenario: Scenario, runs: Run[]): void {
  for (const run of runs.filter((r) => r.decision !== 'NONE').slice(0, 200)) {
    expect(verdictAt(scenario, run.sampled, run.mismatched)).toBe(run.decision);
    expect(verdictAt(scenario, run.previous.sampled, run.previous.mismatched)).toBe('INCONCLUSIVE');
  }
}

describe('anytime-valid verdict under repeated polling', () => {
  it('promotes a candidate at the tolerance at most alpha of the time (tolerance 5%)', () => {
    const result = simulate(1, 2000, fast.tolerance, fast, sequential(fast));
    expect(promotionLimit(0.05, 2000)).toBeCloseTo(129.2, 1);
    expect(result.promoted).toBeLessThanOrEqual(promotionLimit(0.05, 2000));
    expect(result).toMatchObject({ promoted: 37, failed: 15, undecided: 1948 });
    expectVerdictsAgree(fast, result.runs);
  });

  it('would not: a fixed-sample interval re-read at every poll promotes far more often', () => {
    // Same seed, same samples: only the decision rule differs. This is why the test above can fail.
    const result = simulate(1, 2000, fast.tolerance, fast, naive(fast));
    expect(result.promoted).toBeGreaterThan(promotionLimit(0.05, 2000));
    expect(result.promoted).toBe(618);
  });

  it('passes a clean candidate', () => {
    const result = simulate(2, 2000, 0, fast, sequential(fast));
    expect(result).toMatchObject({ promoted: 2000, failed: 0, undecided: 0 });
    // Zero mismatches pass at the first poll past 93 samples.
    expect(new Set(result.runs.map((run) => run.sampled))).toEqual(new Set([100]));
  });

  it('passes a candidate well below the tolerance', () => {
    const result = simulate(3, 2000, 0.01, fast, sequential(fast));
    expect(result).toMatchObject({ promoted: 2000, failed: 0, undecided: 0 });
    expectVerdictsAgree(fast, result.runs);
  });

  it('fails a candidate at three times the tolerance', () => {
    const result = simulate(4, 2000, 3 * fast.tolerance, fast, sequential(fast));
    expect(result).toMatchObject({ promoted: 0, failed: 2000, undecided: 0 });
    expectVerdictsAgree(fast, result.runs);
  });

  describe('spot check at tolerance 0.1%', () => {
    it('promotes a candidate at the tolerance at most alpha of the time', () => {
      const result = simulate(5, 500, strict.tolerance, strict, sequential(strict));
      expect(result.promoted).toBeLessThanOrEqual(promotionLimit(0.05, 500));
      expect(result).toMatchObject({ promoted: 10, failed: 5, undecided: 485 });
      expectVerdictsAgree(strict, result.runs);
    });

    it('passes a candidate at a fifth of the tolerance and fails one at three times it', () => {
      expect(simulate(6, 200, strict.tolerance / 5, strict, sequential(strict))).toMatchObject({
        promoted: 200,
        failed: 0,
      });
      expect(simulate(7, 200, 3 * strict.tolerance, strict, sequential(strict))).toMatchObject({
        promoted: 0,
        failed: 200,
      });
    });
  });
});
