/**
 * Anytime-valid confidence sequence for a binomial proportion (the mismatch rate).
 *
 * For H0: p = p0, the beta-binomial mixture
 *   M_n(p0) = B(a+s, b+n-s) / B(a, b) / (p0^s (1-p0)^(n-s))
 * is a nonnegative martingale with M_0 = 1, so by Ville's inequality
 * P(exists n: M_n(p) >= 1/alpha) <= alpha for the true p. The set {p : M_n(p) < 1/alpha}
 * therefore covers p at every n simultaneously: a gate may poll it as often as it likes
 * and act on the first decision. log M is convex in p (minimum <= 0 at p = s/n), so the
 * set is an interval around s/n.
 */

export const CONFIDENCE_METHOD = 'beta-binomial mixture confidence sequence (Ville)';

export interface Bounds {
  lower: number;
  upper: number;
}

// Lanczos approximation, g = 7, 9 terms: ~15 significant digits for x >= 0.5.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`logGamma needs a finite x > 0, got ${x}`);
  // Reflection keeps small arguments (tiny prior parameters) as precise as the rest.
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

// A tolerance of exactly 0 or 1 still needs a proper prior; the floor only shapes the
// reported bounds, since with tolerance 0 any mismatch already rules p = 0 out.
const MIN_PRIOR_MEAN = 1e-6;

/**
 * Beta prior with mean = tolerance and its smaller parameter = 1: one pseudo-mismatch
 * spread over 1/tolerance pseudo-samples. Its mass sits on [0, a few × tolerance] — the
 * rates a gate must tell apart — instead of being spread over [0, 1], which would waste
 * power on rates no one configures. Against a = 0.1 (mass piled at 0) it needs more
 * samples to pass a perfectly clean candidate (≈4.8/tol instead of ≈3.4/tol at alpha
 * 0.05) and about a quarter fewer for rates between tol/2 and 2·tol, where decisions
 * are slow.
 */
export function mixturePrior(tolerance: number): { a: number; b: number } {
  const mean = Math.min(Math.max(tolerance, MIN_PRIOR_MEAN), 1 - MIN_PRIOR_MEAN);
  return mean <= 0.5 ? { a: 1, b: 1 / mean - 1 } : { a: 1 / (1 - mean) - 1, b: 1 };
}

// x·ln(y) with 0·ln(0) = 0, so zero counts leave p = 0 or p = 1 inside the set.
function xlogy(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log(y);
}

function xlog1my(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log1p(-y);
}

/** ln M_n(p) for `successes` of `trials`, with the prior chosen for `tolerance`. */
export function logMixtureMartingale(successes: number, trials: number, p: number, tolerance: number): number {
  assertCounts(successes, trials);
  const { a, b } = mixturePrior(tolerance);
  const failures = trials - successes;
  return logBeta(a + successes, b + failures) - logBeta(a, b) - xlogy(successes, p) - xlog1my(failures, p);
}

function assertCounts(successes: number, trials: number): void {
  if (!Number.isInteger(trials) || trials < 0 || !Number.isInteger(successes) || successes < 0 || successes > trials) {
    throw new RangeError(`need integer counts 0 <= successes <= trials, got ${successes} of ${trials}`);
  }
}

function assertLevels(alpha: number, tolerance: number): void {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(tolerance >= 0 && tolerance <= 1)) throw new RangeError(`tolerance must be in [0, 1], got ${tolerance}`);
}

// Relative precision of a bound; far below anything a percentage shows.
const BOUND_PRECISION = 1e-13;
const MAX_BISECTIONS = 200;

/**
 * Bisects between a p inside the set and one outside it; returns the last p known to be
 * inside, so `upper < tol` exactly when tol is outside on the right (see belowTolerance).
 */
function boundary(inside: number, outside: number, isInside: (p: number) => boolean): number {
  let inner = inside;
  let outer = outside;
  for (let i = 0; i < MAX_BISECTIONS && Math.abs(outer - inner) > BOUND_PRECISION * Math.max(inner, outer); i++) {
    const mid = (inner + outer) / 2;
    if (isInside(mid)) inner = mid;
    else outer = mid;
  }
  return inner;
}

/** The confidence set at level alpha: every p with M_n(p) < 1/alpha. */
export function confidenceSequence(successes: number, trials: number, alpha: number, tolerance: number): Bounds {
  assertCounts(successes, trials);
  assertLevels(alpha, tolerance);
  if (trials === 0) return { lower: 0, upper: 1 };
  const threshold = Math.log(1 / alpha);
  const isInside = (p: number) => logMixtureMartingale(successes, trials, p, tolerance) < threshold;
  const estimate = successes / trials;
  return {
    lower: isInside(0) ? 0 : boundary(estimate, 0, isInside),
    upper: isInside(1) ? 1 : boundary(estimate, 1, isInside),
  };
}

function rejects(successes: number, trials: number, alpha: number, tolerance: number): boolean {
  return logMixtureMartingale(successes, trials, tolerance, tolerance) >= Math.log(1 / alpha);
}

/**
 * Whether the upper bound is below the tolerance, without root-finding: tolerance lies
 * outside the set, on the right of the estimate. Cheap enough to call on every poll.
 */
export function belowTolerance(successes: number, trials: number, alpha: number, tolerance: number): boolean {
  assertCounts(successes, trials);
  assertLevels(alpha, tolerance);
  return trials > 0 && successes / trials < tolerance && rejects(successes, trials, alpha, tolerance);
}

/** Whether the lower bound is above the tolerance: tolerance lies outside the set, on the left. */
export function exceedsTolerance(successes: number, trials: number, alpha: number, tolerance: number): boolean {
  assertCounts(successes, trials);
  assertLevels(alpha, tolerance);
  return trials > 0 && successes / trials > tolerance && rejects(successes, trials, alpha, tolerance);
}
