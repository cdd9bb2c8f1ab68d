import { describe, expect, it } from 'vitest';
import { headline, nextStep, samplesToDecide, type VerdictFacts } from '../../../src/ui/view/evidence.js';
import { formats } from '../../../src/ui/view/format.js';
import { belowTolerance, exceedsTolerance } from '../../../src/verdict/confidence.js';

const format = formats('en-US', 'UTC');

const facts = (verdict: VerdictFacts['verdict'], sampled: number, mismatched: number): VerdictFacts => ({
  verdict,
  reason: 'r',
  complete: false,
  stats: {
    alpha: 0.05,
    tolerance: 0.01,
    sampled,
    mismatched,
    rate: sampled ? mismatched / sampled : 0,
    lower: 0,
    upper: 1,
  },
});

describe('samplesToDecide', () => {
  it('is the smallest count at which the verdict test decides at the current rate', () => {
    const step = samplesToDecide(200, 1, 0.05, 0.01)!;
    expect(step.decides).toBe('PASS');
    const rate = 1 / 200;
    expect(belowTolerance(Math.round(rate * step.total), step.total, 0.05, 0.01)).toBe(true);
    expect(belowTolerance(Math.round(rate * (step.total - 1)), step.total - 1, 0.05, 0.01)).toBe(false);
  });

  it('finds the count for a FAIL too, and nothing when the rate is the tolerance or unknown', () => {
    const step = samplesToDecide(100, 3, 0.05, 0.01)!;
    expect(step.decides).toBe('FAIL');
    expect(exceedsTolerance(Math.round(0.03 * step.total), step.total, 0.05, 0.01)).toBe(true);
    expect(samplesToDecide(100, 1, 0.05, 0.01)).toBeUndefined();
    expect(samplesToDecide(0, 0, 0.05, 0.01)).toBeUndefined();
  });

  it('answers the count itself when it already decides', () => {
    expect(samplesToDecide(100_000, 0, 0.05, 0.01)).toEqual({ decides: 'PASS', total: 100_000 });
  });
});

describe('words', () => {
  it('says what the verdict means and what would change it', () => {
    expect(headline(facts('PASS', 1000, 0), format)).toContain('may replace live');
    expect(headline(facts('FAIL', 1000, 100), format)).toContain('more than allowed');
    expect(headline(facts('INCONCLUSIVE', 0, 0), format)).toContain('no records have been compared');
    const step = samplesToDecide(200, 1, 0.05, 0.01)!;
    expect(nextStep(facts('INCONCLUSIVE', 200, 1), 100, format)).toBe(
      `Needs about ${(step.total - 200).toLocaleString('en-US')} more samples at the current rate (0.50%) to PASS.`,
    );
    // minSamples above what the rate needs: the larger count.
    expect(nextStep(facts('INCONCLUSIVE', 200, 1), 1_000_000, format)).toBe(
      'Needs about 999,800 more samples at the current rate (0.50%) to PASS.',
    );
    expect(nextStep(facts('INCONCLUSIVE', 100, 1), 10, format)).toContain('no number of samples decides it');
    expect(nextStep(facts('FAIL', 100, 50), 10, format)).toContain('conclusive');
  });
});
