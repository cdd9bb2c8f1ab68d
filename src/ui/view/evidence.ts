import { belowTolerance, exceedsTolerance } from '../../verdict/confidence.js';
import type { VerdictBody } from '../../verdict/verdict.js';
import type { Formats } from './format.js';

/** The members of a verdict body (SPEC §4) the explanation reads. */
export type VerdictFacts = Pick<VerdictBody, 'verdict' | 'reason' | 'complete'> & {
  stats: Omit<VerdictBody['stats'], 'method' | 'samplingRate'>;
};

/** Enough for any rate a tolerance is configured for; past it the rate sits on the tolerance. */
const MAX_SAMPLES = 1e13;

/**
 * The smallest sample count, not below `sampled`, at which the mismatch-rate check decides if the
 * rate stays what it is now; undefined when it never does (no samples yet, or the rate equals the
 * tolerance). Uses the verdict's own tests, so the figure is the verdict's, not an approximation of it.
 */
export function samplesToDecide(
  sampled: number,
  mismatched: number,
  alpha: number,
  tolerance: number,
): { decides: 'PASS' | 'FAIL'; total: number } | undefined {
  if (sampled === 0) return undefined;
  const rate = mismatched / sampled;
  if (rate === tolerance) return undefined;
  const decides = rate < tolerance ? 'PASS' : 'FAIL';
  const test = decides === 'PASS' ? belowTolerance : exceedsTolerance;
  const decided = (n: number) => test(Math.round(rate * n), n, alpha, tolerance);
  if (decided(sampled)) return { decides, total: sampled };
  let low = sampled;
  let high = sampled * 2;
  while (!decided(high)) {
    if (high > MAX_SAMPLES) return undefined;
    low = high;
    high *= 2;
  }
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (decided(mid)) high = mid;
    else low = mid;
  }
  return { decides, total: high };
}

/** The verdict in a sentence anyone can act on. */
export function headline(facts: VerdictFacts, format: Formats): string {
  const confidence = format.percent(1 - facts.stats.alpha);
  if (facts.verdict === 'PASS') {
    return `The candidate may replace live: its mismatch rate is below the tolerance of ${format.percent(facts.stats.tolerance)} with ${confidence} confidence.`;
  }
  if (facts.verdict === 'FAIL') {
    return `The candidate differs from live more than allowed: a rate is above its tolerance with ${confidence} confidence.`;
  }
  return facts.stats.sampled === 0
    ? 'Not decided: no records have been compared yet.'
    : 'Not decided yet: the evidence so far allows both a rate below and above the tolerance.';
}

/** What would change the verdict, in words: samples needed at the current rate, or why it is final. */
export function nextStep(facts: VerdictFacts, minSamples: number, format: Formats): string {
  const { stats } = facts;
  if (facts.verdict === 'FAIL') {
    return 'This is conclusive: the verdict is anytime-valid, so more samples will not turn it into a PASS by chance. Fix the candidate and compare again.';
  }
  if (facts.verdict === 'PASS') {
    return facts.complete
      ? 'Every input has been compared.'
      : 'More samples keep it sound: a gate may poll as often as it likes and act on this PASS.';
  }
  const step = samplesToDecide(stats.sampled, stats.mismatched, stats.alpha, stats.tolerance);
  if (stats.sampled === 0) return `It needs at least ${format.count(minSamples)} compared records.`;
  if (step === undefined) {
    return `At the current rate (${format.percent(stats.rate)}, equal to the tolerance) no number of samples decides it.`;
  }
  const total = step.decides === 'PASS' ? Math.max(step.total, minSamples) : step.total;
  const more = total - stats.sampled;
  if (more <= 0) {
    return 'The rate alone would decide it now; another condition holds it back (see the reason above).';
  }
  return `Needs about ${format.count(more)} more samples at the current rate (${format.percent(stats.rate)}) to ${step.decides}.`;
}
