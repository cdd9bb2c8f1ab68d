import type { VerdictPolicy } from '../config/schema.js';
import { belowTolerance, CONFIDENCE_METHOD, confidenceSequence, exceedsTolerance } from './confidence.js';

export type Verdict = 'PASS' | 'FAIL' | 'INCONCLUSIVE';
export type Classification = 'Pass' | 'Marginal' | 'Fail';

export interface OutcomeCounts {
  equal: number;
  different: number;
  missing: number;
  extra: number;
}

export interface VerdictInput {
  comparison: string;
  policy: VerdictPolicy;
  /** Noise already excluded by the caller. */
  counts: OutcomeCounts;
  /** Per canonical field path: rows where that field differs. */
  fieldDifferences: Record<string, number>;
  /** How far the candidate's watermark trails live's. */
  lagSeconds?: number;
  /** Every input consumed (batch). */
  complete: boolean;
  /** Records the source logs no longer had when they were needed: evidence that is missing. */
  lost?: number;
  /** Cluster mode: keys whose records came on different partition numbers across sides (not co-partitioned). */
  misrouted?: number;
  /**
   * The key sampling rate when below 1: the verdict says it is on a sample. It stays sound as it
   * is, for the checks run over the sampled keys, which are a random draw of all keys.
   */
  samplingRate?: number;
  /** The comparison's scope in words (a canary's slice), when it has one. */
  scope?: string;
  /** Candidate records outside a scope it is held to (`candidateOnly`): it processed more than its slice. */
  unexpected?: number;
  now?: Date;
}

export interface CheckResult {
  name: string;
  verdict: Verdict;
  observed: number;
  lower: number;
  upper: number;
  tolerance: number;
}

export interface VerdictBody {
  apiVersion: 'shadowdiff/v1';
  comparison: string;
  verdict: Verdict;
  pass: boolean;
  fail: boolean;
  complete: boolean;
  reason: string;
  /** The slice judged, in words; absent when every record is. */
  scope?: string;
  score: number;
  stats: {
    method: string;
    alpha: number;
    tolerance: number;
    sampled: number;
    mismatched: number;
    rate: number;
    lower: number;
    upper: number;
    /** Present when the keys compared are a sample of the keys at this rate. */
    samplingRate?: number;
  };
  checks: CheckResult[];
  result: { judgeResult: { judgeName: 'shadowdiff'; score: { score: number; classification: Classification } } };
  evaluatedAt: string;
}

/** Value of the `shadowdiff_verdict_code` gauge. */
export function verdictCode(verdict: Verdict): 1 | 0 | -1 {
  return verdict === 'PASS' ? 1 : verdict === 'FAIL' ? -1 : 0;
}

function check(name: string, hits: number, trials: number, tolerance: number, alpha: number): CheckResult {
  const { lower, upper } = confidenceSequence(hits, trials, alpha, tolerance);
  // The decision comes from the root-free test, which is what the soundness test exercises.
  const verdict: Verdict = exceedsTolerance(hits, trials, alpha, tolerance)
    ? 'FAIL'
    : belowTolerance(hits, trials, alpha, tolerance)
      ? 'PASS'
      : 'INCONCLUSIVE';
  return { name, verdict, observed: trials === 0 ? 0 : hits / trials, lower, upper, tolerance };
}

/**
 * Checks, each at level alpha. No multiplicity correction is needed for promotion: PASS
 * needs every check to pass, and a bad candidate has some check whose true rate is at or
 * above its tolerance, which passes with probability at most alpha.
 */
function checks(input: VerdictInput, total: number, mismatched: number): CheckResult[] {
  const { policy, counts } = input;
  const result = [check('mismatch_rate', mismatched, total, policy.tolerance, policy.alpha)];
  if (policy.missing !== undefined) {
    result.push(check('missing', counts.missing, total, policy.missing, policy.alpha));
  }
  if (policy.extra !== undefined) {
    result.push(check('extra', counts.extra, total, policy.extra, policy.alpha));
  }
  // A field can only differ where both sides have the row.
  const matched = counts.equal + counts.different;
  for (const [path, tolerance] of Object.entries(policy.fields)) {
    const differing = input.fieldDifferences[path] ?? 0;
    result.push(check(`field:${path}`, differing, matched, tolerance, policy.alpha));
  }
  return result;
}

/** A rate as a percentage with at least two significant digits: 0.31%, 0.0012%. */
function formatPercent(rate: number): string {
  const percent = rate * 100;
  const decimals = percent === 0 || percent >= 0.01 ? 2 : Math.min(20, 1 - Math.floor(Math.log10(percent)));
  return `${percent.toFixed(decimals)}%`;
}

function formatSeconds(seconds: number): string {
  return `${Number(seconds.toFixed(1))}s`;
}

function label(name: string): string {
  if (name === 'mismatch_rate') return 'mismatch rate';
  if (name.startsWith('field:')) return `field ${name.slice('field:'.length)} difference rate`;
  return `${name} rate`;
}

function explain(c: CheckResult): string {
  const observed = `${label(c.name)} ${formatPercent(c.observed)}`;
  const tolerance = formatPercent(c.tolerance);
  if (c.verdict === 'FAIL') return `${observed} ≥ tolerance ${tolerance} (lower bound ${formatPercent(c.lower)})`;
  if (c.verdict === 'PASS') return `${observed} < tolerance ${tolerance} (upper bound ${formatPercent(c.upper)})`;
  return `${observed} undecided: bounds [${formatPercent(c.lower)}, ${formatPercent(c.upper)}] include tolerance ${tolerance}`;
}

// Score bands: FAIL [0, 50), INCONCLUSIVE [50, 75), PASS [75, 100], as Kayenta reads them.
// The clamps absorb bounds that sit within rounding of the tolerance.
function checkScore(c: CheckResult): number {
  if (c.verdict === 'FAIL') return clamp(Math.floor((50 * c.tolerance) / c.lower), 0, 49);
  if (c.verdict === 'PASS') return clamp(75 + Math.floor((25 * (c.tolerance - c.upper)) / c.tolerance), 75, 100);
  const width = c.upper - c.lower;
  const towardPass = width > 0 ? (c.tolerance - c.lower) / width : 0.5;
  return clamp(50 + Math.floor(25 * towardPass), 50, 74);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function classify(score: number): Classification {
  return score >= 75 ? 'Pass' : score >= 50 ? 'Marginal' : 'Fail';
}

export function evaluateVerdict(input: VerdictInput): VerdictBody {
  const { policy, counts } = input;
  const mismatched = counts.different + counts.missing + counts.extra;
  const total = counts.equal + mismatched;
  const all = checks(input, total, mismatched);
  const lag = input.lagSeconds;
  const lagging = lag !== undefined && lag > policy.maxLagSeconds;
  const failing = all.filter((c) => c.verdict === 'FAIL');
  const undecided = all.filter((c) => c.verdict === 'INCONCLUSIVE');

  let verdict: Verdict;
  let reason: string;
  let score: number;
  if (failing.length > 0) {
    // Conclusive evidence of a bad candidate: neither few samples nor lag can undo it.
    verdict = 'FAIL';
    reason = failing.map(explain).join('; ');
    score = Math.min(...failing.map(checkScore));
  } else if (undecided.length === 0 && total >= policy.minSamples && !lagging) {
    verdict = 'PASS';
    const lead = all.length > 1 ? `all ${all.length} checks pass over ${total} samples; ` : '';
    const tail = all.length > 1 ? '' : ` over ${total} samples`;
    reason = `${lead}${explain(all[0]!)}${tail}`;
    score = Math.min(...all.map(checkScore));
  } else {
    verdict = 'INCONCLUSIVE';
    const blockers = [
      ...(lagging ? [`candidate lags live by ${formatSeconds(lag)} > ${formatSeconds(policy.maxLagSeconds)}`] : []),
      ...(total < policy.minSamples ? [`needs ${policy.minSamples} samples, has ${total}`] : []),
      ...undecided.map(explain),
    ];
    reason = blockers.join('; ');
    // A passing check held back by lag or sample count scores just below PASS.
    score = Math.min(...all.map((c) => (c.verdict === 'PASS' ? 74 : checkScore(c))));
  }

  // A candidate held to a slice that emits records outside it is broken whatever its slice says.
  if (input.unexpected) {
    const outside = `candidate emitted ${input.unexpected} unexpected records outside its scope`;
    reason = verdict === 'FAIL' ? `${outside}; ${reason}` : outside;
    verdict = 'FAIL';
    score = Math.min(score, 49);
  }
  // Lost records never reached an outcome: the reason says so whatever the verdict.
  if (input.lost) reason += `; ${input.lost} records lost: the source log no longer had them`;
  // Across instances such keys split into a missing and an extra: the reason says why.
  if (input.misrouted) {
    reason += `; ${input.misrouted} keys misrouted: their records came on different partitions across sides (topics not co-partitioned)`;
  }
  const mismatch = all[0]!;
  const sample = input.samplingRate !== undefined && input.samplingRate < 1 ? input.samplingRate : undefined;
  if (sample !== undefined) reason = `${reason} (on a key sample at rate ${sample})`;
  return {
    apiVersion: 'shadowdiff/v1',
    comparison: input.comparison,
    verdict,
    pass: verdict === 'PASS',
    fail: verdict === 'FAIL',
    complete: input.complete,
    reason,
    ...(input.scope ? { scope: input.scope } : {}),
    score,
    stats: {
      method: CONFIDENCE_METHOD,
      alpha: policy.alpha,
      tolerance: policy.tolerance,
      sampled: total,
      mismatched,
      rate: mismatch.observed,
      lower: mismatch.lower,
      upper: mismatch.upper,
      ...(sample !== undefined ? { samplingRate: sample } : {}),
    },
    checks: all,
    result: { judgeResult: { judgeName: 'shadowdiff', score: { score, classification: classify(score) } } },
    evaluatedAt: (input.now ?? new Date()).toISOString(),
  };
}
